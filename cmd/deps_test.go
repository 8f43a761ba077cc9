// Package cmd holds no code: its test keeps each binary from linking what
// it does not use, by the rules in TestBinaryDependencies.
package cmd

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryDependencies lists each binary's packages with `go list -deps`
// and fails, naming the import chain, on one under a forbidden prefix:
// the plugin links no Helm or kustomize (they render charts for `inzone
// lint` only), and the servers link no linter.
func TestBinaryDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to list the binaries' packages")
	}
	renderers := []string{"helm.sh/", "sigs.k8s.io/kustomize/"}
	linter := append([]string{"github.com/open-policy-agent/opa/"}, renderers...)
	for _, tt := range []struct {
		binary    string
		forbidden []string
	}{
		{"kubectl-inzone", renderers},
		{"inzone-webhook", linter},
		{"inzone-xds", linter},
		{"inzone-cni", linter},
	} {
		t.Run(tt.binary, func(t *testing.T) {
			root := "github.com/inzone-io/inzone/cmd/" + tt.binary
			prev := importedBy(listImports(t, goTool, "./"+tt.binary), root)
			for _, prefix := range tt.forbidden {
				var nearest []string
				n := 0
				for pkg := range prev {
					if strings.HasPrefix(pkg, prefix) {
						n++
						if chain := chainTo(prev, pkg); nearest == nil || len(chain) < len(nearest) || len(chain) == len(nearest) && pkg < nearest[len(nearest)-1] {
							nearest = chain
						}
					}
				}
				if n > 0 {
					t.Errorf("%s links %d packages under %s; the nearest: %s", tt.binary, n, prefix, strings.Join(nearest, " -> "))
				}
			}
		})
	}
}

// listImports is `go list -deps pattern` as a map from each package to
// the packages it imports. GOPROXY=off: nothing is fetched.
func listImports(t *testing.T, goTool, pattern string) map[string][]string {
	t.Helper()
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", pattern)
	cmd.Env = append(os.Environ(), "GOPROXY=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pattern, err, stderr.String())
	}
	imports := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			imports[f[0]] = f[1:]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return imports
}

// importedBy walks the imports from root breadth first and maps each
// package reached to the one it was first reached from (root to "").
func importedBy(imports map[string][]string, root string) map[string]string {
	prev := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		for _, next := range imports[pkg] {
			if _, seen := prev[next]; !seen {
				prev[next] = pkg
				queue = append(queue, next)
			}
		}
	}
	return prev
}

// chainTo is the shortest chain of imports from the root of prev to pkg.
func chainTo(prev map[string]string, pkg string) []string {
	var chain []string
	for p := pkg; p != ""; p = prev[p] {
		chain = append([]string{p}, chain...)
	}
	return chain
}
