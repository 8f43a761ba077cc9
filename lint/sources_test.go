package lint

import (
	"context"
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
		opts      SourceOptions
		wantFiles []string
	}{
		{"a directory is walked for YAML and JSON only", []string{"plain"}, SourceOptions{}, []string{"plain/svc.yaml", "plain/vendor/ignored.yaml"}},
		{"an ignore glob leaves a directory out", []string{"plain"}, SourceOptions{Ignore: []string{"**/vendor/**"}}, []string{"plain/svc.yaml"}},
		{"a Helm chart is rendered, one file per template, NOTES.txt left out", []string{"chart"}, SourceOptions{}, []string{"chart/templates/deployment.yaml", "chart/templates/service.yaml"}},
		{"a kustomize overlay is built, reaching its base", []string{"kustomize/overlay"}, SourceOptions{}, []string{"kustomize/overlay/kustomization.yaml"}},
		{"a file named directly is read", []string{"plain/svc.yaml"}, SourceOptions{}, []string{"plain/svc.yaml"}},
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

func TestRenderedSourcesAreLinted(t *testing.T) {
	fsys := os.DirFS("testdata/sources")
	l := testLinter(t)
	t.Run("chart values reach the rules", func(t *testing.T) {
		files, _ := Collect(fsys, []string{"chart"}, SourceOptions{})
		rep := l.Lint(context.Background(), files)
		if !hasFinding(rep, "external-traffic-policy-cluster", "Service inzone-lint-web") ||
			!hasFinding(rep, "workload-no-zone-spread", "3 replicas") {
			t.Errorf("findings: %+v", rep.Findings)
		}
		files, _ = Collect(fsys, []string{"chart"}, SourceOptions{Values: []byte("replicas: 1\nservice: {type: ClusterIP}\n"), ReleaseName: "r"})
		rep = l.Lint(context.Background(), files)
		if len(rep.Findings) != 0 {
			t.Errorf("with values making it clean: %+v", rep.Findings)
		}
	})
	t.Run("the overlay's patch and namespace reach the rules", func(t *testing.T) {
		files, _ := Collect(fsys, []string{"kustomize/overlay"}, SourceOptions{})
		rep := l.Lint(context.Background(), files)
		if !hasFinding(rep, "external-traffic-policy-cluster", "Service prod/api") {
			t.Errorf("findings: %+v", rep.Findings)
		}
	})
	t.Run("a chart that does not render is an error naming it", func(t *testing.T) {
		_, errs := Collect(fsys, []string{"chart"}, SourceOptions{Values: []byte("service: [not, a, map]\n")})
		if len(errs) != 1 || errs[0].File != "chart" {
			t.Errorf("errors = %+v", errs)
		}
	})
	t.Run("a missing path is an error, and the others are still read", func(t *testing.T) {
		files, errs := Collect(fsys, []string{"nope", "plain/svc.yaml"}, SourceOptions{})
		if len(errs) != 1 || errs[0].File != "nope" || len(files) != 1 {
			t.Errorf("files %v, errors %+v", files, errs)
		}
	})
}

func hasFinding(rep *Report, rule, inMessage string) bool {
	for _, f := range rep.Findings {
		if f.Rule == rule && strings.Contains(f.Message, inMessage) {
			return true
		}
	}
	return false
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
		files, errs := Collect(os.DirFS(dir), []string{"."}, SourceOptions{Ignore: []string{"d5/**"}})
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
			files, errs := Collect(g, []string{"overlay"}, SourceOptions{})
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
			files, errs := Collect(fsys, []string{tt.dir}, SourceOptions{})
			if len(errs) > 0 {
				t.Fatalf("errors: %+v", errs)
			}
			if len(files) != 1 || files[0].Path != tt.want || !strings.Contains(string(files[0].Data), "namespace: prod") {
				t.Errorf("files %+v", files)
			}
		})
	}
}
