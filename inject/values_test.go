package inject

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// TestValuesAreTheAPIServers: the pod the engine sees has the values the
// API server would read from the manifest, as lint reads them
// (yamldoc.Value). Before one decoder, inject read yes as "yes", !!bool yes
// as false and kept 18446744073709551615 exact, where the API server (and
// lint, for the big integer) did not.
func TestValuesAreTheAPIServers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any
	}{
		{"a: yes", true},
		{"a: Off", false},
		{"a: 'yes'", "yes"},
		{"a: !!bool yes", true},
		{"a: 18446744073709551615", float64(18446744073709551615)},
		{"a: 9223372036854775807", int64(9223372036854775807)},
		{"a: 1.0", int64(1)},
		{"a: 0.5", 0.5},
		{"a: 0x1F", int64(31)},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tc.in), &n); err != nil {
				t.Fatal(err)
			}
			v, err := toValue(&n)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.(map[string]any)["a"]; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestUnquotedYesIsABoolean: an env value written yes is a boolean to the
// API server, which refuses it in a string field; so does inject, naming
// the line, rather than inject a manifest kubectl will not apply.
func TestUnquotedYesIsABoolean(t *testing.T) {
	in := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n  labels: {app: p}\nspec:\n  containers:\n  - name: app\n    image: app\n    env:\n    - name: DEBUG\n      value: yes\n"
	_, _, err := Manifests([]byte(in), testEngine(t))
	var ie *Error
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "cannot unmarshal bool") {
		t.Fatalf("error %v, want the boolean refused", err)
	}
	quoted := strings.Replace(in, "value: yes", "value: 'yes'", 1)
	if _, _, err := Manifests([]byte(quoted), testEngine(t)); err != nil {
		t.Fatalf("quoted: %v", err)
	}
}

// TestBoolWordStringsStayStrings: a string spelled like a YAML 1.1
// boolean that the engine writes (or copies) stays a string in the output.
func TestBoolWordStringsStayStrings(t *testing.T) {
	dst := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x"}
	merge(dst, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "on", Style: yaml.DoubleQuotedStyle})
	if v, err := toValue(dst); err != nil || v != "on" {
		t.Errorf("merged scalar reads %#v, %v; want the string", v, err)
	}
	if v, err := toValue(fresh(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "NO", Style: yaml.DoubleQuotedStyle})); err != nil || v != "NO" {
		t.Errorf("fresh scalar reads %#v, %v; want the string", v, err)
	}
}
