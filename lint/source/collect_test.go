package source

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestCollect(t *testing.T) {
	fsys := os.DirFS("testdata/sources")
	tests := []struct {
		name      string
		paths     []string
		opts      Options
		wantFiles []string
	}{
		{"a directory is walked for YAML and JSON only", []string{"plain"}, Options{}, []string{"plain/svc.yaml", "plain/vendor/ignored.yaml"}},
		{"an ignore glob leaves a directory out", []string{"plain"}, Options{Ignore: []string{"**/vendor/**"}}, []string{"plain/svc.yaml"}},
		{"a Helm chart is rendered, one file per template, NOTES.txt left out", []string{"chart"}, Options{}, []string{"chart/templates/deployment.yaml", "chart/templates/service.yaml"}},
		{"a kustomize overlay is built, reaching its base", []string{"kustomize/overlay"}, Options{}, []string{"kustomize/overlay/kustomization.yaml"}},
		{"a file named directly is read", []string{"plain/svc.yaml"}, Options{}, []string{"plain/svc.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, errs := Collect(fsys, tt.paths, tt.opts)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			var got []string
			for _, f := range files {
				got = append(got, f.Path)
			}
			if !slices.Equal(got, tt.wantFiles) {
				t.Errorf("files = %v, want %v", got, tt.wantFiles)
			}
		})
	}
}

// Errors name the path they are about, and the other paths are still
// collected.
func TestCollectErrors(t *testing.T) {
	fsys := os.DirFS("testdata/sources")
	t.Run("a chart that does not render is an error naming it", func(t *testing.T) {
		_, errs := Collect(fsys, []string{"chart"}, Options{Values: []byte("service: [not, a, map]\n")})
		if len(errs) != 1 || errs[0].File != "chart" {
			t.Errorf("errors = %+v", errs)
		}
	})
	t.Run("a missing path is an error, and the others are still read", func(t *testing.T) {
		files, errs := Collect(fsys, []string{"nope", "plain/svc.yaml"}, Options{})
		if len(errs) != 1 || errs[0].File != "nope" || len(files) != 1 {
			t.Errorf("files %v, errors %+v", files, errs)
		}
	})
	t.Run("a bad --ignore glob is an error naming the flag", func(t *testing.T) {
		files, errs := Collect(fsys, []string{"plain"}, Options{Ignore: []string{""}})
		if len(files) != 0 || len(errs) != 1 || errs[0].File != "--ignore" || !strings.Contains(errs[0].Message, "empty glob") {
			t.Errorf("files %v, errors %+v", files, errs)
		}
	})
}

