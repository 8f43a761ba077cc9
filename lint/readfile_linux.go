package lint

import (
	"io/fs"
	"os"
	"reflect"
	"syscall"
)

// dirFSType is the type os.DirFS returns.
var dirFSType = reflect.TypeOf(os.DirFS("."))

// readRaw reads name from fsys into buf as readInto does, when fsys is an
// os.DirFS, with four system calls (open, fstat, read, close) where
// os.Open and File.Read make eight (os.Open tries to register a regular
// file with the network poller, setting and clearing O_NONBLOCK around
// it). ok is false when it did not read the file, whatever the reason:
// the caller then reads it as before, and reports any error as before.
func readRaw(fsys fs.FS, name string, buf []byte) (_ []byte, ok bool) {
	if reflect.TypeOf(fsys) != dirFSType || !fs.ValidPath(name) {
		return nil, false
	}
	dir := reflect.ValueOf(fsys).String()
	if dir == "" {
		return nil, false
	}
	fd, err := syscall.Open(dir+"/"+name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, false
	}
	if size := st.Size + 512; int64(cap(buf)) < size {
		buf = make([]byte, 0, size)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		buf = buf[:len(buf)+n]
		// At the end, or read short at the size it was stat-ed at.
		if n == 0 || len(buf) < cap(buf) && int64(len(buf)) == st.Size {
			return buf, true
		}
	}
}
