package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/inzone-io/inzone/cmd/internal/cli"
)

// TestCommandTree: inzone wires each of its commands, and not the
// plugin's audit.
func TestCommandTree(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"lint", "--help"}, cli.ExitOK, "inzone lint [PATH ...]"},
		{[]string{"lint", "rules", "--help"}, cli.ExitOK, "inzone lint rules"},
		{[]string{"lint", "verify", "--help"}, cli.ExitOK, "inzone lint verify"},
		{[]string{"inject", "--help"}, cli.ExitOK, "inzone inject -f FILE|DIR|-"},
		{[]string{"simulate", "--help"}, cli.ExitOK, "inzone simulate"},
		{[]string{"capture", "init", "--help"}, cli.ExitOK, "inzone capture init"},
		{[]string{"audit"}, cli.ExitUsage, `inzone: unknown command "audit"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			if code := run(tt.args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &out}); code != tt.wantCode || !strings.Contains(out.String(), tt.want) {
				t.Errorf("exit %d, want %d and %q in:\n%s", code, tt.wantCode, tt.want, out.String())
			}
		})
	}
}
