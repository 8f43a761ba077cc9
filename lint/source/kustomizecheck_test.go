package source

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

// TestKustomizeRemoteOff: a kustomization naming a remote resource is an
// error naming it, and no request is made, unless AllowRemote.
func TestKustomizeRemoteOff(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, hostileService)
	}))
	defer srv.Close()
	url := srv.URL + "/svc.yaml"
	for _, tc := range []struct {
		name, kust string
	}{
		{"resources", "resources:\n- " + url + "\n"},
		{"in a base the overlay reaches", "resources:\n- base\n"},
		{"a patch path", "resources: []\npatches:\n- path: " + url + "\n"},
		{"a configMapGenerator file", "configMapGenerator:\n- name: c\n  files:\n  - key=" + url + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"k/kustomization.yaml":      {Data: []byte(tc.kust)},
				"k/base/kustomization.yaml": {Data: []byte("resources:\n- " + url + "\n")},
			}
			hits.Store(0)
			files, errs := Collect(fsys, []string{"k"}, Options{})
			if len(files) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Message, "is a remote resource, which lint does not fetch (--allow-remote fetches it)") || !strings.Contains(errs[0].Message, url) {
				t.Errorf("files %d, errors %+v", len(files), errs)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("%d requests made", n)
			}
		})
	}
	t.Run("allowed", func(t *testing.T) {
		fsys := fstest.MapFS{"k/kustomization.yaml": {Data: []byte("resources:\n- " + url + "\n")}}
		hits.Store(0)
		files, errs := Collect(fsys, []string{"k"}, Options{AllowRemote: true})
		if len(errs) != 0 || len(files) != 1 || !strings.Contains(string(files[0].Data), "kind: Service") {
			t.Errorf("files %+v, errors %+v", files, errs)
		}
		if hits.Load() == 0 {
			t.Error("no request made with AllowRemote: the test server is not what kustomize reaches")
		}
	})
}

// TestKustomizeGitOff: a git URL runs no git unless AllowRemote (PATH holds
// a git that records its calls).
func TestKustomizeGitOff(t *testing.T) {
	bin := t.TempDir()
	calls := filepath.Join(t.TempDir(), "calls")
	script := "#!/bin/sh\necho \"$@\" >> " + calls + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	for _, tc := range []struct {
		ref    string
		allow  bool
		called bool
	}{
		{"https://github.com/example/repo//deploy?ref=v1", false, false},
		{"github.com/example/repo/deploy", false, false},
		{"git@github.com:example/repo.git/deploy", false, false},
		{"git::ssh://git@example.com/repo.git", false, false},
		{"file:///srv/repo.git", false, false},
		{"https://github.com/example/repo//deploy?ref=v1", true, true},
	} {
		t.Run(fmt.Sprintf("%s allow=%v", tc.ref, tc.allow), func(t *testing.T) {
			os.Remove(calls)
			fsys := fstest.MapFS{"k/kustomization.yaml": {Data: []byte("resources:\n- " + tc.ref + "\n")}}
			_, errs := Collect(fsys, []string{"k"}, Options{AllowRemote: tc.allow})
			if len(errs) != 1 {
				t.Fatalf("errors %+v", errs)
			}
			if !tc.allow && !strings.Contains(errs[0].Message, "is a remote resource") {
				t.Errorf("error %q", errs[0].Message)
			}
			_, err := os.Stat(calls)
			if called := err == nil; called != tc.called {
				data, _ := os.ReadFile(calls)
				t.Errorf("git called: %v (%q), want %v", called, data, tc.called)
			}
		})
	}
}

func TestIsRemote(t *testing.T) {
	for s, want := range map[string]bool{
		"base":                       false,
		"../base":                    false,
		"deploy@v2.yaml":             false,
		"svc.yaml":                   false,
		"https://example.com/x":      true,
		"HTTP://example.com/x":       true,
		"git::https://x.com/r":       true,
		"github.com/org/repo":        true,
		"GitHub.com:org/repo":        true,
		"git@gitlab.com:org/r":       true,
		"user-1@host.example/r":      true,
		"kind: Service\nx: http://a": false, // an inline patch
	} {
		if got := isRemote(s); got != want {
			t.Errorf("isRemote(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestKustomizeAliasBomb: a file a kustomization reaches that expands to
// too many values is refused before kustomize parses it.
func TestKustomizeAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  a0: &a0 [lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 10), ","))
	}
	for _, kust := range []string{"resources:\n- bomb.yaml\n", "resources:\n- base\n"} {
		fsys := fstest.MapFS{
			"k/kustomization.yaml":      {Data: []byte(kust)},
			"k/bomb.yaml":               {Data: []byte(b.String())},
			"k/base/kustomization.yaml": {Data: []byte("resources:\n- bomb.yaml\n")},
			"k/base/bomb.yaml":          {Data: []byte(b.String())},
		}
		files, errs := Collect(fsys, []string{"k"}, Options{})
		if len(files) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Message, "bomb.yaml: document expands to too many values through aliases") {
			t.Errorf("%q: files %d, errors %+v", kust, len(files), errs)
		}
	}
	// The kustomization file itself.
	fsys := fstest.MapFS{"k/kustomization.yaml": {Data: []byte(b.String() + "resources: []\n")}}
	if _, errs := Collect(fsys, []string{"k"}, Options{}); len(errs) != 1 || !strings.Contains(errs[0].Message, "too many values") {
		t.Errorf("errors %+v", errs)
	}
}

// TestHelmRenderTimeout: a template that loops millions of times is
// stopped at RenderTimeout with an error naming the chart.
func TestHelmRenderTimeout(t *testing.T) {
	fsys := fstest.MapFS{
		"c/Chart.yaml":           {Data: []byte("apiVersion: v2\nname: c\nversion: 0.1.0\n")},
		"c/templates/loop.yaml":  {Data: []byte("{{- range until 2000 }}{{ range until 2000 }}{{ end }}{{ end }}\n")},
		"c/templates/other.yaml": {Data: []byte(hostileService)},
	}
	files, errs := Collect(fsys, []string{"c"}, Options{RenderTimeout: 50e6})
	if len(files) != 0 || len(errs) != 1 || errs[0].File != "c" || !strings.Contains(errs[0].Message, "rendering took longer than 50ms (--render-timeout)") {
		t.Errorf("files %d, errors %+v", len(files), errs)
	}
}
