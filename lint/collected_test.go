package lint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inzone-io/inzone/lint/file"
	"github.com/inzone-io/inzone/lint/rego"
	"github.com/inzone-io/inzone/lint/source"
)

// What package source renders and builds reaches the rules.
func TestRenderedSourcesAreLinted(t *testing.T) {
	fsys := os.DirFS("source/testdata/sources")
	l := testLinter(t)
	t.Run("chart values reach the rules", func(t *testing.T) {
		files, _ := source.Collect(fsys, []string{"chart"}, source.Options{})
		rep := l.Lint(context.Background(), files)
		if !hasFinding(rep, "external-traffic-policy-cluster", "Service inzone-lint-web") ||
			!hasFinding(rep, "workload-no-zone-spread", "3 replicas") {
			t.Errorf("findings: %+v", rep.Findings)
		}
		files, _ = source.Collect(fsys, []string{"chart"}, source.Options{Values: []byte("replicas: 1\nservice: {type: ClusterIP}\n"), ReleaseName: "r"})
		rep = l.Lint(context.Background(), files)
		if len(rep.Findings) != 0 {
			t.Errorf("with values making it clean: %+v", rep.Findings)
		}
	})
	t.Run("the overlay's patch and namespace reach the rules", func(t *testing.T) {
		files, _ := source.Collect(fsys, []string{"kustomize/overlay"}, source.Options{})
		rep := l.Lint(context.Background(), files)
		if !hasFinding(rep, "external-traffic-policy-cluster", "Service prod/api") {
			t.Errorf("findings: %+v", rep.Findings)
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

const hostileService = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"

// TestLintOversizedFile: a file over source's size cap is an error naming
// it, and the rest is linted.
func TestLintOversizedFile(t *testing.T) {
	d := t.TempDir()
	for name, data := range map[string]string{
		"small.yaml": hostileService,
		"big.yaml":   hostileService + strings.Repeat("# padding\n", 200),
	} {
		if err := os.WriteFile(filepath.Join(d, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, errs := source.Collect(os.DirFS(d), []string{"."}, source.Options{MaxFileSize: 1000})
	if len(files) != 2 || len(errs) != 0 {
		t.Fatalf("files %d, errors %+v", len(files), errs)
	}
	rep := (&Linter{Engine: testEngine(t)}).Lint(t.Context(), files)
	if len(rep.Errors) != 1 || rep.Errors[0].File != "big.yaml" {
		t.Errorf("errors %+v", rep.Errors)
	}
}

// TestLintWorkerPanic: a panic while linting a file reaches Lint's caller,
// who can recover it, rather than ending the process from a worker.
func TestLintWorkerPanic(t *testing.T) {
	files := []file.File{{Path: "a.yaml", Data: []byte(hostileService)}, {Path: "boom.yaml", Load: func() ([]byte, error) { panic("boom") }}}
	defer func() {
		r := recover()
		p, ok := r.(*workerPanic)
		if !ok || p.value != "boom" {
			t.Errorf("recovered %v, want the worker's panic", r)
		}
	}()
	(&Linter{Engine: testEngine(t), Workers: 2}).Lint(t.Context(), files)
	t.Error("no panic")
}

// testEngine is the shipped policies' engine.
func testEngine(t *testing.T) *rego.Engine {
	t.Helper()
	e, err := rego.New(t.Context(), testEngineOptions())
	if err != nil {
		t.Fatal(err)
	}
	return e
}
