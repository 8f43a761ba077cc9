package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizeFS is the file system that kustomize builds on: an fs.FS seen
// through kyaml's filesys.FileSystem, read lazily. It exists because kyaml
// offers only the disk (filesys.MakeFsOnDisk, which would bypass the fs.FS
// Collect was given) and an in-memory tree (filesys.MakeFsInMemory, which
// must first be filled with every file a kustomization might reach with
// "../": the whole tree under the root, build outputs, node_modules and
// unreadable files included). Here kustomize reads only what it asks for.
//
// Paths are virtual and absolute: "/" is the root of the fs.FS ("."), "/a/b"
// is "a/b", a relative path is relative to "/" (as in kyaml's in-memory
// file system), and ".." stops at the root. Answers follow the in-memory
// file system the build used before (kyaml's fsnode.go): a missing path is
// an error that reads "'<path>' doesn't exist" and matches os.ErrNotExist,
// Walk visits in lexical order with cleaned absolute paths, Glob leaves out
// directories and hidden files.
//
// The build only reads (the writes in kustomize's api are in localize and
// in the cleanup of remote git clones), so every write is an error.
//
// Files are read as Collect reads them (rule: regular files within the size
// cap, symlinks within tree), and a YAML file that expands through aliases
// beyond its budget is refused before kustomize parses it: kustomize
// expands aliases without a bound.
type kustomizeFS struct {
	fsys fs.FS
	rule *fileRule // nil: read as the fs.FS reads
	tree string
}

var _ filesys.FileSystem = kustomizeFS{}

// errReadOnly is the error of every write to a kustomizeFS.
var errReadOnly = errors.New("read-only file system: inzone lint only reads kustomizations")

// notExistError is kyaml's in-memory error for a missing path, so that
// kustomize's messages read as they did on the in-memory copy.
type notExistError string

func (err notExistError) Error() string { return fmt.Sprintf("'%s' doesn't exist", string(err)) }
func (err notExistError) Unwrap() error { return os.ErrNotExist }

// resolve gives the cleaned virtual path of p ("/" or "/a/b") and its
// name in the fs.FS ("." or "a/b"). ok is false for "", which kyaml's
// in-memory file system holds to exist nowhere.
func resolve(p string) (abs, name string, ok bool) {
	if p == "" {
		return "", "", false
	}
	abs = path.Clean("/" + filepath.ToSlash(p))
	if abs == "/" {
		return abs, ".", true
	}
	return abs, abs[1:], true
}

// stat is fs.Stat on the path's name; a missing path, "" included, is a
// notExistError naming p as given.
func (k kustomizeFS) stat(p string) (abs, name string, info fs.FileInfo, err error) {
	abs, name, ok := resolve(p)
	if !ok {
		return "", "", nil, notExistError(p)
	}
	info, err = fs.Stat(k.fsys, name)
	if err != nil {
		return abs, name, nil, notExist(p, err)
	}
	return abs, name, info, nil
}

// notExist turns a not-exist error from the fs.FS into a notExistError
// naming p; other errors pass.
func notExist(p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return notExistError(p)
	}
	return err
}

// Open opens a file (or directory) for reading; its Write is an error.
func (k kustomizeFS) Open(p string) (filesys.File, error) {
	abs, name, ok := resolve(p)
	if !ok {
		return nil, notExistError(p)
	}
	f, err := k.fsys.Open(name)
	if err != nil {
		return nil, notExist(p, err)
	}
	return readOnlyFile{File: f, abs: abs}, nil
}

// readOnlyFile is an fs.File as a filesys.File.
type readOnlyFile struct {
	fs.File
	abs string
}

func (f readOnlyFile) Write([]byte) (int, error) {
	return 0, &fs.PathError{Op: "write", Path: f.abs, Err: errReadOnly}
}

func (f readOnlyFile) Stat() (os.FileInfo, error) {
	info, err := f.File.Stat()
	if err == nil && f.abs == "/" {
		info = rootInfo{info}
	}
	return info, err
}

// rootInfo names the root "/", as the in-memory root is named.
type rootInfo struct{ fs.FileInfo }

func (rootInfo) Name() string { return "/" }

// IsDir is true if p is a directory.
func (k kustomizeFS) IsDir(p string) bool {
	_, _, info, err := k.stat(p)
	return err == nil && info.IsDir()
}

// Exists is true if p is a file or a directory.
func (k kustomizeFS) Exists(p string) bool {
	_, _, _, err := k.stat(p)
	return err == nil
}

// ReadDir lists the names in directory p, sorted.
func (k kustomizeFS) ReadDir(p string) ([]string, error) {
	_, name, info, err := k.stat(p)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", p)
	}
	entries, err := fs.ReadDir(k.fsys, name)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// CleanedAbs gives a directory as itself and "", a file as its directory
// and its name, and a missing path as an error.
func (k kustomizeFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	abs, _, info, err := k.stat(p)
	if err != nil {
		var missing notExistError
		if errors.As(err, &missing) {
			return "", "", err
		}
		return "", "", fmt.Errorf("unable to clean: %w", err)
	}
	if info.IsDir() {
		return filesys.ConfirmedDir(abs), "", nil
	}
	return filesys.ConfirmedDir(path.Dir(abs)), path.Base(abs), nil
}

