package yamlvalue

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

func parse(t *testing.T, s string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int
	}{
		// document + mapping + 2 keys + 2 values
		{"plain", "a: 1\nb: 2\n", 6},
		// doc, map, key a, anchored seq (1 + 2 scalars), key b, alias -> 3
		{"alias counts its target", "a: &x [1, 2]\nb: *x\n", 1 + 1 + 1 + 3 + 1 + 3},
		{"nested aliases multiply", "a: &a [1, 1]\nb: &b [*a, *a]\nc: [*b, *b]\n", 1 + 1 + 1 + 3 + 1 + 7 + 1 + 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Count(parse(t, tc.in), 1000)
			if got != tc.want || !ok {
				t.Errorf("Count = %d, %v; want %d, true", got, ok, tc.want)
			}
			if _, ok := Count(parse(t, tc.in), tc.want-1); ok {
				t.Errorf("Count within a limit of %d", tc.want-1)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     any
		err      string
	}{
		{"types", "s: x\ni: 0x0c\nb: true\nn: ~\nf: 1.50\nbig: 18446744073709551615\n",
			map[string]any{"s": "x", "i": json.Number("12"), "b": true, "n": nil, "f": json.Number("1.5"), "big": json.Number("18446744073709551615")}, ""},
		{"merge keys: explicit wins", "base: &b {x: 1, y: 2}\nm: {<<: *b, y: 3}\n",
			map[string]any{"base": map[string]any{"x": json.Number("1"), "y": json.Number("2")}, "m": map[string]any{"x": json.Number("1"), "y": json.Number("3")}}, ""},
		{"duplicate key", "a: 1\na: 2\n", nil, `mapping key "a" already defined at line 1`},
		{"infinity", "a: .inf\n", nil, "number .inf has no JSON form"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(parse(t, tc.in), 1000)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

func TestDecodeBudget(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	if _, err := Decode(parse(t, bomb), 10_000); !errors.Is(err, ErrTooManyValues) {
		t.Errorf("error %v, want ErrTooManyValues", err)
	}
	if _, err := Decode(parse(t, bomb), 20_000); err != nil {
		t.Errorf("within budget: %v", err)
	}
}

// TestCycle: an alias inside the node its anchor names never ends; Count
// treats it as over any budget.
func TestCycle(t *testing.T) {
	n := &yaml.Node{Kind: yaml.SequenceNode}
	n.Content = []*yaml.Node{{Kind: yaml.AliasNode, Alias: n}}
	if _, ok := Count(n, 1<<40); ok {
		t.Error("a cycle counted within budget")
	}
}

func TestBudget(t *testing.T) {
	for _, tc := range []struct{ size, want int }{
		{0, 10_000},
		{636, 73_600},
		{1 << 20, 10_000_000},
		{50 << 20, 50 << 20},
	} {
		if got := Budget(tc.size); got != tc.want {
			t.Errorf("Budget(%d) = %d, want %d", tc.size, got, tc.want)
		}
	}
}
