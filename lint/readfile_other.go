//go:build !linux

package lint

import "io/fs"

// readRaw is readInto's fast path on Linux; elsewhere files are read with
// os.Open as ever.
func readRaw(fs.FS, string, []byte) ([]byte, bool) { return nil, false }
