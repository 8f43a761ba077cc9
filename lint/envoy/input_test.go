package envoy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestInputValue holds the Rego input Input builds from Parse's
// result to ast.InterfaceToValue's, on the fixtures and the corpus, in
// every format that parses.
func TestInputValue(t *testing.T) {
	check := func(t *testing.T, docs map[string]any) {
		parsed := 0
		for name, doc := range docs {
			for _, format := range []Format{Bootstrap, Clusters, ConfigDump} {
				input, err := Parse(doc, format)
				if err != nil {
					continue
				}
				parsed++
				want, err := ast.InterfaceToValue(input)
				if err != nil {
					t.Fatal(err)
				}
				got, err := inputValue(input)
				if err != nil {
					t.Fatalf("%s as %s: %v", name, format, err)
				}
				if got.Compare(want) != 0 {
					t.Errorf("%s as %s: input\n%v\nwant\n%v", name, format, got, want)
				}
			}
		}
		if parsed == 0 {
			t.Fatal("no config parsed: the test checks nothing")
		}
	}
	t.Run("fixtures", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join("..", "testdata", "envoy", "*"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no fixtures: %v", err)
		}
		docs := map[string]any{}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			docs[file] = decodeYAML(t, string(data))
		}
		check(t, docs)
	})
	t.Run("corpus", func(t *testing.T) { check(t, corpusDocs(t)) })
}

func TestInput(t *testing.T) {
	tests := []struct {
		name, objName, namespace string
		wantMeta                 string
	}{
		{"a file's config is named by the file", "front.yaml", "", `{"name": "front.yaml"}`},
		{"a ConfigMap's config has its namespace", "proxy/envoy.yaml", "shop", `{"name": "proxy/envoy.yaml", "namespace": "shop"}`},
		{"a name with quotes and newlines stays a string", "a\"b\n", "", `{"name": "a\"b\n"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parsed, err := Parse(decodeYAML(t, "static_resources:\n  clusters:\n  - {name: a, type: STRICT_DNS}\n"), Bootstrap)
			if err != nil {
				t.Fatal(err)
			}
			v, err := Input(parsed, tt.objName, tt.namespace)
			if err != nil {
				t.Fatal(err)
			}
			obj, ok := v.(ast.Object)
			if !ok {
				t.Fatalf("Input() = %T, want an object", v)
			}
			for key, want := range map[string]string{"apiVersion": `"inzone.io/v1alpha1"`, "kind": `"EnvoyConfig"`, "metadata": tt.wantMeta, "format": `"bootstrap"`} {
				got := obj.Get(ast.StringTerm(key))
				if got == nil || got.Value.Compare(ast.MustParseTerm(want).Value) != 0 {
					t.Errorf("input.%s = %v, want %s", key, got, want)
				}
			}
			if got := obj.Get(ast.StringTerm("clusters")); got == nil || got.Value.(*ast.Array).Len() != 1 {
				t.Errorf("input.clusters = %v, want the one cluster", got)
			}
		})
	}
}
