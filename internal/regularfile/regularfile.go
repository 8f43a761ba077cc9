// Package regularfile reads files a user names (a config, a CA bundle) with
// a bound: only a regular file, at most a given size, so that a FIFO, a
// device or a huge file is an error rather than a hang or an exhausted
// memory.
package regularfile

import (
	"fmt"
	"io"
	"io/fs"
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

// Kind names what a file of mode m is, for an error that refuses it: "a
// named pipe", "a socket", "a character device", "a device", "a
// directory", or "a special file (mode ...)".
func Kind(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a device"
	case t&fs.ModeDir != 0:
		return "a directory"
	}
	return "a special file (mode " + m.Type().String() + ")"
}
