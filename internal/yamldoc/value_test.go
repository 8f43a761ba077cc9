package yamldoc

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	kjson "k8s.io/apimachinery/pkg/util/json"
	sigsyaml "sigs.k8s.io/yaml"
)

func parse(t testing.TB, s string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

// apiServer is what the API server reads from a YAML document: kubectl and
// the server's YAML serializer turn it into JSON with sigs.k8s.io/yaml,
// and apimachinery's json reads that JSON, integers as int64.
func apiServer(text string) (any, error) {
	j, err := sigsyaml.YAMLToJSON([]byte(text))
	if err != nil {
		return nil, err
	}
	var v any
	if err := kjson.Unmarshal(j, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// TestValueIsTheAPIServers holds Value to the API server's reading,
// value by value: YAML 1.1 booleans (keys too), integers in and beyond
// int64, integral floats, merge keys in order, repeated keys, tags.
// Before one decoder, lint read `yes` as "yes" and 18446744073709551615 as
// a float while inject read !!bool yes as false and kept that integer
// exact; neither was what the API server reads.
func TestValueIsTheAPIServers(t *testing.T) {
	for _, in := range []string{
		"a: yes", "a: On", "a: y", "a: NO", "a: off", "a: N", "a: 'yes'", "a: \"on\"", "a: |\n  yes\n",
		"yes: 1", "on: x", "off: x", "'on': x", "1: a", "1.5: a", "0.1: a", "1e3: a", "true: 1", "0x1F: a", ".inf: a", "-.inf: a", "b: &k on\n*k : x",
		"a: true", "a: False", "a: null", "a: ~", "a:", "a: Null",
		"a: 1.0", "a: 1e3", "a: 1.5", "a: 1.", "a: .5", "a: -0", "a: -0.0", "a: 1e20", "a: 1e21", "a: 123456789.0",
		"a: 18446744073709551615", "a: 9223372036854775807", "a: 9223372036854775808", "a: -9223372036854775808", "a: -9223372036854775809", "a: 4611686018427387904.0", "a: 9007199254740993",
		"a: 123456789012345678901234567890", "a: 1e400", "a: 1" + strings.Repeat("0", 400),
		"a: 0x1F", "a: 017", "a: 0o17", "a: 1_000", "a: +12", "a: 0b101", "a: -0b101", "a: 0xFFFFFFFFFFFFFFFF",
		"a: 2001-12-14", "a: 2001-12-14t21:59:43.10-05:00", "a: 1:20", "a: 190:20:30",
		"a: !!str 12", "a: !!str yes", "a: !!int '12'", "a: !!int 0x10", "a: !!bool yes", "a: !!bool 'off'", "a: !!bool true",
		"a: !!float 1", "a: !!float '1.5'", "a: !!null ~", "a: !!null", "a: !foo bar", "a: !foo 12", "a: !!binary aGVsbG8=", "a: !!timestamp 2001-12-14",
		"a: 1\na: 2", "a: {b: 1, b: yes}",
		"base: &b {a: 1, b: 2}\nm: {<<: *b, b: 3}", "base: &b {a: 1, b: 2}\nm: {b: 3, <<: *b}",
		"x: &x {a: 1}\ny: &y {a: 2, b: 2}\nm: {<<: [*x, *y]}", "x: &x {a: 1}\ny: &y {a: 2}\nm:\n  <<: *x\n  <<: *y",
		"a: [yes, no, 1.0, '1.0', ~]", "a: &a on\nb: *a",
	} {
		t.Run(in, func(t *testing.T) {
			want, wantErr := apiServer(in)
			got, err := Value(parse(t, in), Options{Budget: 1000})
			if wantErr != nil {
				if err == nil {
					t.Fatalf("Value = %#v, want an error as the API server's %q", got, wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Value = %#v, %v\nthe API server reads %#v", got, err, want)
			}
		})
	}
}

// TestValueErrors: what the API server refuses, Value refuses with the
// node's line.
func TestValueErrors(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"a: 1\nb: .inf\n", "line 2: number .inf has no JSON form"},
		{"a: .nan\n", "line 1: number .nan has no JSON form"},
		{"a: !!bool maybe\n", "line 1: cannot decode !!str `maybe` as a !!bool"},
		{"a: !!int 1.5\n", "line 1: cannot decode !!float `1.5` as a !!int"},
		{"a: !!null x\n", "line 1: cannot decode !!str `x` as a !!null"},
		{"~: x\n", `line 1: mapping key "~" is not a string, number or boolean`},
		{"18446744073709551615: x\n", `line 1: mapping key "18446744073709551615" is not a string, number or boolean`},
		{"[a]: x\n", "line 1: mapping key is not a scalar"},
		{"a: &a [1]\nb: {<<: *a}\n", "line 2: merge key (<<) value is not a mapping"},
		{"a: !!binary '!!'\n", "line 1: !!binary value: illegal base64 data at input byte 0"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if _, err := apiServer(tc.in); err == nil {
				t.Fatalf("the API server reads %q", tc.in)
			}
			_, err := Value(parse(t, tc.in), Options{Budget: 1000})
			if err == nil || err.Error() != tc.err {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}

// FuzzScalarIsTheAPIServers reads any one-line plain scalar, bare and
// under each tag, as Value and as the API server, which must agree.
func FuzzScalarIsTheAPIServers(f *testing.F) {
	for _, s := range []string{"yes", "Off", "1.0", "0x1F", "-0b11", "1_0", "18446744073709551616", "1e21", ".5", "+.inf", "2001-12-14", "~", "0o7", "-0o7", "1:2", "4.", "08", "0.1e-7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 64 || strings.ContainsAny(s, "\n\r#:{}[],&*!|>'\"%@`\t") || strings.TrimSpace(s) != s || s == "" || s[0] == '-' && len(s) > 1 && s[1] == ' ' || s == "-" || s[0] == '?' || s == "<<" {
			return // not one plain scalar on its line
		}
		for _, tag := range []string{"", "!!int ", "!!float ", "!!bool ", "!!null ", "!!str "} {
			in := "a: " + tag + s + "\n"
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(in), &n); err != nil {
				return
			}
			want, wantErr := apiServer(in)
			got, err := Value(&n, Options{Budget: 1000})
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("%q: Value = %#v, %v; the API server: %#v, %v", in, got, err, want, wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: Value = %#v; the API server reads %#v", in, got, want)
			}
			in = s + ": " + tag + "x\n"
			if tag != "" || yaml.Unmarshal([]byte(in), &n) != nil {
				continue
			}
			want, wantErr = apiServer(in)
			got, err = Value(&n, Options{Budget: 1000})
			if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("%q as a key: Value = %#v, %v; the API server: %#v, %v", s, got, err, want, wantErr)
			}
		}
	})
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

func TestValueBudget(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	if _, err := Value(parse(t, bomb), Options{Budget: 10_000}); !errors.Is(err, ErrTooManyValues) {
		t.Errorf("error %v, want ErrTooManyValues", err)
	}
	if _, err := Value(parse(t, bomb), Options{Budget: 20_000}); err != nil {
		t.Errorf("within budget: %v", err)
	}
	for _, cycle := range []string{"a: &a {<<: *a}\n", "a: &a\n  b: 1\n  <<: *a\n"} {
		if _, err := Value(parse(t, cycle), Options{Budget: 20_000}); err == nil || !strings.Contains(err.Error(), "nesting deeper than") {
			t.Errorf("%q: error %v, want the merge that merges itself refused", cycle, err)
		}
	}
	deep := strings.Repeat("[", MaxDepth+10) + strings.Repeat("]", MaxDepth+10)
	if _, err := Value(parse(t, deep), Options{Budget: 20_000}); err == nil || !strings.Contains(err.Error(), "nesting deeper than") {
		t.Errorf("error %v, want nesting refused", err)
	}
}

// TestValueDropsIgnoredKeysOnRequest: Envoy's !ignore keys go, their
// anchors still work; the API server keeps such a key.
func TestValueDropsIgnoredKeysOnRequest(t *testing.T) {
	n := parse(t, "!ignore defaults: &d {x: 1}\nuses: *d\n")
	got, err := Value(n, Options{Budget: 100, DropIgnored: true})
	want := map[string]any{"uses": map[string]any{"x": int64(1)}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("DropIgnored: %#v, %v; want %#v", got, err, want)
	}
	got, _ = Value(n, Options{Budget: 100})
	if _, kept := got.(map[string]any)["defaults"]; !kept {
		t.Errorf("without DropIgnored the key must stay: %#v", got)
	}
}

// TestValueStrictRefusesRepeatedKeys as they read; a key a merge key set
// too is no repeat.
func TestValueStrictRefusesRepeatedKeys(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"a: 1\nb: {c: 1, c: 2}\n", `line 2: mapping key "c" already defined at line 2`},
		{"on: 1\n'true': 2\n", `line 2: mapping key "true" already defined at line 1`},
		{"a: &a {x: 1}\nb: {<<: *a, x: 2}\n", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Value(parse(t, tc.in), Options{Budget: 100, Strict: true})
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || err.Error() != tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
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
