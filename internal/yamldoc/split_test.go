package yamldoc

import (
	"fmt"
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want []string // "line:text" of each segment
	}{
		{"one document", "a: 1\n", []string{"0:a: 1\n"}},
		{"documents at their --- lines", "a: 1\n---\nb: 2\n--- # c\nc: 3", []string{"0:a: 1\n", "1:---\nb: 2\n", "3:--- # c\nc: 3"}},
		{"comments before the first ---", "# x\n---\na: 1\n", []string{"0:# x\n", "1:---\na: 1\n"}},
		{"an end marker ends one", "a: 1\n...\nb: 2\n", []string{"0:a: 1\n...\n", "2:b: 2\n"}},
		{"--- inside a block scalar ends it", "a: |\n  x\n---\nb: 2\n", []string{"0:a: |\n  x\n", "2:---\nb: 2\n"}},
		{"not markers", "a: ---\n----\n ---\n---x\n", []string{"0:a: ---\n----\n ---\n---x\n"}},
		{"CR LF", "a: 1\r\n---\r\nb: 2\r\n", []string{"0:a: 1\r\n", "1:---\r\nb: 2\r\n"}},
		{"a lone CR is left whole", "a: 1\r---\nb: 2\n", []string{"0:a: 1\r---\nb: 2\n"}},
		{"NEL is left whole", "a: \u0085\n---\nb: 2\n", []string{"0:a: \u0085\n---\nb: 2\n"}},
		{"directives are left whole", "%YAML 1.2\n---\na: 1\n---\nb: 2\n", []string{"0:%YAML 1.2\n---\na: 1\n---\nb: 2\n"}},
		{"a directive later is left whole", "a: 1\n...\n%YAML 1.2\n---\nb: 2\n", []string{"0:a: 1\n...\n%YAML 1.2\n---\nb: 2\n"}},
		{"markers with comments, an end, a line that is none", "# a\n---\nx: 1\n--- # b\ny: 2\n...\n# c\n---x: not a marker\n---\n",
			[]string{"0:# a\n", "1:---\nx: 1\n", "3:--- # b\ny: 2\n...\n", "6:# c\n---x: not a marker\n", "8:---\n"}},
		{"empty", "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var joined []byte
			for _, s := range Split([]byte(tt.in)) {
				got = append(got, fmt.Sprintf("%d:%s", s.Line, s.Text))
				joined = append(joined, s.Text...)
			}
			if string(joined) != tt.in {
				t.Errorf("segments join into %q", joined)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("split:\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestSplitAtMarkers cuts what Split leaves whole, and joins back.
func TestSplitAtMarkers(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want []string
	}{
		{"directives stand apart", "%YAML 1.2\n---\na: 1\n---\nb: 2\n", []string{"0:%YAML 1.2\n", "1:---\na: 1\n", "3:---\nb: 2\n"}},
		{"a lone CR is no line", "a: 1\r---\nb: 2\n---\nc: 3\n", []string{"0:a: 1\r---\nb: 2\n", "2:---\nc: 3\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var joined []byte
			for _, s := range SplitAtMarkers([]byte(tt.in)) {
				got = append(got, fmt.Sprintf("%d:%s", s.Line, s.Text))
				joined = append(joined, s.Text...)
			}
			if !slices.Equal(got, tt.want) || string(joined) != tt.in {
				t.Errorf("SplitAtMarkers:\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
