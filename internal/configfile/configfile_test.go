package configfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inzone-io/inzone/mutate"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		wantEnv string // ddsd.env of the loaded config
		wantErr string
	}{
		{"no path is the built-in default", "", mutate.DefaultDDSDEnv, ""},
		{"a file is defaulted and validated", write("ok.yaml", "ddsd:\n  env: staging\n"), "staging", ""},
		{"a bad field names its line", write("bad.yaml", "ddsd:\n  env: staging\n  nope: 1\n"), "", `line 3: unknown field "ddsd.nope"`},
		{"a device is refused, not read", "/dev/zero", "", "not a regular file"},
		{"a huge file is refused", write("huge.yaml", "#"+strings.Repeat("x", MaxBytes)), "", "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DDSD.Env != tt.wantEnv {
				t.Errorf("ddsd.env %q, want %q", cfg.DDSD.Env, tt.wantEnv)
			}
		})
	}
}
