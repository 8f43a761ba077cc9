package source

import (
	"io/fs"
	"path"
	"runtime"
	"strings"
	"sync"
)

// listingFS lists each directory once: the walk lists a directory to look
// for Chart.yaml and kustomization files (rather than stat four names in
// every directory), and fs.WalkDir then gets that listing. Listing a
// directory starts listing its subdirectories, and theirs in turn, and
// stat-ing their manifests (the walk wants their sizes), in the
// background, a few at a time, so that the walk, a system call or two per entry, is not done on
// one core alone while the others wait for it; the walk still visits, and
// reports, everything in the same order.
type listingFS struct {
	fs.FS
	// prefetch says whether a subdirectory may be listed ahead of the walk
	// (not one the walk will skip).
	prefetch func(dir string) bool
	mu       sync.Mutex
	cache    map[string]*listing
	sem      chan struct{}
	wg       sync.WaitGroup
}

type listing struct {
	entries []fs.DirEntry
	err     error
	done    chan struct{} // closed once entries and err are set
}

func newListingFS(fsys fs.FS, prefetch func(dir string) bool) *listingFS {
	return &listingFS{FS: fsys, prefetch: prefetch, cache: map[string]*listing{}, sem: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// read lists dir into ls, with the manifests' file info.
func (l *listingFS) read(dir string, ls *listing) {
	ls.entries, ls.err = fs.ReadDir(l.FS, dir)
	for i, e := range ls.entries {
		if !e.IsDir() && IsManifest(e.Name()) {
			info, err := e.Info()
			ls.entries[i] = statEntry{e, info, err}
		}
	}
	close(ls.done)
	l.startSubdirs(dir, ls)
}

// statEntry is a DirEntry whose Info was read with its directory.
type statEntry struct {
	fs.DirEntry
	info fs.FileInfo
	err  error
}

func (e statEntry) Info() (fs.FileInfo, error) { return e.info, e.err }

func (l *listingFS) list(dir string) *listing {
	l.mu.Lock()
	ls, ok := l.cache[dir]
	if !ok {
		ls = &listing{done: make(chan struct{})}
		l.cache[dir] = ls
	}
	l.mu.Unlock()
	if !ok {
		l.read(dir, ls)
	}
	<-ls.done
	return ls
}

// startSubdirs starts listing the subdirectories in a listing.
func (l *listingFS) startSubdirs(dir string, ls *listing) {
	for _, e := range ls.entries {
		if sub := path.Join(dir, e.Name()); e.IsDir() && !strings.HasPrefix(e.Name(), ".") && l.prefetch(sub) {
			l.startList(sub)
		}
	}
}

// startList lists dir in the background, unless it is listed already.
func (l *listingFS) startList(dir string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.cache[dir]; ok {
		return
	}
	ls := &listing{done: make(chan struct{})}
	l.cache[dir] = ls
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.sem <- struct{}{}
		l.read(dir, ls)
		<-l.sem
	}()
}

// forget drops the listing of a directory the walk does not descend into.
func (l *listingFS) forget(dir string) {
	l.mu.Lock()
	delete(l.cache, dir)
	l.mu.Unlock()
}

// ReadDir is fs.ReadDir, from the listing when the walk made one.
func (l *listingFS) ReadDir(dir string) ([]fs.DirEntry, error) {
	l.mu.Lock()
	ls, ok := l.cache[dir]
	delete(l.cache, dir)
	l.mu.Unlock()
	if ok {
		<-ls.done
		return ls.entries, ls.err
	}
	return fs.ReadDir(l.FS, dir)
}

func (l *listingFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(l.FS, name) }

// has says whether the listing of dir may hold name: a name that differs
// only in case counts, for case-insensitive file systems; without a listing
// the answer is yes, and the caller's stat decides as before.
func (ls *listing) has(name string) bool {
	if ls.err != nil {
		return true
	}
	for _, e := range ls.entries {
		if strings.EqualFold(e.Name(), name) {
			return true
		}
	}
	return false
}