// The walk's read-ahead (listings and sizes from background goroutines)
// gives the files, sizes and order of a plain fs.WalkDir, on a tree deep
// and wide enough to have listings pending when the walk reaches them.
func TestCollectReadAheadKeepsOrder(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := 0; i < 6; i++ {
		for j := 0; j < 5; j++ {
			d := filepath.Join(dir, fmt.Sprintf("d%d", i), fmt.Sprintf("e%d", j), "f")
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			for k := 0; k < 3; k++ {
				name := fmt.Sprintf("m%d.yaml", k)
				if err := os.WriteFile(filepath.Join(d, name), []byte(strings.Repeat("a: b\n", i+j+k+1)), 0o644); err != nil {
					t.Fatal(err)
				}
				want = append(want, fmt.Sprintf("d%d/e%d/f/%s", i, j, name))
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "d1", ".git", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "d1", ".git", "x", "c.yaml"), []byte("a: b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		files, errs := Collect(os.DirFS(dir), []string{"."}, Options{Ignore: []string{"d5/**"}})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		var got []string
		for _, f := range files {
			got = append(got, f.Path)
			data, err := fs.ReadFile(os.DirFS(dir), f.Path)
			if err != nil || f.Size != int64(len(data)) {
				t.Fatalf("%s: size %d, file has %d bytes (%v)", f.Path, f.Size, len(data), err)
			}
		}
		if !slices.Equal(got, want[:len(want)-15]) {
			t.Fatalf("files = %v\nwant %v", got, want[:len(want)-15])
		}
	}
}

// fileRule.read, by its fast path or not, reads what fs.ReadFile reads, and
// fails as it fails.
func TestReadInto(t *testing.T) {
	dir := t.TempDir()
	big := []byte(strings.Repeat("0123456789abcdef", 10000))
	if err := os.WriteFile(filepath.Join(dir, "big.yaml"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, fsys := range []fs.FS{os.DirFS(dir), fstest.MapFS{"big.yaml": {Data: big}, "empty.yaml": {}}} {
		for _, buf := range [][]byte{nil, make([]byte, 0, 10), make([]byte, 0, 1<<20)} {
			for _, name := range []string{"big.yaml", "empty.yaml"} {
				got, err := (fileRule{fsys: fsys, maxSize: DefaultMaxFileSize}).read(name, buf)
				want, _ := fs.ReadFile(fsys, name)
				if err != nil || string(got) != string(want) {
					t.Errorf("%T %s (buffer of %d): %d bytes, %v; want %d bytes", fsys, name, cap(buf), len(got), err, len(want))
				}
			}
		}
		_, err := (fileRule{fsys: fsys, maxSize: DefaultMaxFileSize}).read("missing.yaml", nil)
		_, want := fs.ReadFile(fsys, "missing.yaml")
		if err == nil || err.Error() != want.Error() {
			t.Errorf("%T missing file: %v, want %v", fsys, err, want)
		}
	}
}

// Collect builds the overlay reading only what it reaches: nothing else in
// the tree is opened, so a tree with build outputs, node_modules or an
// unreadable file costs the overlay nothing and does not break it.
func TestCollectKustomizeReadsOnlyWhatItReaches(t *testing.T) {
	want, err := kustomizeBuild(inMemory(t, kustomizeTree), "/overlay")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name         string
		deny         func(string) bool
		mustNotTouch bool // fail if a denied name is even tried
	}{
		{"files outside the kustomization are never opened", under("big", "node_modules", "secret", "broken", "top.yaml", ".hidden.yaml", "empty"), true},
		{"an unreadable file elsewhere does not break the build", under("secret/key.pem"), false},
		{"an unreadable directory elsewhere does not break the build", under("secret"), false},
		{"the root can be left unlisted", func(name string) bool { return name == "." }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := &guardFS{FS: kustomizeTree, deny: tt.deny}
			files, errs := Collect(g, []string{"overlay"}, Options{})
			if tt.mustNotTouch && len(g.denied) > 0 {
				t.Errorf("opened %v", g.denied)
			}
			if len(errs) > 0 {
				t.Fatalf("errors: %+v", errs)
			}
			if len(files) != 1 || files[0].Path != "overlay/kustomization.yaml" || string(files[0].Data) != want {
				t.Fatalf("files %+v, want overlay/kustomization.yaml with\n%s", files, want)
			}
		})
	}
}

// A kustomization builds wherever Collect is pointed at it: at the root of
// the fs.FS ("/." is "/") and in a hidden directory named directly, both of
// which the in-memory copy missed.
func TestCollectKustomizeAnywhere(t *testing.T) {
	for _, tt := range []struct{ dir, want string }{
		{".", "kustomization.yaml"},
		{".deploy/prod", ".deploy/prod/kustomization.yaml"},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, f := range kustomizeTree {
				if rest, ok := strings.CutPrefix(name, "base/"); ok {
					fsys[path.Join(tt.dir, "base", rest)] = f
				}
			}
			fsys[path.Join(tt.dir, "kustomization.yaml")] = &fstest.MapFile{Data: []byte("namespace: prod\nresources:\n- base\n")}
			files, errs := Collect(fsys, []string{tt.dir}, Options{})
			if len(errs) > 0 {
				t.Fatalf("errors: %+v", errs)
			}
			if len(files) != 1 || files[0].Path != tt.want || !strings.Contains(string(files[0].Data), "namespace: prod") {
				t.Errorf("files %+v", files)
			}
		})
	}
}

func TestIsManifest(t *testing.T) {
	for name, want := range map[string]bool{
		"a.yaml": true, "dir/b.yml": true, "c.json": true, "D.YAML": true, "e.Json": true,
		"notes.txt": false, "Chart.lock": false, "yaml": false, "f.yaml.bak": false, ".yaml/g": false,
	} {
		if got := IsManifest(name); got != want {
			t.Errorf("IsManifest(%q) = %v, want %v", name, got, want)
		}
	}
}
