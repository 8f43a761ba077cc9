package source

import (
	"cmp"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"sigs.k8s.io/kustomize/api/krusty"

	"github.com/inzone-io/inzone/lint/file"
	"github.com/inzone-io/inzone/lint/glob"
)

// Options configure Collect.
type Options struct {
	// Ignore are globs of paths not to read (package glob).
	Ignore []string
	// Values is a values file (YAML) for Helm charts.
	Values []byte
	// ReleaseName and Namespace render Helm charts. Defaults: inzone-lint, default.
	ReleaseName, Namespace string
	// MaxFileSize caps one file's size in bytes; 0 means DefaultMaxFileSize.
	MaxFileSize int64
	// FollowSymlinks reads symlinks that lead out of the tree they are
	// found in (the path given to Collect); by default they are reported,
	// not read. Whatever a symlink leads to must be a regular file.
	FollowSymlinks bool
	// AllowRemote lets a kustomization reach remote resources (http(s)
	// URLs, git repositories), which kustomize fetches and clones. Off by
	// default: a kustomization naming one is an error, and nothing is
	// fetched or run.
	AllowRemote bool
	// RenderTimeout bounds rendering one Helm chart; 0 means
	// DefaultRenderTimeout.
	RenderTimeout time.Duration
}

// Error is a path that could not be read, rendered or built, and why.
type Error struct {
	File    string
	Message string
}

func (e Error) Error() string { return e.File + ": " + e.Message }

// IsManifest says whether a directory walk reads the file name: YAML and
// JSON, by extension in any case.
func IsManifest(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Collect reads the named paths from fsys (slash-separated, relative to its
// root): a file is read as it is; a directory is walked recursively for
// YAML and JSON files, except that a Helm chart (a directory with
// Chart.yaml) is rendered with the Helm SDK and a kustomize directory (with
// kustomization.yaml) is built with the kustomize API, each into manifests.
// Errors name the path; the other paths are still collected. Only regular
// files are read, each up to MaxFileSize, and symlinks only within the path
// they were found under (see Options); a kustomization may not reach
// remote resources unless AllowRemote.
func Collect(fsys fs.FS, paths []string, opts Options) ([]file.File, []Error) {
	ignore, err := glob.Compile(opts.Ignore)
	if err != nil {
		return nil, []Error{{File: "--ignore", Message: err.Error()}}
	}
	rule := fileRule{fsys: fsys, maxSize: opts.MaxFileSize, followSymlinks: opts.FollowSymlinks}
	if rule.maxSize <= 0 {
		rule.maxSize = DefaultMaxFileSize
	}
	c := &collector{fsys: fsys, opts: opts, ignore: ignore, seen: map[string]bool{}, rule: rule}
	for _, p := range paths {
		p = path.Clean(strings.TrimPrefix(p, "./"))
		// A file named on the command line is in the tree of its directory.
		tree := p
		if st, err := fs.Lstat(fsys, p); err == nil && !st.IsDir() {
			tree = path.Dir(p)
		}
		st, err := rule.check(p, tree)
		if err != nil {
			c.errs = append(c.errs, Error{File: p, Message: err.Error()})
			continue
		}
		if st.IsDir() {
			c.walk(p)
		} else {
			c.readFile(p)
		}
	}
	sort.Slice(c.files, func(i, j int) bool { return c.files[i].Path < c.files[j].Path })
	return c.files, c.errs
}

type collector struct {
	fsys   fs.FS
	opts   Options
	ignore glob.Set
	files  []file.File
	errs   []Error
	seen   map[string]bool
	rule   fileRule
}

func (c *collector) ignored(p string) bool { return c.ignore.Match(p) }

func (c *collector) readFile(p string) {
	if c.seen[p] || c.ignored(p) {
		return
	}
	c.seen[p] = true
	rule := c.rule
	c.files = append(c.files, file.File{Path: p, Load: func() ([]byte, error) { return rule.read(p, nil) },
		ReadInto: func(buf []byte) ([]byte, error) { return rule.read(p, buf) }})
}

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

func (c *collector) walk(root string) {
	lfs := newListingFS(c.fsys, func(dir string) bool { return !c.ignored(dir) })
	defer lfs.wg.Wait()
	err := fs.WalkDir(lfs, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			c.errs = append(c.errs, Error{File: p, Message: err.Error()})
			return nil
		}
		if c.ignored(p) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir // .git and friends
			}
			ls := lfs.list(p)
			if ls.has("Chart.yaml") && isFile(c.fsys, path.Join(p, "Chart.yaml")) {
				lfs.forget(p)
				c.renderHelm(p, root)
				return fs.SkipDir
			}
			if (ls.has("kustomization.yaml") || ls.has("kustomization.yml") || ls.has("Kustomization")) && kustomizationFile(c.fsys, p) != "" {
				lfs.forget(p)
				c.renderKustomize(p, root)
				return fs.SkipDir
			}
			return nil
		}
		if IsManifest(p) {
			if !d.Type().IsRegular() { // a symlink, a pipe, a device, a socket
				info, err := c.rule.check(p, root)
				if err == nil && info.IsDir() {
					err = notRegular(info.Mode())
				}
				if err != nil {
					c.errs = append(c.errs, Error{File: p, Message: err.Error()})
					return nil
				}
			}
			c.readFile(p)
			if info, err := d.Info(); err == nil && len(c.files) > 0 && c.files[len(c.files)-1].Path == p {
				c.files[len(c.files)-1].Size = info.Size()
			}
		}
		return nil
	})
	if err != nil {
		c.errs = append(c.errs, Error{File: root, Message: err.Error()})
	}
}

