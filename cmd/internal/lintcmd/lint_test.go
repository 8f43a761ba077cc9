package lintcmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inzone-io/inzone/cmd/internal/cli"
	"github.com/inzone-io/inzone/cmd/internal/cli/clitest"
)

// runInzone runs `inzone args...`, as the binary does.
func runInzone(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return clitest.Run(t, NewCommand, stdin, args...)
}

const lbService = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  trafficDistribution: PreferSameZone
  selector: {app: web}
  ports: [{port: 80}]
`

const cleanService = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: ClusterIP
  trafficDistribution: PreferSameZone
  selector: {app: web}
  ports: [{port: 80}]
`

func TestLintExitCodes(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	write := func(name, content string) {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("clean/svc.yaml", cleanService)
	write("dirty/svc.yaml", lbService)
	write("broken/svc.yaml", "kind: [\n")
	write("info/svc.yaml", strings.Replace(cleanService, "  trafficDistribution: PreferSameZone\n", "", 1))

	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"a clean directory exits 0", "", []string{"lint", "clean"}, 0, ""},
		{"an error finding exits 1", "", []string{"lint", "dirty"}, 1, "dirty/svc.yaml:4:1: error [external-traffic-policy-cluster] Service shop/web"},
		{"a finding below --fail-on exits 0", "", []string{"lint", "--fail-on", "error", "info"}, 0, "[service-no-topology-aware-routing]"},
		{"a finding at --fail-on exits 1", "", []string{"lint", "--fail-on", "info", "info"}, 1, "[service-no-topology-aware-routing]"},
		{"a file that does not parse exits 2 and the rest is still linted", "", []string{"lint", "broken", "dirty"}, 2, "broken/svc.yaml:1:1: error: yaml"},
		{"stdin is read for -", lbService, []string{"lint", "-"}, 1, "<stdin>:4:1: error [external-traffic-policy-cluster]"},
		{"a missing path exits 2", "", []string{"lint", "nope"}, 2, ""},
		{"an unknown format exits 2", "", []string{"lint", "--format", "xml", "clean"}, 2, ""},
		{"a bad --fail-on exits 2", "", []string{"lint", "--fail-on", "fatal", "clean"}, 2, ""},
		{"a custom policy adds its rule", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: 'x:latest'}\n",
			[]string{"lint", "--fail-on", "warning", "--policy", policyDir(t), "-"}, 1, "<stdin>:6:15: warning [custom-no-latest] Pod p: container a uses the latest tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runInzone(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			if tt.wantOut != "" && !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, out)
			}
		})
	}

	t.Run(".inzone.yaml in the working directory is read", func(t *testing.T) {
		write(".inzone.yaml", "ignore:\n- rules: [external-traffic-policy-cluster]\n  paths: [dirty/**]\n")
		defer os.Remove(".inzone.yaml")
		if code, out, _ := runInzone(t, "", "lint", "dirty"); code != 0 {
			t.Errorf("exit %d with the rule ignored on dirty/**:\n%s", code, out)
		}
	})
	t.Run("a bad .inzone.yaml exits 2 naming it", func(t *testing.T) {
		write(".inzone.yaml", "ignore:\n- rules: [no-such-rule]\n")
		defer os.Remove(".inzone.yaml")
		code, _, errOut := runInzone(t, "", "lint", "clean")
		if code != 2 || !strings.Contains(errOut, ".inzone.yaml") || !strings.Contains(errOut, "no-such-rule") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("json output has findings and errors", func(t *testing.T) {
		_, out, _ := runInzone(t, "", "lint", "-o", "json", "dirty", "broken")
		var rep struct {
			Findings []map[string]any `json:"findings"`
			Errors   []map[string]any `json:"errors"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if len(rep.Findings) == 0 || len(rep.Errors) != 1 {
			t.Errorf("findings %d, errors %d", len(rep.Findings), len(rep.Errors))
		}
		obj, _ := rep.Findings[0]["object"].(map[string]any)
		if obj["kind"] != "Service" || obj["namespace"] != "shop" || rep.Findings[0]["line"] == nil {
			t.Errorf("finding lacks its object or line: %v", rep.Findings[0])
		}
	})
}

func TestLintVerify(t *testing.T) {
	code, out, errOut := runInzone(t, "", "lint", "verify", "--policy", policyDir(t))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "PASS data.inzone.rules.custom_no_latest_test.test_flags_latest") || !strings.Contains(out, " 0 failed") {
		t.Errorf("verify output:\n%s", out)
	}
}

func TestLintRules(t *testing.T) {
	_, out, _ := runInzone(t, "", "lint", "rules")
	for _, id := range []string{"external-traffic-policy-cluster", "envoy-strict-dns", "envoy-invalid-config"} {
		if !strings.Contains(out, id) {
			t.Errorf("rules list lacks %s", id)
		}
	}
}

// packageDir is where go test started; tests that chdir still find testdata.
var packageDir, _ = os.Getwd()

func policyDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(packageDir, "testdata", "policy")
}

// TestLintPolicyThatDoesNotCompile: the files are linted while the policies
// compile; a policy that does not compile is the one error reported, with
// no report.
func TestLintPolicyThatDoesNotCompile(t *testing.T) {
	dir := t.TempDir()
	rule := "# METADATA\n# title: broken\n# scope: package\n# custom:\n#   id: broken\n#   severity: error\n#   kinds: [Service]\n#   remediation: none\n" +
		"package inzone.rules.broken\n\nviolation contains {\"msg\": no_such_function(input), \"path\": []}\n"
	if err := os.WriteFile(filepath.Join(dir, "broken.rego"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runInzone(t, lbService, "lint", "-o", "json", "--policy", dir, "-")
	if code != cli.ExitUsage || out != "" || !strings.Contains(errOut, "compiling policies") || !strings.Contains(errOut, "no_such_function") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2, no report, the compile error", code, out, errOut)
	}
}
