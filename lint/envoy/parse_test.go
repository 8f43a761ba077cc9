package envoy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/inzone-io/inzone/test/shared"
)

// decodeYAML decodes YAML (or JSON) the way the brief of Parse
// promises: go.yaml.in/yaml/v3 into any.
func decodeYAML(t testing.TB, s string) any {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("decoding YAML: %v", err)
	}
	return doc
}

// parsedCluster is what a test checks of one cluster of Parse's result.
type parsedCluster struct {
	Path []any
	Type string // "" for the default, STATIC
}

func clustersOf(t *testing.T, out map[string]any) []parsedCluster {
	t.Helper()
	list, ok := out["clusters"].([]any)
	if !ok {
		t.Fatalf(`result has no "clusters" list: %#v`, out)
	}
	got := make([]parsedCluster, 0, len(list))
	for _, c := range list {
		entry := c.(map[string]any)
		typ, _ := entry["cluster"].(map[string]any)["type"].(string)
		got = append(got, parsedCluster{Path: entry["path"].([]any), Type: typ})
	}
	return got
}

func TestParseClusterLists(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		doc    string
		want   []parsedCluster
	}{
		{
			name:   "a lower-case cluster type parses and is reported upper-case",
			format: Bootstrap,
			doc:    "static_resources:\n  clusters:\n  - name: a\n    type: strict_dns\n    lb_policy: round_robin\n  - name: b\n    type: Logical_DNS\n  - name: c\n",
			want: []parsedCluster{
				{Path: []any{"static_resources", "clusters", 0}, Type: "STRICT_DNS"},
				{Path: []any{"static_resources", "clusters", 1}, Type: "LOGICAL_DNS"},
				{Path: []any{"static_resources", "clusters", 2}},
			},
		},
		{
			name:   "camelCase keys parse and the paths keep them",
			format: Bootstrap,
			doc:    `{"staticResources": {"clusters": [{"name": "a", "type": "STRICT_DNS", "connectTimeout": "0.25s", "loadAssignment": {"clusterName": "a"}}]}}`,
			want:   []parsedCluster{{Path: []any{"staticResources", "clusters", 0}, Type: "STRICT_DNS"}},
		},
		{
			name:   "a CDS response's clusters are at resources[i], a wrapped one at resources[i].resource",
			format: Clusters,
			doc: `{"version_info": "2", "type_url": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "resources": [
				{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "a", "type": "EDS", "eds_cluster_config": {"eds_config": {"ads": {}}}},
				{"@type": "type.googleapis.com/envoy.service.discovery.v3.Resource", "name": "b",
				 "resource": {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "b", "type": "strict_dns"}}]}`,
			want: []parsedCluster{
				{Path: []any{"resources", 0}, Type: "EDS"},
				{Path: []any{"resources", 1, "resource"}, Type: "STRICT_DNS"},
			},
		},
		{
			name:   "an untyped resources list holds plain clusters",
			format: Clusters,
			doc:    "resources:\n- name: a\n  type: STRICT_DNS\n",
			want:   []parsedCluster{{Path: []any{"resources", 0}, Type: "STRICT_DNS"}},
		},
		{
			name:   "a plain list's clusters are at [i]",
			format: Clusters,
			doc:    "- name: a\n  type: STRICT_DNS\n- \"@type\": type.googleapis.com/envoy.config.cluster.v3.Cluster\n  name: b\n  type: original_dst\n  lb_policy: CLUSTER_PROVIDED\n",
			want: []parsedCluster{
				{Path: []any{0}, Type: "STRICT_DNS"},
				{Path: []any{1}, Type: "ORIGINAL_DST"},
			},
		},
		{
			name:   "config dump cluster entries have their cluster at [i].cluster",
			format: Clusters,
			doc:    `[{"version_info": "1", "cluster": {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "a", "type": "LOGICAL_DNS"}, "last_updated": "2020-10-25T20:37:05.838Z"}]`,
			want:   []parsedCluster{{Path: []any{0, "cluster"}, Type: "LOGICAL_DNS"}},
		},
		{
			name:   "a v2 cluster of an old config dump is read as its v3 successor",
			format: Clusters,
			doc:    `[{"cluster": {"@type": "type.googleapis.com/envoy.api.v2.Cluster", "name": "xds", "type": "STRICT_DNS", "connect_timeout": "1s", "http2_protocol_options": {}}}]`,
			want:   []parsedCluster{{Path: []any{0, "cluster"}, Type: "STRICT_DNS"}},
		},
		{
			name:   "a binary Any, as encoding/json writes a Go DiscoveryResponse, is decoded",
			format: Clusters,
			// envoy.config.cluster.v3.Cluster{name: "a", type: STRICT_DNS}
			doc:  `{"resources": [{"type_url": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "value": "CgFhEAE="}]}`,
			want: []parsedCluster{{Path: []any{"resources", 0}, Type: "STRICT_DNS"}},
		},
		{
			name:   "a config dump's clusters have the paths of their entries",
			format: ConfigDump,
			doc: `{"configs": [
				{"@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump", "bootstrap": {"static_resources": {"clusters": [{"name": "s", "type": "STRICT_DNS"}]}}},
				{"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
				 "static_clusters": [{"cluster": {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "s", "type": "STRICT_DNS"}}],
				 "dynamic_active_clusters": [{"cluster": {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "d", "type": "EDS", "eds_cluster_config": {"eds_config": {"ads": {}}}}}],
				 "dynamic_warming_clusters": [{"cluster": {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "w", "type": "LOGICAL_DNS"}}]}]}`,
			want: []parsedCluster{
				{Path: []any{"configs", 1, "static_clusters", 0, "cluster"}, Type: "STRICT_DNS"},
				{Path: []any{"configs", 1, "dynamic_active_clusters", 0, "cluster"}, Type: "EDS"},
				{Path: []any{"configs", 1, "dynamic_warming_clusters", 0, "cluster"}, Type: "LOGICAL_DNS"},
			},
		},
		{
			name:   "a config dump without a clusters part takes the bootstrap's static clusters",
			format: ConfigDump,
			doc:    `{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump", "bootstrap": {"staticResources": {"clusters": [{"name": "s", "type": "STRICT_DNS"}]}}}]}`,
			want:   []parsedCluster{{Path: []any{"configs", 0, "bootstrap", "staticResources", "clusters", 0}, Type: "STRICT_DNS"}},
		},
		{
			name:   "a single cluster in place of the clusters list is one cluster without an index",
			format: Bootstrap,
			doc:    "static_resources:\n  clusters:\n    name: a\n    type: STRICT_DNS\n",
			want:   []parsedCluster{{Path: []any{"static_resources", "clusters"}, Type: "STRICT_DNS"}},
		},
		{
			name:   "YAML anchors and merge keys are resolved before parsing",
			format: Bootstrap,
			doc:    "static_resources:\n  clusters:\n  - &base\n    name: a\n    type: STRICT_DNS\n    connect_timeout: 1s\n  - <<: *base\n    name: b\n",
			want: []parsedCluster{
				{Path: []any{"static_resources", "clusters", 0}, Type: "STRICT_DNS"},
				{Path: []any{"static_resources", "clusters", 1}, Type: "STRICT_DNS"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Parse(decodeYAML(t, tt.doc), tt.format)
			if err != nil {
				t.Fatalf("Parse() error: %v", err)
			}
			if out["format"] != string(tt.format) {
				t.Errorf("format = %v, want %q", out["format"], tt.format)
			}
			if got := clustersOf(t, out); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("clusters = %v\nwant       %v", got, tt.want)
			}
		})
	}
}

