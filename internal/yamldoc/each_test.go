package yamldoc

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestEach: positions count from the stream's start on every path (built,
// skipped, the library's), documents are counted in the stream, errors
// name the stream's line, and each document is its own, as the YAML spec
// has it.
func TestEach(t *testing.T) {
	for _, tt := range []struct {
		name    string
		in      string
		want    []string // "index:line:column kind" of each document's root and its last node
		wantErr string
	}{
		{"built, skipped and parsed, at their lines",
			"a: 1\n---\n# c\nkind: Secret\nx: y\n---\nb: [1, 2]\n---\n\n  c: &x 3\n",
			[]string{"0:1:1 a=1", "1:4:1 kind=Secret", "2:7:1 b=2", "3:10:3 c=3"}, ""},
		{"empty documents are counted", "---\n---\na: 1\n", []string{"0:2:1 !!null", "1:3:1 a=1"}, ""},
		{"an error names the stream's line (0-based for the parser's, as the library has it)", "a: 1\n---\nb: 2\n---\nc: [\n", []string{"0:1:1 a=1", "1:3:1 b=2"}, "yaml: line 5: did not find expected node content"},
		{"an alias to an earlier document's anchor is unknown", "a: &x 1\n---\nb: *x\n", []string{"0:1:1 a=1"}, "unknown anchor 'x'"},
		{"a bare document after ...", "a: 1\n...\nb: 2\n", []string{"0:1:1 a=1", "1:3:1 b=2"}, ""},
		{"a stream left whole", "%TAG !e! tag:example.com,2000:\n---\na: 1\n---\nb: 2\n", []string{"0:3:1 a=1", "1:5:1 b=2"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := Each([]byte(tt.in), skipSecrets, func(root *yaml.Node, i int) {
				last := root
				for len(last.Content) > 0 {
					last = last.Content[len(last.Content)-1]
				}
				desc := root.Tag
				if root.Kind == yaml.MappingNode {
					desc = root.Content[0].Value + "=" + last.Value
				}
				got = append(got, fmt.Sprintf("%d:%d:%d %s", i, root.Line, root.Column, desc))
			})
			if !slices.Equal(got, tt.want) {
				t.Errorf("documents %q, want %q", got, tt.want)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}
