package yamldoc

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestLastLineCountsBreaksAsYAMLDoes: the last line is counted as the
// parser counts lines, so an error clamped to it and a finding's line agree.
func TestLastLineCountsBreaksAsYAMLDoes(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want int
	}{
		{"", 1},
		{"a", 1},
		{"a\n\n\n", 1},
		{"a\nb\n", 2},
		{"a\r\nb\r\n", 2},
		{"\r0", 2},
		{"a\rb\rc", 3},
		{"a\u0085b\u2028c\u2029d", 4},
		{"a\n  \n", 2},
	} {
		if got := LastLine([]byte(tt.src)); got != tt.want {
			t.Errorf("LastLine(%q) = %d, want %d", tt.src, got, tt.want)
		}
	}
}

// TestErrorLine: the line a person sees, for the library's parser and
// scanner errors alike, and no further than the last line.
func TestErrorLine(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		line      int
		msg       string
	}{
		{"an unclosed flow sequence, where it starts", "a: 1\nb: 2\nc: 3\nkind: [Service\nd: 4\n", 4, "yaml: line 4: did not find expected ',' or ']'"},
		{"a bad indentation (a scanner error)", "a: 1\n  b: 2\n", 2, "yaml: line 2: mapping values are not allowed in this context"},
		{"a key in a sequence: the sequence, where it starts", "a:\n  - b\n  c: d\n", 2, "yaml: line 2: did not find expected '-' indicator"},
		{"at the end of the stream", "a: [\n", 1, "yaml: line 1: did not find expected node content"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := libraryError([]byte(tt.src))
			if err == nil {
				t.Fatal("the library reads it")
			}
			line, msg := ErrorLine(err, []byte(tt.src))
			if line != tt.line || msg != tt.msg {
				t.Errorf("ErrorLine = %d, %q; want %d, %q", line, msg, tt.line, tt.msg)
			}
		})
	}
	if line, msg := ErrorLine(errors.New("no line"), nil); line != 0 || msg != "no line" {
		t.Errorf("an error without a line: %d, %q", line, msg)
	}
}

func libraryError(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
