package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfigStopsAtStart checks that a config that does not validate
// stops the process before it reads a kubeconfig or serves anything.
func TestBadConfigStopsAtStart(t *testing.T) {
	tests := []struct {
		name, config string
		want         []string
	}{
		{"an invalid value names file, line and field", "sidecar:\n  logLevel: loud\n", []string{"inzone.yaml", "line 2", "sidecar.logLevel"}},
		{"an unknown field names file, line and path", "spread:\n  maxskew: 2\n", []string{"inzone.yaml", "line 2", "spread.maxskew"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "inzone.yaml")
			if err := os.WriteFile(path, []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			// No kubeconfig anywhere: reaching it would be a different error.
			t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
			var stderr bytes.Buffer
			if code := run([]string{"--config", path}, &stderr); code != 2 {
				t.Fatalf("exit code %d, want 2; stderr:\n%s", code, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
	t.Run("a missing config file is an error, not the defaults", func(t *testing.T) {
		var stderr bytes.Buffer
		if code := run([]string{"--config", filepath.Join(t.TempDir(), "absent.yaml")}, &stderr); code != 2 {
			t.Fatalf("exit code %d, want 2", code)
		}
	})
	t.Run("an unknown flag is a usage error", func(t *testing.T) {
		var stderr bytes.Buffer
		if code := run([]string{"--no-such-flag"}, &stderr); code != 2 {
			t.Fatalf("exit code %d, want 2", code)
		}
	})
}

// TestBadCertFlagsStopAtStart checks that self-managed certificate flags
// that cannot work stop the process with a message naming the flag.
func TestBadCertFlagsStopAtStart(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a secret without namespace", []string{"--cert-secret", "inzone-cert", "--cert-dns-names", "a.b.svc"}, "want NAMESPACE/NAME"},
		{"no DNS name", []string{"--cert-secret", "inzone-system/inzone-cert"}, "DNS name"},
		{"no webhook configuration", []string{"--cert-secret", "inzone-system/inzone-cert", "--cert-dns-names", "a.b.svc", "--webhook-configuration", ""}, "MutatingWebhookConfiguration"},
		{"renewal not before expiry", []string{"--cert-secret", "inzone-system/inzone-cert", "--cert-dns-names", "a.b.svc", "--cert-validity", "1h", "--cert-renew-before", "2h"}, "renew-before (2h0m0s) must be shorter than the validity (1h0m0s)"},
		{"a stray argument", []string{"serve"}, "unexpected arguments"},
		{"a zero review size", []string{"--max-review-bytes", "0"}, "--max-review-bytes"},
		{"an in-flight budget below one review", []string{"--max-review-bytes", "4096", "--max-inflight-bytes", "1024"}, "--max-inflight-bytes"},
		{"a negative in-flight count", []string{"--max-inflight", "-1"}, "--max-inflight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
			var stderr bytes.Buffer
			if code := run(tt.args, &stderr); code != 2 {
				t.Fatalf("exit code %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}
