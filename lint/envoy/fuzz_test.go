package envoy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	yaml "go.yaml.in/yaml/v3"
)

// FuzzParse feeds YAML to Detect and Parse: they must never
// panic, Parse fails only with *ParseError, what it returns is
// JSON with cluster paths that exist in the document, it is what the parse
// through protojson's JSON gives (the same result or error), and the
// policies' input made of it is ast.InterfaceToValue's.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "envoy", "*"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"[]",
		"- name: a\n  type: strict_dns\n",
		"static_resources: {clusters: {name: a, type: 1}}",
		`{"resources": [{"type_url": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "value": "CgFhEAE="}]}`,
		`{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump", "static_clusters": [{"cluster": {"@type": "type.googleapis.com/envoy.api.v2.Cluster", "name": "a"}}]}]}`,
		"static_resources:\n  clusters:\n  - name: a\n    metadata: {filter_metadata: {x: {y: [[1], {z: null}]}}}\n    connect_timeout: {seconds: 1, nanos: 5}\n",
		"static_resources:\n  clusters:\n  - name: a\n    type: 1\n    lbPolicy: maglev\n    connect_timeout: 0.25s\n    per_connection_buffer_limit_bytes: 007\n    metadata: {filter_metadata: {x: {y: [1, 2.5, -0, true, s, {}]}}}\n",
		"static_resources:\n  clusters:\n    name: a\n    typed_extension_protocol_options: {x: {'@type': type.googleapis.com/google.protobuf.Struct, value: {a: [1]}}, y: {}}\n    circuit_breakers: {thresholds: {max_connections: '5'}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return
		}
		format, ok := Detect(doc)
		if m, isMap := asObject(doc); isMap && ok {
			_, a := m["apiVersion"]
			_, k := m["kind"]
			if a && k {
				t.Fatalf("Detect claimed a Kubernetes object as %s", format)
			}
		}
		formats := []Format{Bootstrap, Clusters, ConfigDump}
		if ok {
			formats = []Format{format}
		}
		for _, f := range formats {
			checkViaJSON(t, "input", doc, f)
			out, err := Parse(doc, f)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("Parse(%s) error %T is not an *ParseError: %v", f, err, err)
				}
				continue
			}
			if _, err := json.Marshal(out); err != nil {
				t.Fatalf("Parse(%s) result is not JSON: %v", f, err)
			}
			clusters, ok := out["clusters"].([]any)
			if !ok {
				t.Fatalf(`Parse(%s) result has no "clusters" list`, f)
			}
			for _, c := range clusters {
				path := c.(map[string]any)["path"].([]any)
				if _, ok := asObject(pathValue(doc, path)); !ok {
					t.Fatalf("Parse(%s): cluster path %v does not lead to an object", f, path)
				}
			}
			want, err := ast.InterfaceToValue(out)
			if err != nil {
				t.Fatalf("Parse(%s) result does not convert: %v", f, err)
			}
			if got, err := inputValue(out); err != nil || got.Compare(want) != 0 {
				t.Fatalf("Parse(%s): the policies' input %v (%v), want %v", f, got, err, want)
			}
		}
	})
}