// TestParseAcceptsWhatEnvoyAccepts covers the leniencies of Envoy's
// loader: enum names in any case (in lists, maps and typed configs too),
// YAML scalars for wrapped and quoted types, a single value for a list.
func TestParseAcceptsWhatEnvoyAccepts(t *testing.T) {
	doc := decodeYAML(t, `
dynamic_resources:
  ads_config:
    api_type: grpc
    transport_api_version: v3
    grpc_services:
      envoy_grpc: {cluster_name: xds}
static_resources:
  listeners:
  - name: http
    address: {socket_address: {address: 0.0.0.0, port_value: "10000", protocol: udp}}
    filter_chains:
    - filters:
      - name: hcm
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: http
          codec_type: http2
          route_config: {virtual_hosts: [{name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: xds, timeout: 0.5s}}]}]}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
  clusters:
  - name: xds
    type: strict_dns
    per_connection_buffer_limit_bytes: 32768
    common_lb_config:
      healthy_panic_threshold: {value: 50}
      override_host_status: {statuses: [healthy, Degraded]}
    health_checks:
    - timeout: 1s
      interval: 5s
      unhealthy_threshold: "3"
      healthy_threshold: 1
      reuse_connection: "yes"
      tcp_health_check: {}
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}
    metadata:
      filter_metadata:
        inzone: {zone: us-east-1a, weight: 3, tags: [a, b], nested: {ok: true}}
`)
	out, err := Parse(doc, Bootstrap)
	if err != nil {
		t.Fatalf("Parse() error: %v", err)
	}
	b := out["bootstrap"].(map[string]any)
	get := func(v any, path ...any) any {
		for _, seg := range path {
			switch s := seg.(type) {
			case string:
				v = v.(map[string]any)[s]
			case int:
				v = v.([]any)[s]
			}
		}
		return v
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"api_type", get(b, "dynamic_resources", "ads_config", "api_type"), "GRPC"},
		{"single grpc_services", get(b, "dynamic_resources", "ads_config", "grpc_services", 0, "envoy_grpc", "cluster_name"), "xds"},
		{"quoted port", get(b, "static_resources", "listeners", 0, "address", "socket_address", "port_value"), float64(10000)},
		{"enum in a nested message", get(b, "static_resources", "listeners", 0, "address", "socket_address", "protocol"), "UDP"},
		{"enum in a typed config", get(b, "static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config", "codec_type"), "HTTP2"},
		{"cluster type", get(b, "static_resources", "clusters", 0, "type"), "STRICT_DNS"},
		{"wrapped int", get(b, "static_resources", "clusters", 0, "per_connection_buffer_limit_bytes"), float64(32768)},
		{"wrapper in object form", get(b, "static_resources", "clusters", 0, "common_lb_config", "healthy_panic_threshold", "value"), float64(50)},
		{"repeated enum", get(b, "static_resources", "clusters", 0, "common_lb_config", "override_host_status", "statuses"), []any{"HEALTHY", "DEGRADED"}},
		{"quoted wrapped int", get(b, "static_resources", "clusters", 0, "health_checks", 0, "unhealthy_threshold"), float64(3)},
		{"yes for a wrapped bool", get(b, "static_resources", "clusters", 0, "health_checks", 0, "reuse_connection"), true},
		{"struct kept as is", get(b, "static_resources", "clusters", 0, "metadata", "filter_metadata", "inzone", "tags"), []any{"a", "b"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if got := clustersOf(t, out); len(got) != 1 || got[0].Type != "STRICT_DNS" {
		t.Errorf("clusters = %v, want one STRICT_DNS", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name       string
		format     Format
		doc        string
		wantPath   []any
		wantReason string // a substring
	}{
		{
			name:       "a typo in a cluster field names the field and points at it",
			format:     Bootstrap,
			doc:        "static_resources:\n  clusters:\n  - name: a\n    typ: STRICT_DNS\n",
			wantPath:   []any{"static_resources", "clusters", 0, "typ"},
			wantReason: `unknown field "typ" in envoy.config.cluster.v3.Cluster`,
		},
		{
			name:       "a typo in a section name names the section",
			format:     Bootstrap,
			doc:        "static_resources:\n  clusterz:\n  - name: a\n",
			wantPath:   []any{"static_resources", "clusterz"},
			wantReason: `unknown field "clusterz"`,
		},
		{
			name:       "a typo in a camelCase config keeps the key as written",
			format:     Bootstrap,
			doc:        `{"staticResources": {"clusters": [{"name": "a", "connectTimeOut": "1s"}]}}`,
			wantPath:   []any{"staticResources", "clusters", 0, "connectTimeOut"},
			wantReason: `unknown field "connectTimeOut"`,
		},
		{
			name:       "a duration that is not one is an error at the field",
			format:     Bootstrap,
			doc:        "static_resources:\n  clusters:\n  - name: a\n    connect_timeout: banana\n",
			wantPath:   []any{"static_resources", "clusters", 0, "connect_timeout"},
			wantReason: `invalid duration "banana"`,
		},
		{
			name:       "a duration without its unit is an error, as in Envoy",
			format:     Bootstrap,
			doc:        "static_resources:\n  clusters:\n  - name: a\n    connect_timeout: 5\n",
			wantPath:   []any{"static_resources", "clusters", 0, "connect_timeout"},
			wantReason: "duration",
		},
		{
			name:       "a negative port is an error at the port",
			format:     Clusters,
			doc:        "- name: a\n  type: STRICT_DNS\n  load_assignment:\n    cluster_name: a\n    endpoints:\n    - lb_endpoints:\n      - endpoint: {address: {socket_address: {address: a, port_value: -1}}}\n",
			wantPath:   []any{0, "load_assignment", "endpoints", 0, "lb_endpoints", 0, "endpoint", "address", "socket_address", "port_value"},
			wantReason: "negative",
		},
		{
			name:       "a port above 65535 breaks a validation rule Envoy checks at load",
			format:     Clusters,
			doc:        "- name: a\n  type: STRICT_DNS\n  load_assignment:\n    cluster_name: a\n    endpoints:\n    - lb_endpoints:\n      - endpoint: {address: {socket_address: {address: a, port_value: 70000}}}\n",
			wantPath:   []any{0, "load_assignment", "endpoints", 0, "lb_endpoints", 0, "endpoint", "address", "socket_address", "port_value"},
			wantReason: "invalid envoy.config.core.v3.SocketAddress.port_value: value must be less than or equal to 65535",
		},
		{
			name:       "an empty cluster name breaks a validation rule",
			format:     Bootstrap,
			doc:        "static_resources:\n  clusters:\n  - name: \"\"\n",
			wantPath:   []any{"static_resources", "clusters", 0, "name"},
			wantReason: "invalid envoy.config.cluster.v3.Cluster.name",
		},
		{
			name:   "a validation failure inside a typed config points into it",
			format: Bootstrap,
			doc: "static_resources:\n  listeners:\n  - address: {socket_address: {address: 0.0.0.0, port_value: 80}}\n    filter_chains:\n    - filters:\n" +
				"      - name: hcm\n        typed_config:\n          \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\n" +
				"          stat_prefix: \"\"\n          route_config: {}\n",
			wantPath:   []any{"static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config", "stat_prefix"},
			wantReason: "HttpConnectionManager.stat_prefix",
		},
		{
			name:       "an Any with an unknown @type is an error naming the type",
			format:     Bootstrap,
			doc:        "static_resources:\n  clusters:\n  - name: a\n    transport_socket:\n      name: tls\n      typed_config:\n        \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v9.NoSuchContext\n",
			wantPath:   []any{"static_resources", "clusters", 0, "transport_socket", "typed_config", "@type"},
			wantReason: "unknown extension type envoy.extensions.transport_sockets.tls.v9.NoSuchContext",
		},
		{
			name:       "an unknown resource type is an error naming the type",
			format:     Clusters,
			doc:        `{"resources": [{"@type": "type.googleapis.com/acme.Cluster", "name": "a"}]}`,
			wantPath:   []any{"resources", 0, "@type"},
			wantReason: "unknown extension type acme.Cluster",
		},
		{
			name:       "an Any without @type is an error",
			format:     Bootstrap,
			doc:        "static_resources:\n  clusters:\n  - name: a\n    transport_socket:\n      name: tls\n      typed_config: {sni: example.com}\n",
			wantPath:   []any{"static_resources", "clusters", 0, "transport_socket", "typed_config"},
			wantReason: `missing "@type"`,
		},
		{
			name:       "an unknown enum value lists the valid ones",
			format:     Bootstrap,
			doc:        "static_resources:\n  clusters:\n  - name: a\n    type: strict\n",
			wantPath:   []any{"static_resources", "clusters", 0, "type"},
			wantReason: `invalid value "strict" for enum envoy.config.cluster.v3.Cluster.DiscoveryType (one of STATIC, STRICT_DNS`,
		},
		{
			name:       "two members of a oneof are an error",
			format:     Bootstrap,
			doc:        "static_resources:\n  clusters:\n  - name: a\n    type: STRICT_DNS\n    cluster_type: {name: envoy.clusters.aggregate}\n",
			wantPath:   []any{"static_resources", "clusters", 0, "type"},
			wantReason: "cluster_discovery_type",
		},
		{
			name:       "a string where an object is expected is an error",
			format:     Bootstrap,
			doc:        "static_resources: clusters\n",
			wantPath:   []any{"static_resources"},
			wantReason: "expected an object for envoy.config.bootstrap.v3.Bootstrap.StaticResources",
		},
		{
			name:       "a list given as a bootstrap is an error",
			format:     Bootstrap,
			doc:        "- name: a\n",
			wantPath:   nil,
			wantReason: "a bootstrap must be an object",
		},
		{
			name:       "a typo in a config dump points into its entry",
			format:     ConfigDump,
			doc:        `{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump", "dynamic_active_clusters": [{"cluster": {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "a", "lb_polcy": "RANDOM"}}]}]}`,
			wantPath:   []any{"configs", 0, "dynamic_active_clusters", 0, "cluster", "lb_polcy"},
			wantReason: `unknown field "lb_polcy"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(decodeYAML(t, tt.doc), tt.format)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse() error = %v, want an *ParseError", err)
			}
			if !reflect.DeepEqual(pe.Path, tt.wantPath) && !(len(pe.Path) == 0 && len(tt.wantPath) == 0) {
				t.Errorf("Path = %#v, want %#v", pe.Path, tt.wantPath)
			}
			if !strings.Contains(pe.Reason, tt.wantReason) {
				t.Errorf("Reason = %q, want it to contain %q", pe.Reason, tt.wantReason)
			}
		})
	}
}

func TestParseRejectsUnknownFormat(t *testing.T) {
	if _, err := Parse(map[string]any{}, "listeners"); err == nil {
		t.Error("Parse() with an unknown format: no error")
	}
}

// lint's own documents hold int64 and float64 (JSON's types), yaml.v3 gives
// int: both must parse alike.
func TestParseAcceptsAnyIntegerType(t *testing.T) {
	for _, port := range []any{8080, int64(8080), uint64(8080), float64(8080), int32(8080), "8080"} {
		doc := map[string]any{"static_resources": map[string]any{"clusters": []any{map[string]any{
			"name": "a", "type": "STRICT_DNS",
			"load_assignment": map[string]any{"cluster_name": "a", "endpoints": []any{map[string]any{"lb_endpoints": []any{
				map[string]any{"endpoint": map[string]any{"address": map[string]any{"socket_address": map[string]any{"address": "a", "port_value": port}}}},
			}}}},
		}}}}
		if _, err := Parse(doc, Bootstrap); err != nil {
			t.Errorf("port %T(%v): %v", port, port, err)
		}
	}
}

func TestParseLeavesTheDocumentUnchanged(t *testing.T) {
	src := "static_resources:\n  clusters:\n  - name: a\n    type: strict_dns\n    connectTimeout: 1s\n    connect_timeout: 1s\n    lb_policy: round_robin\n"
	doc := decodeYAML(t, src)
	if _, err := Parse(doc, Bootstrap); err != nil {
		t.Fatalf("Parse() error: %v", err)
	}
	if want := decodeYAML(t, src); !reflect.DeepEqual(doc, want) {
		t.Errorf("document changed:\n%#v\nwant\n%#v", doc, want)
	}
}

// TestParseFixtures: every valid-* fixture parses, every invalid-* one
// is an *ParseError whose path exists in the document.
func TestParseFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "envoy", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		base := filepath.Base(file)
		t.Run(base, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			doc := decodeYAML(t, string(data))
			format, ok := Detect(doc)
			if !ok {
				t.Fatal("not detected as an Envoy config")
			}
			out, err := Parse(doc, format)
			switch {
			case strings.HasPrefix(base, "valid-"):
				if err != nil {
					t.Fatalf("Parse() error: %v", err)
				}
				for _, c := range clustersOf(t, out) {
					if _, ok := asObject(pathValue(doc, c.Path)); !ok {
						t.Errorf("cluster path %v does not lead to an object", c.Path)
					}
				}
			case strings.HasPrefix(base, "invalid-"):
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("Parse() error = %v, want an *ParseError", err)
				}
				if len(pe.Path) == 0 || pathValue(doc, pe.Path) == nil {
					t.Errorf("error path %v does not lead to a field of the document (%s)", pe.Path, pe.Reason)
				}
			default:
				t.Fatal("fixture names start with valid- or invalid-")
			}
		})
	}
}

// pathValue follows path in doc, or returns nil where it does not exist.
func pathValue(doc any, path []any) any {
	cur := doc
	for _, seg := range path {
		switch s := seg.(type) {
		case string:
			m, ok := asObject(cur)
			if !ok {
				return nil
			}
			if cur, ok = m[s]; !ok {
				return nil
			}
			if cur == nil {
				cur = struct{}{} // present but null
			}
		case int:
			l, ok := cur.([]any)
			if !ok || s < 0 || s >= len(l) {
				return nil
			}
			cur = l[s]
		default:
			return nil
		}
	}
	return cur
}

// sharedCorpus is ../shared/corpus, or skips.
func sharedCorpus(tb testing.TB) string {
	tb.Helper()
	corpus := filepath.Join(shared.Dir(tb), "corpus")
	if _, err := os.Stat(filepath.Join(corpus, "truth.json")); err != nil {
		tb.Skipf("the shared corpus is absent (%s): %v", corpus, err)
	}
	return corpus
}

// truthErrata are files where corpus/truth.json is wrong; the test
// checks the value stated here instead, so a fixed truth.json fails it and
// the entry can go.
var truthErrata = map[string]struct {
	clusters int
	why      string
}{
	"envoy/envoyproxy-examples/single-page-app/_github-clusters.yml": {
		clusters: 2,
		why:      "a plain YAML list of two LOGICAL_DNS clusters (github, github-api), which the example appends to envoy.yml's clusters; truth.json counts 0 clusters but 0 STRICT_DNS is right",
	},
}

func corpusFiles(tb testing.TB, corpus string) []string {
	tb.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(corpus, "envoy"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	slices.Sort(files)
	return files
}

func TestParseCorpus(t *testing.T) {
	corpus := sharedCorpus(t)
	raw, err := os.ReadFile(filepath.Join(corpus, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth struct {
		Files map[string]struct {
			Clusters  int `json:"envoy_clusters"`
			StrictDNS int `json:"envoy_strict_dns"`
		} `json:"files"`
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	files := corpusFiles(t, corpus)
	if len(files) == 0 {
		t.Fatal("no files under corpus/envoy")
	}
	var clusters, strictDNS, wantClusters, wantStrictDNS int
	for _, file := range files {
		rel, _ := filepath.Rel(corpus, file)
		rel = filepath.ToSlash(rel)
		t.Run(rel, func(t *testing.T) {
			want, ok := truth.Files[rel]
			if !ok {
				t.Fatalf("%s is not in truth.json", rel)
			}
			if e, ok := truthErrata[rel]; ok {
				t.Logf("truth.json says %d clusters; expecting %d: %s", want.Clusters, e.clusters, e.why)
				want.Clusters = e.clusters
			}
			wantClusters += want.Clusters
			wantStrictDNS += want.StrictDNS
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			doc := decodeYAML(t, string(data))
			format, ok := Detect(doc)
			if !ok {
				t.Fatal("not detected as an Envoy config")
			}
			out, err := Parse(doc, format)
			if err != nil {
				t.Fatalf("Parse(%s) error: %v", format, err)
			}
			got := clustersOf(t, out)
			n := 0
			for _, c := range got {
				if c.Type == "STRICT_DNS" {
					n++
				}
			}
			clusters += len(got)
			strictDNS += n
			if len(got) != want.Clusters || n != want.StrictDNS {
				t.Errorf("%s: %d clusters, %d STRICT_DNS; truth: %d, %d", format, len(got), n, want.Clusters, want.StrictDNS)
			}
		})
	}
	t.Logf("%d files: %d clusters (want %d), %d STRICT_DNS (want %d)", len(files), clusters, wantClusters, strictDNS, wantStrictDNS)
}

func BenchmarkParse(b *testing.B) {
	corpus := sharedCorpus(b)
	type config struct {
		doc    any
		format Format
	}
	var configs []config
	var size int64
	for _, file := range corpusFiles(b, corpus) {
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		size += int64(len(data))
		doc := decodeYAML(b, string(data))
		format, ok := Detect(doc)
		if !ok {
			b.Fatalf("%s: not an Envoy config", file)
		}
		configs = append(configs, config{doc, format})
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for _, c := range configs {
			if _, ok := Detect(c.doc); !ok {
				b.Fatal("not detected")
			}
			if _, err := Parse(c.doc, c.format); err != nil {
				b.Fatal(err)
			}
		}
		n += len(configs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "configs/s")
}
