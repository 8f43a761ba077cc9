package glob

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		glob, name string
		want       bool
	}{
		{"vendor/**", "vendor/a/b.yaml", true},
		{"vendor/**", "src/vendor/a.yaml", false},
		{"**/tests/*.yaml", "charts/x/tests/a.yaml", true},
		{"**/tests/*.yaml", "tests/a.yaml", true},
		{"**/tests/*.yaml", "tests/deep/a.yaml", false},
		{"*.yaml", "a.yaml", true},
		{"*.yaml", "dir/a.yaml", false},
		{"examples/?.json", "examples/a.json", true},
		{"a.b", "axb", false}, // dots are literal
	}
	for _, tt := range tests {
		t.Run(tt.glob+" "+tt.name, func(t *testing.T) {
			g, err := Compile([]string{tt.glob})
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Match(tt.name); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCompileEmpty(t *testing.T) {
	if _, err := Compile([]string{"a/**", ""}); err == nil || err.Error() != `bad glob "": empty glob` {
		t.Errorf("err = %v, want one naming the empty glob", err)
	}
}

// TestCompileBound: a glob longer than MaxLen, or with more than MaxStars
// stars, is refused, and named by its start only; globs at the limits, of
// the worst kinds, compile and match.
func TestCompileBound(t *testing.T) {
	for _, tt := range []struct{ glob, want string }{
		{strings.Repeat("*", 1<<20), "1048576 bytes, over the 4096-byte limit"},
		{strings.Repeat("a", MaxLen+1), "4097 bytes, over the 4096-byte limit"},
		{strings.Repeat("*/", MaxStars+1), "more than 16 stars"},
		{strings.Repeat("**/", MaxStars+1), "more than 16 stars"},
	} {
		if _, err := Compile([]string{tt.glob}); err == nil || len(err.Error()) > 200 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%.20q...: err = %.300v, want %q", tt.glob, err, tt.want)
		}
	}
	for _, tt := range []struct {
		glob, name string
		want       bool
	}{
		{strings.Repeat("*a", MaxStars), strings.Repeat("a", 4096), true},
		{strings.Repeat("**/", MaxStars) + "x", strings.Repeat("a/", 2000) + "x", true},
		{strings.Repeat("a", MaxLen-1) + "*", strings.Repeat("a", 4096), true},
		{strings.Repeat("a?", MaxLen/2), strings.Repeat("ab", 2048), true},
		{strings.Repeat("*a", MaxStars), strings.Repeat("b", 4096), false},
	} {
		s, err := Compile([]string{tt.glob})
		if err != nil {
			t.Fatalf("%.20q...: %v", tt.glob, err)
		}
		if got := s.Match(tt.name); got != tt.want {
			t.Errorf("%.20q... on %.20q...: %v, want %v", tt.glob, tt.name, got, tt.want)
		}
	}
}
