package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/inzone-io/inzone/internal/regularfile"
)

// DefaultMaxFileSize is the size cap on one file when Options sets
// none: far above any manifest, far below what would exhaust memory (lint
// holds a file's parsed form, tens of times its size).
const DefaultMaxFileSize = 32 << 20

// maxSymlinkHops bounds a chain of symlinks, as the kernel's ELOOP does.
const maxSymlinkHops = 40

// fileRule is what Collect reads: regular files only, within the size cap,
// and, unless followSymlinks, symlinks only when they stay inside the tree
// the file was found in.
type fileRule struct {
	fsys           fs.FS
	maxSize        int64
	followSymlinks bool
}

// check says why name, found under tree, is not to be read, or nil. A
// symlink is followed (within the tree, unless followSymlinks) to what it
// leads to, which must be a regular file (or, for a path named on the
// command line, a directory).
func (r fileRule) check(name, tree string) (fs.FileInfo, error) {
	info, err := fs.Lstat(r.fsys, name)
	if err != nil {
		return nil, err
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		if !r.followSymlinks {
			target, err := realPath(r.fsys, name)
			if errors.Is(err, errOutsideFS) {
				target, _ = fs.ReadLink(r.fsys, name)
				target, err = path.Join(path.Dir(name), target), nil
			}
			if err != nil {
				return nil, err
			}
			if !within(target, tree) {
				return nil, fmt.Errorf("a symlink out of the tree (to %s); not read (--follow-symlinks reads it)", target)
			}
		}
		if info, err = fs.Stat(r.fsys, name); err != nil {
			return nil, err
		}
	}
	if !info.Mode().IsRegular() && !info.IsDir() {
		return nil, notRegular(info.Mode())
	}
	if info.Mode().IsRegular() && info.Size() > r.maxSize {
		return nil, tooLarge(info.Size(), r.maxSize)
	}
	return info, nil
}

func notRegular(m fs.FileMode) error {
	return fmt.Errorf("not a regular file (%s); not read", regularfile.Kind(m))
}

func tooLarge(size, max int64) error {
	return fmt.Errorf("%d bytes, over the %d-byte limit on one file (--max-file-size); not read", size, max)
}

// errOutsideFS is a symlink whose target the fs.FS cannot name: an absolute
// path, or one above its root.
var errOutsideFS = errors.New("outside the directory read")

// realPath resolves every symlink in name, component by component as the
// kernel does, to a path in fsys. A target fsys cannot name (an absolute
// one, or one above its root) is an error that names it.
func realPath(fsys fs.FS, name string) (string, error) {
	parts := strings.Split(name, "/")
	resolved, hops := ".", 0
	for len(parts) > 0 {
		part := parts[0]
		parts = parts[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if resolved == "." {
				return "", errOutsideFS
			}
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, part)
		info, err := fs.Lstat(fsys, next)
		if err != nil {
			return "", err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if hops++; hops > maxSymlinkHops {
			return "", fmt.Errorf("more than %d symlinks in a chain", maxSymlinkHops)
		}
		target, err := fs.ReadLink(fsys, next)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			return target, nil // out of any tree: fsys cannot name it
		}
		parts = append(strings.Split(target, "/"), parts...)
	}
	return resolved, nil
}

// within says whether name is tree or under it (both paths in the fs.FS).
func within(name, tree string) bool {
	if path.IsAbs(name) {
		return false
	}
	return tree == "." || name == tree || strings.HasPrefix(name, tree+"/")
}

// read reads a file that check accepted, again refusing what is not a
// regular file (it may have been replaced since) and stopping at the size
// cap whatever the file's size said.
func (r fileRule) read(name string, buf []byte) ([]byte, error) {
	if b, ok, err := readRaw(r.fsys, name, buf, r.maxSize); ok {
		return b, err
	}
	// fs.FS has no open without blocking on a named pipe: stat first (an
	// error is left to Open, to report as ever).
	if info, err := fs.Stat(r.fsys, name); err == nil && !info.Mode().IsRegular() {
		return nil, notRegular(info.Mode())
	}
	f, err := r.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(st.Mode())
	}
	if st.Size() > r.maxSize {
		return nil, tooLarge(st.Size(), r.maxSize)
	}
	if size := st.Size() + 512; int64(cap(buf)) < size {
		buf = make([]byte, 0, size)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > r.maxSize {
			return nil, tooLarge(int64(len(buf)), r.maxSize)
		}
		if err == io.EOF {
			return buf, nil
		}
		// A regular file read short, at the size it was stat-ed at, is at
		// its end: no second read to be told so.
		if err == nil && len(buf) < cap(buf) && int64(len(buf)) == st.Size() {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
