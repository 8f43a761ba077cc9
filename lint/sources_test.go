package lint

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
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
