package lint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/inzone-io/inzone/internal/yamldoc"
)

// FuzzParseDocuments feeds arbitrary bytes to the YAML loader. It must
// never panic; every document's value must be JSON-encodable (it becomes the
// Rego input); and a position for any path must be inside the file.
func FuzzParseDocuments(f *testing.F) {
	for _, glob := range []string{"testdata/fixtures/*.yaml", "testdata/envoy/*"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("a: &x [1, 2]\nb: *x\nc:\n  <<: {d: 1}\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod}\n"))
	f.Add([]byte("---\n---\n{}\n"))
	f.Add([]byte("a: &a {<<: *a}\nb: &b [*b]\n"))
	f.Add([]byte("x: !!binary aGVsbG8=\ny: 2001-12-14t21:59:43.10-05:00\nz: .inf\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _ := ParseDocuments("f.yaml", data)
		lines := yamldoc.LastLine(data)
		for _, d := range docs {
			v, err := d.Decode()
			if err != nil {
				continue // an alias bomb or nesting too deep: refused, not decoded
			}
			if _, err := json.Marshal(v); err != nil {
				t.Fatalf("value not JSON-encodable: %v", err)
			}
			for _, p := range [][]any{nil, {"metadata", "name"}, {"spec", 0, "x"}, {"items", 1}} {
				pos := d.Locate(p)
				if pos.Line < 0 || pos.Line > lines {
					t.Fatalf("Locate(%v) = line %d outside a %d-line file", p, pos.Line, lines)
				}
			}
		}
	})
}
