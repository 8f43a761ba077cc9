package source

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizeTree is an overlay reaching a base with ../, patching it (a file
// and an inline JSON patch), taking a component and generating a ConfigMap
// from a file; kustomizations that fail; and files no build reads.
var kustomizeTree = fstest.MapFS{
	"top.yaml":     {Data: []byte("a: b\n")},
	".hidden.yaml": {Data: []byte("a: b\n")},
	"base/kustomization.yaml": {Data: []byte(`resources:
- deployment.yaml
- service.yaml
`)},
	"base/deployment.yaml": {Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 3
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: api:1
        envFrom:
        - configMapRef: {name: api-config}
`)},
	"base/service.yaml": {Data: []byte(`apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  type: ClusterIP
  selector: {app: api}
  ports:
  - port: 8080
`)},
	"components/spread/kustomization.yaml": {Data: []byte(`apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
- path: spread.yaml
`)},
	"components/spread/spread.yaml": {Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: topology.kubernetes.io/zone
        whenUnsatisfiable: DoNotSchedule
        labelSelector: {matchLabels: {app: api}}
`)},
	"overlay/kustomization.yaml": {Data: []byte(`namespace: prod
resources:
- ../base
components:
- ../components/spread
patches:
- path: replicas.yaml
- target: {kind: Service, name: api}
  patch: |
    - op: replace
      path: /spec/type
      value: NodePort
configMapGenerator:
- name: api-config
  files:
  - config/app.properties
  literals:
  - MODE=prod
`)},
	"overlay/replicas.yaml": {Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 6
`)},
	"overlay/config/app.properties":              {Data: []byte("threads=4\nzone=aware\n")},
	"broken/missing-resource/kustomization.yaml": {Data: []byte("resources:\n- nope.yaml\n")},
	"broken/missing-base/kustomization.yaml":     {Data: []byte("resources:\n- ../nope\n")},
	"broken/missing-config/kustomization.yaml": {Data: []byte(`configMapGenerator:
- name: c
  files:
  - nope.properties
`)},
	"broken/outside-root/kustomization.yaml": {Data: []byte("resources:\n- ../../base/service.yaml\n")},
	"broken/above-root/kustomization.yaml":   {Data: []byte("resources:\n- ../../../../base\n")},
	"broken/dir-resource/kustomization.yaml": {Data: []byte("resources:\n- ../../empty\n")},
	"big/blob.bin":                           {Data: []byte("\x00\x01 not YAML")},
	"node_modules/x/index.js":                {Data: []byte("module.exports = 1\n")},
	"node_modules/x/kustomization.yaml":      {Data: []byte("resources: [index.js]\n")},
	"secret/key.pem":                         {Data: []byte("-----BEGIN PRIVATE KEY-----\n")},
	"empty":                                  {Mode: fs.ModeDir | 0o755},
}

// inMemory is what renderKustomize used before: kyaml's in-memory file
// system holding every file of m.
func inMemory(t *testing.T, m fstest.MapFS) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	for name, f := range m {
		var err error
		if f.Mode.IsDir() {
			err = mem.MkdirAll("/" + name)
		} else {
			err = mem.WriteFile("/"+name, f.Data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

func kustomizeBuild(fsys filesys.FileSystem, dir string) (string, error) {
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
	if err != nil {
		return "", err
	}
	out, err := rm.AsYaml()
	return string(out), err
}

// A build on kustomizeFS gives what the same build gives on the in-memory
// copy of the tree: the same YAML, or the same error.
func TestKustomizeFSBuildsAsInMemory(t *testing.T) {
	mem := inMemory(t, kustomizeTree)
	for _, tt := range []struct {
		dir     string
		wantErr bool
	}{
		{"/overlay", false},
		{"/base", false},
		{"overlay", false},
		{"/base/../overlay", false},
		{"/components/spread", true},
		{"/broken/missing-resource", true},
		{"/broken/missing-base", true},
		{"/broken/missing-config", true},
		{"/broken/outside-root", true},
		{"/broken/above-root", false}, // ../../../../base is /base in both
		{"/broken/dir-resource", true},
		{"/nope", true},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			want, wantErr := kustomizeBuild(mem, tt.dir)
			got, err := kustomizeBuild(kustomizeFS{fsys: kustomizeTree}, tt.dir)
			if (err != nil) != tt.wantErr || (wantErr != nil) != tt.wantErr {
				t.Fatalf("error %v, in memory %v; want an error: %v", err, wantErr, tt.wantErr)
			}
			if err != nil && err.Error() != wantErr.Error() {
				t.Errorf("error\n%v\nin memory\n%v", err, wantErr)
			}
			if got != want {
				t.Errorf("output\n%s\nin memory\n%s", got, want)
			}
		})
	}
	// What the overlay brings in: the base, its patches, the component and
	// the generated ConfigMap with the file's content.
	out, _ := kustomizeBuild(kustomizeFS{fsys: kustomizeTree}, "/overlay")
	for _, s := range []string{"namespace: prod", "replicas: 6", "type: NodePort", "topologySpreadConstraints", "app.properties: |", "zone=aware", "MODE: prod", "name: api-config-"} {
		if !strings.Contains(out, s) {
			t.Errorf("overlay output lacks %q:\n%s", s, out)
		}
	}
}

// guardFS refuses, with a permission error, to open the names deny picks
// (reading a file or listing a directory both go through Open), and
// records them.
type guardFS struct {
	fs.FS
	deny   func(name string) bool
	denied []string
}

func (g *guardFS) Open(name string) (fs.File, error) {
	if g.deny(name) {
		g.denied = append(g.denied, name)
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return g.FS.Open(name)
}

func under(dirs ...string) func(string) bool {
	return func(name string) bool {
		for _, d := range dirs {
			if name == d || strings.HasPrefix(name, d+"/") {
				return true
			}
		}
		return false
	}
}

// CleanedAbs splits like the in-memory file system: a directory is itself
// and "", a file is its directory and name, a missing path is an error
// matching os.ErrNotExist. Paths are cleaned and relative ones taken from
// "/"; ".." stops at the root, where in memory it finds nothing.
func TestKustomizeFSCleanedAbs(t *testing.T) {
	mem := inMemory(t, kustomizeTree)
	k := kustomizeFS{fsys: kustomizeTree}
	for _, tt := range []struct {
		path      string
		dir, file string
		err       string // "" for none, "*" for any
		unlikeMem bool
	}{
		{path: "/", dir: "/"},
		{path: "/overlay", dir: "/overlay"},
		{path: "overlay", dir: "/overlay"},
		{path: "/overlay/", dir: "/overlay"},
		{path: "./overlay/config", dir: "/overlay/config"},
		{path: "/empty", dir: "/empty"},
		{path: "/overlay/kustomization.yaml", dir: "/overlay", file: "kustomization.yaml"},
		{path: "/overlay/../base/service.yaml", dir: "/base", file: "service.yaml"},
		{path: "/overlay/config/../../base", dir: "/base"},
		{path: "/top.yaml", dir: "/", file: "top.yaml"},
		{path: "/nope", err: "'/nope' doesn't exist"},
		{path: "base/nope.yaml", err: "'base/nope.yaml' doesn't exist"},
		{path: "", err: "'' doesn't exist"},
		{path: "/base/service.yaml/x", err: "*"},
		{path: "/../../base", dir: "/base", unlikeMem: true},
		{path: "..", dir: "/", unlikeMem: true},
	} {
		t.Run(tt.path, func(t *testing.T) {
			dir, file, err := k.CleanedAbs(tt.path)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.err != "" && err == nil:
				t.Fatalf("(%q, %q), want an error", dir, file)
			case tt.err != "" && tt.err != "*" && err.Error() != tt.err:
				t.Errorf("error %q, want %q", err, tt.err)
			case tt.err != "" && tt.err != "*" && !errors.Is(err, os.ErrNotExist):
				t.Errorf("error %v is not os.ErrNotExist", err)
			}
			if string(dir) != tt.dir || file != tt.file {
				t.Errorf("(%q, %q), want (%q, %q)", dir, file, tt.dir, tt.file)
			}
			mdir, mfile, merr := mem.CleanedAbs(tt.path)
			same := mdir == dir && mfile == file && (merr == nil) == (err == nil) &&
				(tt.err == "*" || merr == nil || merr.Error() == err.Error())
			if same == tt.unlikeMem {
				t.Errorf("in memory (%q, %q, %v); the same: %v, want %v", mdir, mfile, merr, same, !tt.unlikeMem)
			}
		})
	}
}

// Exists, IsDir, ReadDir, ReadFile and Open answer as in memory.
func TestKustomizeFSReads(t *testing.T) {
	mem := inMemory(t, kustomizeTree)
	k := kustomizeFS{fsys: kustomizeTree}
	for _, p := range []string{"/", "/overlay", "overlay", "/overlay/", "/overlay/config/app.properties", "overlay/../base/service.yaml",
		"/.hidden.yaml", "/empty", "/nope", "/base/nope.yaml", ""} {
		t.Run(p, func(t *testing.T) {
			if got, want := k.Exists(p), mem.Exists(p); got != want {
				t.Errorf("Exists = %v, in memory %v", got, want)
			}
			if got, want := k.IsDir(p), mem.IsDir(p); got != want {
				t.Errorf("IsDir = %v, in memory %v", got, want)
			}
			names, err := k.ReadDir(p)
			mnames, merr := mem.ReadDir(p)
			sort.Strings(mnames)
			if !slices.Equal(names, mnames) || (err == nil) != (merr == nil) {
				t.Errorf("ReadDir = %v, %v; in memory %v, %v", names, err, mnames, merr)
			}
			data, err := k.ReadFile(p)
			mdata, merr := mem.ReadFile(p)
			if string(data) != string(mdata) || (err == nil) != (merr == nil) {
				t.Errorf("ReadFile = %q, %v; in memory %q, %v", data, err, mdata, merr)
			}
			if errors.Is(merr, os.ErrNotExist) && (!errors.Is(err, os.ErrNotExist) || err.Error() != merr.Error()) {
				t.Errorf("ReadFile error %v, in memory %v", err, merr)
			}
			f, err := k.Open(p)
			if (err == nil) != k.Exists(p) {
				t.Fatalf("Open error %v, Exists %v", err, k.Exists(p))
			}
			if err != nil {
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("Open error %v is not os.ErrNotExist", err)
				}
				return
			}
			defer f.Close()
			info, err := f.Stat()
			if err != nil || info.IsDir() != k.IsDir(p) {
				t.Fatalf("Stat = %v, %v", info, err)
			}
			if !info.IsDir() {
				b, err := io.ReadAll(f)
				if err != nil || string(b) != string(data) {
					t.Errorf("read %q, %v; ReadFile %q", b, err, data)
				}
			}
		})
	}
	f, err := k.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || info.Name() != "/" || !info.IsDir() {
		t.Errorf("Stat of / = %v, %v", info, err)
	}
}

// Glob gives files only, sorted, hidden ones only when asked for, reading
// only the directories the pattern reaches.
func TestKustomizeFSGlob(t *testing.T) {
	mem := inMemory(t, kustomizeTree)
	for _, tt := range []struct {
		pattern   string
		want      []string
		unlikeMem bool
	}{
		{pattern: "/base/*.yaml", want: []string{"/base/deployment.yaml", "/base/kustomization.yaml", "/base/service.yaml"}},
		{pattern: "/*", want: []string{"/top.yaml"}},
		{pattern: "/.*", want: []string{"/.hidden.yaml"}},
		{pattern: "/*/kustomization.yaml", want: []string{"/base/kustomization.yaml", "/overlay/kustomization.yaml"}},
		{pattern: "/overlay/*/*.properties", want: []string{"/overlay/config/app.properties"}},
		{pattern: "/overlay/../base/s*", want: []string{"/base/service.yaml"}, unlikeMem: true},
		{pattern: "/base/*.yaml/", want: nil},
		{pattern: "/nope/*", want: nil},
		{pattern: "base/*.yaml", want: []string{"/base/deployment.yaml", "/base/kustomization.yaml", "/base/service.yaml"}, unlikeMem: true},
	} {
		t.Run(tt.pattern, func(t *testing.T) {
			g := &guardFS{FS: kustomizeTree, deny: under("big", "node_modules", "secret", "broken")}
			got, err := kustomizeFS{fsys: g}.Glob(tt.pattern)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Glob = %q, %v; want %q", got, err, tt.want)
			}
			if len(g.denied) > 0 && !strings.HasPrefix(tt.pattern, "/*") {
				t.Errorf("opened %v", g.denied)
			}
			mgot, _ := mem.Glob(tt.pattern)
			if slices.Equal(got, mgot) == tt.unlikeMem {
				t.Errorf("in memory %q", mgot)
			}
		})
	}
	if _, err := (kustomizeFS{fsys: kustomizeTree}).Glob("/["); err == nil {
		t.Error("a bad pattern is no error")
	}
}

// Walk visits as the in-memory Walk does: cleaned absolute paths, lexical
// order, SkipDir on a directory skipping it and on a file skipping the rest
// of its directory; a missing root is an error without a visit.
func TestKustomizeFSWalk(t *testing.T) {
	mem := inMemory(t, kustomizeTree)
	walk := func(fsys filesys.FileSystem, root string, skip map[string]bool) ([]string, error) {
		var seen []string
		err := fsys.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			kind := "f"
			if info.IsDir() {
				kind = "d"
			}
			seen = append(seen, kind+" "+p+" "+info.Name())
			if skip[p] {
				return filepath.SkipDir
			}
			return nil
		})
		return seen, err
	}
	for _, tt := range []struct {
		root string
		skip map[string]bool
	}{
		{"/", nil},
		{"/overlay", nil},
		{"overlay/../base", nil},
		{"/overlay/kustomization.yaml", nil},
		{"/", map[string]bool{"/big": true, "/broken": true, "/node_modules": true, "/overlay/config": true}},
		{"/base", map[string]bool{"/base/deployment.yaml": true}},
		{"/", map[string]bool{"/base/deployment.yaml": true}},
		{"/nope", nil},
	} {
		t.Run(tt.root, func(t *testing.T) {
			got, err := walk(kustomizeFS{fsys: kustomizeTree}, tt.root, tt.skip)
			want, werr := walk(mem, tt.root, tt.skip)
			if !slices.Equal(got, want) {
				t.Errorf("visits\n%s\nin memory\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
				t.Errorf("error %v, in memory %v", err, werr)
			}
		})
	}
	t.Run("an unlistable directory is visited with its error", func(t *testing.T) {
		g := &guardFS{FS: kustomizeTree, deny: under("secret")}
		var errAt []string
		err := kustomizeFS{fsys: g}.Walk("/", func(p string, info os.FileInfo, err error) error {
			if err != nil {
				errAt = append(errAt, p)
			}
			return nil
		})
		if err != nil || !slices.Equal(errAt, []string{"/secret"}) {
			t.Errorf("Walk = %v, errors at %v", err, errAt)
		}
	})
	t.Run("SkipAll stops the walk without an error", func(t *testing.T) {
		n := 0
		err := kustomizeFS{fsys: kustomizeTree}.Walk("/", func(string, os.FileInfo, error) error {
			n++
			return filepath.SkipAll
		})
		if err != nil || n != 1 {
			t.Errorf("Walk = %v after %d visits", err, n)
		}
	})
}

// Every write is an error, and the fs.FS is left as it was.
func TestKustomizeFSWritesFail(t *testing.T) {
	tree := fstest.MapFS{"a/k.yaml": {Data: []byte("x: y\n")}}
	k := kustomizeFS{fsys: tree}
	f, err := k.Open("/a/k.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, write := range map[string]func() error{
		"Create":    func() error { _, err := k.Create("/a/new.yaml"); return err },
		"Mkdir":     func() error { return k.Mkdir("/b") },
		"MkdirAll":  func() error { return k.MkdirAll("/b/c") },
		"RemoveAll": func() error { return k.RemoveAll("/a") },
		"WriteFile": func() error { return k.WriteFile("/a/k.yaml", []byte("z: z\n")) },
		"Write":     func() error { _, err := f.Write([]byte("z")); return err },
	} {
		if err := write(); !errors.Is(err, errReadOnly) {
			t.Errorf("%s: error %v, want %v", name, err, errReadOnly)
		}
	}
	if len(tree) != 1 || string(tree["a/k.yaml"].Data) != "x: y\n" {
		t.Errorf("tree changed: %v", tree)
	}
}
