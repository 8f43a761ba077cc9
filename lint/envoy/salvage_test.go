package envoy

import (
	"fmt"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestSalvageInvalidConfig: of a config Envoy rejects, the clusters that
// parse on their own are kept, with their paths, and no bootstrap.
func TestSalvageInvalidConfig(t *testing.T) {
	for _, tt := range []struct {
		name   string
		format Format
		doc    string
		want   []string // "name@path" of each cluster kept
	}{
		{
			name:   "a bootstrap with an unknown top-level field keeps all its clusters",
			format: Bootstrap,
			doc: `{node: {id: a}, tracingg: {}, static_resources: {clusters: [
				{name: a, type: STRICT_DNS, connect_timeout: 1s},
				{name: b, type: EDS, connect_timeout: 1s, eds_cluster_config: {eds_config: {ads: {}}}}]}}`,
			want: []string{"a@[static_resources clusters 0]", "b@[static_resources clusters 1]"},
		},
		{
			name:   "a bootstrap with a removed field in one cluster keeps the other",
			format: Bootstrap,
			doc: `{staticResources: {clusters: [
				{name: old, type: STRICT_DNS, hosts: [{socket_address: {address: x, port_value: 1}}]},
				{name: new, type: strict_dns}]}}`,
			want: []string{"new@[staticResources clusters 1]"},
		},
		{
			name:   "a bootstrap with a cluster breaking a validation rule drops it",
			format: Bootstrap,
			doc:    `{static_resources: {clusters: [{name: "", type: STRICT_DNS}, {name: ok, type: STATIC}]}}`,
			want:   []string{"ok@[static_resources clusters 1]"},
		},
		{
			name:   "a list of clusters keeps the ones that parse",
			format: Clusters,
			doc:    `[{name: a, type: STRICT_DNS, typo: 1}, {name: b, type: LOGICAL_DNS}, {name: c, type: STRICT_DNS}]`,
			want:   []string{"b@[1]", "c@[2]"},
		},
		{
			name:   "a CDS response with a bad envelope keeps its resources",
			format: Clusters,
			doc: `{version_info: "1", nonce: {not: a string}, resources: [
				{"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster, name: a, type: STRICT_DNS},
				{"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster, name: b, type: NOPE}]}`,
			want: []string{"a@[resources 0]"},
		},
		{
			name:   "a bootstrap that is not an object keeps nothing",
			format: Bootstrap,
			doc:    `[1, 2]`,
			want:   nil,
		},
		{
			name:   "a config dump is not salvaged",
			format: ConfigDump,
			doc:    `{configs: [{"@type": nope}]}`,
			want:   nil,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			if err := yaml.Unmarshal([]byte(tt.doc), &doc); err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(doc, tt.format); err == nil {
				t.Fatal("the config parses whole: not a case for salvaging")
			}
			out := Salvage(doc, tt.format)
			if _, ok := out["bootstrap"]; ok {
				t.Error("a salvaged config has a bootstrap")
			}
			if out["format"] != string(tt.format) {
				t.Errorf("format = %v", out["format"])
			}
			var got []string
			for _, c := range out["clusters"].([]any) {
				m := c.(map[string]any)
				got = append(got, m["cluster"].(map[string]any)["name"].(string)+"@"+fmt.Sprint(m["path"]))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("clusters = %q, want %q", got, tt.want)
			}
		})
	}
}
