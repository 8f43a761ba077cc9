// Package regularfile reads files a user names (a config, a CA bundle) with
// a bound: only a regular file, at most a given size, so that a FIFO, a
// device or a huge file is an error rather than a hang or an exhausted
// memory.
package regularfile

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// Read returns the content of the regular file at path, following
// symlinks, when it holds at most limit bytes.
func Read(path string, limit int64) ([]byte, error) {
	// Non-blocking, so a FIFO without a writer is refused below instead of
	// blocking the open; a regular file reads the same either way.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}
