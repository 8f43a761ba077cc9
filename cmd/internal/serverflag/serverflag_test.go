package serverflag

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		wantOK bool
		want   string // in the output
	}{
		{"flags parse", []string{"--port", "9443", "--zap-log-level", "debug"}, true, ""},
		{"an unknown flag is refused", []string{"--nope"}, false, "-nope"},
		{"a stray argument is refused", []string{"--port", "1", "serve"}, false, `unexpected arguments: ["serve"]`},
		{"a bad logging flag is refused", []string{"--zap-log-level", "loud;reboot"}, false, "zap-log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			fs := flag.NewFlagSet("server", flag.ContinueOnError)
			fs.SetOutput(&out)
			port := fs.Int("port", 0, "")
			logging, ok := Parse(fs, tt.args)
			if ok != tt.wantOK || !strings.Contains(out.String(), tt.want) {
				t.Fatalf("ok %v, want %v and %q in:\n%s", ok, tt.wantOK, tt.want, out.String())
			}
			if ok && (*port != 9443 || logging.Level == nil) {
				t.Errorf("port %d, log level %v: the flags were not bound", *port, logging.Level)
			}
		})
	}
}
