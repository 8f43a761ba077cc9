package source

import (
	"io/fs"
	"os"
	"reflect"
	"syscall"
)

// dirFSType is the type os.DirFS returns.
var dirFSType = reflect.TypeOf(os.DirFS("."))

// readRaw reads name from fsys into buf as fileRule.read does, when fsys
// is an os.DirFS, with four system calls (open, fstat, read, close) where
// os.Open and File.Read make eight (os.Open tries to register a regular
// file with the network poller, setting and clearing O_NONBLOCK around
// it). It opens without blocking, so a named pipe is refused rather than
// waited on, and refuses anything but a regular file of at most max bytes.
// ok is false when it did not try to read the file (fsys is not an
// os.DirFS, or the open failed): the caller then reads it as before, and
// reports any error as before.
func readRaw(fsys fs.FS, name string, buf []byte, max int64) (_ []byte, ok bool, _ error) {
	if reflect.TypeOf(fsys) != dirFSType || !fs.ValidPath(name) {
		return nil, false, nil
	}
	dir := reflect.ValueOf(fsys).String()
	if dir == "" {
		return nil, false, nil
	}
	fd, err := syscall.Open(dir+"/"+name, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, false, nil
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, false, nil
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, true, notRegular(unixType(st.Mode))
	}
	if st.Size > max {
		return nil, true, tooLarge(st.Size, max)
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
			return nil, false, nil
		}
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max { // it grew since
			return nil, true, tooLarge(int64(len(buf)), max)
		}
		// At the end, or read short at the size it was stat-ed at.
		if n == 0 || len(buf) < cap(buf) && int64(len(buf)) == st.Size {
			return buf, true, nil
		}
	}
}

// unixType is a stat mode's file type as an fs.FileMode.
func unixType(mode uint32) fs.FileMode {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFIFO:
		return fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		return fs.ModeSocket
	case syscall.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		return fs.ModeDevice
	case syscall.S_IFDIR:
		return fs.ModeDir
	}
	return fs.ModeIrregular
}
