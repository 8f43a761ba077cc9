package lint

import (
	"strings"
	"testing"
)

func TestLoadLintConfig(t *testing.T) {
	e := testLinter(t).Engine // envoy-strict-dns, workload-no-zone-spread among its rules
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"an empty file is the defaults", "", ""},
		{"a full config loads", "failOn: warning\nignore:\n- paths: [vendor/**]\n- rules: [envoy-strict-dns]\n  paths: [examples/**]\nseverity:\n  workload-no-zone-spread: error\n", ""},
		{"an unknown rule is an error, not an ignore that does nothing", "ignore:\n- rules: [envoy-strict-dnz]\n", `unknown rule "envoy-strict-dnz"`},
		{"a bad failOn is an error", "failOn: critical\n", "failOn"},
		{"an entry with neither rules nor paths is an error", "ignore:\n- {}\n", "needs rules, paths or both"},
		{"an unknown field is an error", "ignores: []\n", "unknown field"},
		{"an override of an unknown rule is an error", "severity:\n  nope: info\n", "severity[nope]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig([]byte(tt.yaml), ".inzone.yaml", e)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), ".inzone.yaml") {
				t.Errorf("err = %v, want one naming .inzone.yaml and %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigIgnores(t *testing.T) {
	c, err := LoadConfig([]byte("ignore:\n- paths: [vendor/**]\n- rules: [envoy-strict-dns]\n  paths: [examples/**]\n- rules: [workload-no-zone-spread]\n"), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		rule, file string
		wantFile   bool
		wantRule   bool
	}{
		{"a path-only entry skips the file", "envoy-strict-dns", "vendor/x.yaml", true, false},
		{"a rule with paths is ignored on those paths", "envoy-strict-dns", "examples/a.yaml", false, true},
		{"a rule with paths is reported elsewhere", "envoy-strict-dns", "prod/a.yaml", false, false},
		{"a rule without paths is ignored everywhere", "workload-no-zone-spread", "prod/a.yaml", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.ignoresFile(tt.file); got != tt.wantFile {
				t.Errorf("ignoresFile = %v", got)
			}
			if got := c.ignoresRule(tt.rule, tt.file); got != tt.wantRule {
				t.Errorf("ignoresRule = %v", got)
			}
		})
	}
}
