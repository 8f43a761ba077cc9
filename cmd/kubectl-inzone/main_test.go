package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/inzone-io/inzone/cmd/internal/cli"
)

func TestPluginCommandUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"audit", "-o", "xml"}, cli.Streams{Out: &out, Err: &errOut})
	if code != cli.ExitUsage || !strings.Contains(errOut.String(), "--output") {
		t.Errorf("code %d, stderr %q", code, errOut.String())
	}
	out.Reset()
	if code := run([]string{"audit", "--help"}, cli.Streams{Out: &out, Err: &errOut}); code != cli.ExitOK {
		t.Errorf("--help: code %d", code)
	}
	for _, flag := range []string{"--kubeconfig", "--context", "--namespace", "--all-namespaces", "--output", "--timeout"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("help lacks %s", flag)
		}
	}
}

// TestPluginTree: the plugin serves audit only, under kubectl's name.
func TestPluginTree(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"help names the command as kubectl runs it", []string{"audit", "--help"}, cli.ExitOK, "kubectl inzone audit [flags]"},
		{"lint is inzone's, not the plugin's", []string{"lint"}, cli.ExitUsage, `kubectl inzone: unknown command "lint"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(tt.args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &out}); code != tt.wantCode || !strings.Contains(out.String(), tt.want) {
				t.Errorf("exit %d, want %d and %q in:\n%s", code, tt.wantCode, tt.want, out.String())
			}
		})
	}
}
