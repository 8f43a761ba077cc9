package glob

import "testing"

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
