package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadFlagsAndConfigExit2 checks every refusal happens before anything
// is served, with exit code 2 and a message naming the flag or field.
func TestBadFlagsAndConfigExit2(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(badConfig, []byte("ddsd:\n  env: prod\nxds:\n  minClusterSize: 0\n  minClusterSiz: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rangeConfig := filepath.Join(dir, "range.yaml")
	if err := os.WriteFile(rangeConfig, []byte("xds:\n  minClusterSize: -4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(garbage, []byte("{{{ not yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"--plaintext", "--dns-address=0", "--metrics-bind-address=0", "--health-probe-bind-address=0"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"an unknown flag", []string{"--nope"}, "-nope"},
		{"a stray argument", append(base, "extra"), "unexpected arguments"},
		{"neither TLS nor plaintext", []string{"--dns-address=0"}, "--cert-dir"},
		{"both TLS and plaintext", append(base, "--cert-dir", dir), "--plaintext and --cert-dir"},
		{"ADS turned off", append(base, "--xds-address=0"), "--xds-address"},
		{"no stream allowed", append(base, "--max-streams=0"), "--max-streams 0"},
		{"a stream cap that is not a number", append(base, "--max-streams=lots"), "-max-streams"},
		{"a DNS address that is not host:port", append(base, "--dns-address=8053"), "--dns-address"},
		{"a pprof address that is not host:port", append(base, "--pprof-address=6060"), "--pprof-address"},
		{"a config with a typo names the field and line", append(base, "--config", badConfig), `line 5: unknown field "xds.minClusterSiz"`},
		{"a config value out of range names the field", append(base, "--config", rangeConfig), "xds.minClusterSize"},
		{"a missing config file", append(base, "--config", filepath.Join(dir, "absent.yaml")), "--config"},
		{"a kubeconfig that does not parse", append(base, "--kubeconfig", garbage), "--kubeconfig " + garbage},
		{"a missing kubeconfig", append(base, "--kubeconfig", filepath.Join(dir, "absent")), "--kubeconfig"},
		{"one kubeconfig twice, its endpoints counted twice", append(base, "--kubeconfig", garbage, "--kubeconfig", dir+"/./kubeconfig"), "given twice"},
		{"more clusters than the bound", append(base, manyKubeconfigs(65)...), "at most 64"},
		{"the pod's own cluster, outside a pod", append(base, "--in-cluster"), "--in-cluster"},
	}
	// Outside a pod whatever the machine: client-go reads these first.
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr does not name %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}

func manyKubeconfigs(n int) []string {
	var args []string
	for i := range n {
		args = append(args, fmt.Sprintf("--kubeconfig=/etc/inzone-clusters/c%d/kubeconfig", i))
	}
	return args
}