// ReadFile reads file p.
func (k kustomizeFS) ReadFile(p string) ([]byte, error) {
	abs, name, ok := resolve(p)
	if !ok {
		return nil, notExistError(p)
	}
	data, err := k.readFile(name)
	if err == nil {
		return data, nil
	}
	var refused *refusedError
	if errors.As(err, &refused) {
		return nil, fmt.Errorf("%s: %w", abs, refused.err)
	}
	if info, serr := fs.Stat(k.fsys, name); serr == nil && info.IsDir() {
		// In memory's message, naming the directory (in memory names "/").
		return nil, fmt.Errorf("cannot read content from non-file '%s'", abs)
	}
	return nil, notExist(p, err)
}

// refusedError is a file the rule or the alias budget refuses.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }

// readFile reads name under the rule and checks its alias expansion.
func (k kustomizeFS) readFile(name string) ([]byte, error) {
	if k.rule == nil {
		return fs.ReadFile(k.fsys, name)
	}
	if _, err := fs.Lstat(k.fsys, name); err != nil {
		return nil, err
	}
	info, err := k.rule.check(name, k.tree)
	if err != nil {
		return nil, &refusedError{err}
	}
	if info.IsDir() {
		return nil, fmt.Errorf("%s is a directory", name)
	}
	data, err := k.rule.read(name, nil)
	if err != nil {
		return nil, &refusedError{err}
	}
	if err := checkAliases(data); err != nil {
		return nil, &refusedError{err}
	}
	return data, nil
}

// Glob gives the files (not directories) whose virtual paths match pattern,
// sorted; hidden files only if the pattern's last element is hidden. A
// relative pattern is relative to "/". Only the directories the pattern
// reaches are read.
func (k kustomizeFS) Glob(pattern string) ([]string, error) {
	abs, name, ok := resolve(pattern)
	if !ok {
		return nil, nil
	}
	if strings.HasSuffix(pattern, "/") && abs != "/" {
		return nil, nil // matches directories only
	}
	names, err := fs.Glob(k.fsys, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if info, err := fs.Stat(k.fsys, n); err != nil || info.IsDir() {
			continue
		}
		out = append(out, "/"+n)
	}
	if !filesys.IsHiddenFilePath(pattern) {
		out = filesys.RemoveHiddenFiles(out)
	}
	sort.Strings(out)
	return out, nil
}

// Walk visits p and, if a directory, everything under it in lexical order,
// with cleaned virtual paths, as filepath.Walk does (SkipDir and SkipAll
// included). A missing p is an error without a visit, as in memory; a
// directory that cannot be listed is visited with the error and not entered.
func (k kustomizeFS) Walk(p string, walkFn filepath.WalkFunc) error {
	abs, name, info, err := k.stat(p)
	if err != nil {
		return err
	}
	if abs == "/" {
		info = rootInfo{info}
	}
	err = k.walk(abs, name, info, walkFn)
	if err == filepath.SkipDir || err == filepath.SkipAll {
		return nil
	}
	return err
}

func (k kustomizeFS) walk(abs, name string, info fs.FileInfo, walkFn filepath.WalkFunc) error {
	if !info.IsDir() {
		return walkFn(abs, info, nil)
	}
	entries, err := fs.ReadDir(k.fsys, name)
	if err1 := walkFn(abs, info, err); err != nil || err1 != nil {
		return err1 // the caller handles SkipDir and SkipAll
	}
	for _, e := range entries {
		childAbs, childName := path.Join(abs, e.Name()), path.Join(name, e.Name())
		childInfo, err := e.Info()
		if err != nil {
			if err := walkFn(childAbs, childInfo, err); err != nil && err != filepath.SkipDir {
				return err
			}
			continue
		}
		if err := k.walk(childAbs, childName, childInfo, walkFn); err != nil {
			if !childInfo.IsDir() || err != filepath.SkipDir {
				return err
			}
		}
	}
	return nil
}

// Create is an error: the file system is read-only.
func (kustomizeFS) Create(p string) (filesys.File, error) {
	return nil, &fs.PathError{Op: "create", Path: p, Err: errReadOnly}
}

// Mkdir is an error: the file system is read-only.
func (kustomizeFS) Mkdir(p string) error {
	return &fs.PathError{Op: "mkdir", Path: p, Err: errReadOnly}
}

// MkdirAll is an error: the file system is read-only.
func (kustomizeFS) MkdirAll(p string) error {
	return &fs.PathError{Op: "mkdir", Path: p, Err: errReadOnly}
}

// RemoveAll is an error: the file system is read-only.
func (kustomizeFS) RemoveAll(p string) error {
	return &fs.PathError{Op: "remove", Path: p, Err: errReadOnly}
}

// WriteFile is an error: the file system is read-only.
func (kustomizeFS) WriteFile(p string, _ []byte) error {
	return &fs.PathError{Op: "write", Path: p, Err: errReadOnly}
}
