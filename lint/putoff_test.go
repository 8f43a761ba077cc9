package lint

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inzone-io/inzone/lint/file"
	"github.com/inzone-io/inzone/lint/rego"
	"github.com/inzone-io/inzone/lint/source"
	"github.com/inzone-io/inzone/test/shared"
)

// heldLinter is testLinter with its policies' compile held back until
// release is called.
func heldLinter(t *testing.T) (l *Linter, release func()) {
	t.Helper()
	gate := make(chan struct{})
	opts := testEngineOptions()
	opts.HoldCompile = gate
	e, err := rego.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-gate:
		default:
			close(gate) // let the compile end with the test
		}
	})
	return &Linter{Engine: e, Config: &Config{}}, func() { close(gate) }
}

// TestLintFilePutsOffUntilCompiled: while the policies compile, lintFile
// parses a file and puts its documents off, its parse error last; linted
// afterwards they give what linting them at once gives.
func TestLintFilePutsOffUntilCompiled(t *testing.T) {
	f := file.File{Path: "broken.yaml", Data: []byte(`apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  selector:
    app: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: web
---
apiVersion: v1
kind: [Service
`)}
	l := testLinter(t)
	now := &fileLinter{engine: l.Engine, cfg: l.Config}
	now.lintFile(context.Background(), f)
	if len(now.findings) == 0 || len(now.errs) != 1 {
		t.Fatalf("fixture changed: want findings and one error, got %d findings, errors %+v", len(now.findings), now.errs)
	}

	held, release := heldLinter(t)
	later := &fileLinter{engine: held.Engine, cfg: held.Config, mayPutOff: true}
	later.lintFile(context.Background(), f)
	if len(later.putOff) == 0 || later.docs != now.docs {
		t.Errorf("put off %d of %d documents (%d parsed), want all", len(later.putOff), now.docs, later.docs)
	}
	if len(later.findings) != 0 || len(later.errs) != 0 || later.tail == nil {
		t.Errorf("before the compile: %d findings, errors %+v, parse error kept back %v; want none, none, kept", len(later.findings), later.errs, later.tail != nil)
	}
	release()
	later.lintPutOff(context.Background())
	assertSameJSON(t, "findings", later.findings, now.findings)
	assertSameJSON(t, "errors", later.errs, now.errs)
}

// TestLintPutsOffUntilCompiled lints while the policies are held back: a
// worker puts off the documents of file after file, reading each into the
// buffer the last was read into (the documents keep no bytes of it), and
// lints them once the policies are ready. The report is the one a compiled
// engine gives.
func TestLintPutsOffUntilCompiled(t *testing.T) {
	for _, src := range []struct {
		name  string
		fsys  func(t *testing.T) string
		paths []string
	}{
		{"fixtures", func(*testing.T) string { return "testdata" }, []string{"fixtures", "envoy"}},
		{"corpus", func(t *testing.T) string { return filepath.Join(shared.Dir(t), "corpus") }, []string{"k8s", "envoy"}},
	} {
		t.Run(src.name, func(t *testing.T) {
			files, errs := source.Collect(os.DirFS(src.fsys(t)), src.paths, source.Options{})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			want := testLinter(t)
			want.Workers = 1
			wantRep := want.Lint(context.Background(), files)

			l, release := heldLinter(t)
			l.Workers = 1
			// Released a while later: the worker has put off what it
			// parsed by then, and waits for the rest.
			timer := time.AfterFunc(100*time.Millisecond, release)
			defer timer.Stop()
			got := l.Lint(context.Background(), files)
			assertSameJSON(t, "report", got, wantRep)
		})
	}
}

func assertSameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s differ:\ngot  %s\nwant %s", what, g, w)
	}
}
