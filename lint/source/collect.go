package source

import (
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

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

// StdinPath names standard input in reports.
const StdinPath = "<stdin>"