func isFile(fsys fs.FS, p string) bool {
	st, err := fs.Stat(fsys, p)
	return err == nil && !st.IsDir()
}

func kustomizationFile(fsys fs.FS, dir string) string {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if isFile(fsys, path.Join(dir, n)) {
			return n
		}
	}
	return ""
}

// renderHelm renders a chart from its files in memory. Each rendered
// template becomes a File named after its template; lines are those of the
// rendered text.
func (c *collector) renderHelm(dir, tree string) {
	var bufs []*loader.BufferedFile
	err := fs.WalkDir(c.fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			info, err := c.rule.check(p, tree)
			if err == nil && info.IsDir() {
				err = notRegular(info.Mode())
			}
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		data, err := c.rule.read(p, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rel := strings.TrimPrefix(p, dir+"/")
		bufs = append(bufs, &loader.BufferedFile{Name: rel, Data: data})
		return nil
	})
	if err != nil {
		c.errs = append(c.errs, Error{File: dir, Message: "reading Helm chart: " + err.Error()})
		return
	}
	chrt, err := loader.LoadFiles(bufs)
	if err != nil {
		c.errs = append(c.errs, Error{File: dir, Message: "loading Helm chart: " + err.Error()})
		return
	}
	vals := map[string]any{}
	if len(c.opts.Values) > 0 {
		if vals, err = chartutil.ReadValues(c.opts.Values); err != nil {
			c.errs = append(c.errs, Error{File: dir, Message: "values: " + err.Error()})
			return
		}
	}
	rel := chartutil.ReleaseOptions{Name: cmp.Or(c.opts.ReleaseName, "inzone-lint"), Namespace: cmp.Or(c.opts.Namespace, "default"), IsInstall: true, Revision: 1}
	rv, err := chartutil.ToRenderValues(chrt, vals, rel, chartutil.DefaultCapabilities)
	if err != nil {
		c.errs = append(c.errs, Error{File: dir, Message: "Helm values: " + err.Error()})
		return
	}
	out, err := renderWithin(chrt, rv, c.opts.RenderTimeout)
	if err != nil {
		c.errs = append(c.errs, Error{File: dir, Message: "rendering Helm chart: " + err.Error()})
		return
	}
	for name, text := range out {
		if strings.TrimSpace(text) == "" || !IsManifest(name) {
			continue // NOTES.txt, helpers, templates that rendered to nothing
		}
		// name is <chart name>/templates/x.yaml; report it under the chart's directory.
		_, inChart, _ := strings.Cut(name, "/")
		c.files = append(c.files, file.File{Path: path.Join(dir, inChart), Data: []byte(text)})
	}
}

// renderKustomize builds a kustomization with the kustomize API, which
// reads from the fs.FS only the files the kustomization reaches (see
// kustomizeFS); the output is one File named after the kustomization file.
func (c *collector) renderKustomize(dir, tree string) {
	kfs := kustomizeFS{fsys: c.fsys, rule: &c.rule, tree: tree}
	if !c.opts.AllowRemote {
		if err := checkNoRemote(kfs, dir); err != nil {
			c.errs = append(c.errs, Error{File: path.Join(dir, kustomizationFile(c.fsys, dir)), Message: "kustomize build: " + err.Error()})
			return
		}
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(kfs, "/"+dir)
	if err != nil {
		c.errs = append(c.errs, Error{File: path.Join(dir, kustomizationFile(c.fsys, dir)), Message: "kustomize build: " + err.Error()})
		return
	}
	out, err := rm.AsYaml()
	if err != nil {
		c.errs = append(c.errs, Error{File: dir, Message: "kustomize output: " + err.Error()})
		return
	}
	c.files = append(c.files, file.File{Path: path.Join(dir, kustomizationFile(c.fsys, dir)), Data: out})
}

// StdinPath names standard input in reports.
const StdinPath = "<stdin>"
