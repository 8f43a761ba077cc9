package envoy

import (
	"fmt"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// TestBuild: where the builder takes a value, it gives the message the
// normalizer's JSON gives protojson; it gives up on what it does not
// reproduce, leaving that (and every error) to the JSON way.
func TestBuild(t *testing.T) {
	type buildCase struct {
		name  string
		doc   string // YAML; empty for the case with invalid UTF-8
		taken bool
	}
	tests := []buildCase{
		{"plain cluster", "name: a\ntype: STRICT_DNS\nconnect_timeout: 0.25s\nlb_policy: ROUND_ROBIN\n", true},
		{"enum names in any case and camelCase keys", "name: a\ntype: strict_dns\nlbPolicy: Maglev\ndnsLookupFamily: v4_only\n", true},
		{"enum numbers", "name: a\ntype: 1\nlb_policy: '2'\n", true},
		{"strings, booleans and numbers for one another", "name: 5\nper_connection_buffer_limit_bytes: '1024'\nrespect_dns_ttl: 'yes'\ncommon_lb_config: {healthy_panic_threshold: {value: '12.5'}}\n", true},
		{"durations", "name: a\nconnect_timeout: -0.000000001s\ndns_refresh_rate: 315575999999.999999999s\ncleanup_interval: 0s\n", true},
		{"a single value in place of a list", "name: a\nhealth_checks: {timeout: 1s, interval: 2s, http_health_check: {path: /}}\n", true},
		{"struct values", "name: a\nmetadata: {filter_metadata: {x: {s: text, i: 12345678901234567890, f: -0.5, z: -0, b: false, n: null, l: [1, [2], {}], o: {}}}}\n", true},
		{"typed configs", "name: a\ntyped_extension_protocol_options:\n  h: {'@type': type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions, explicit_http_config: {http2_protocol_options: {}}}\n  s: {'@type': type.googleapis.com/google.protobuf.Struct, value: {a: 1}}\n  w: {'@type': type.googleapis.com/google.protobuf.StringValue, value: x}\n  n: {'@type': type.googleapis.com/google.protobuf.Any, value: {'@type': type.googleapis.com/google.protobuf.UInt32Value, value: 3}}\n  e: {}\n", true},
		{"a v2 type name", "name: a\ntyped_extension_protocol_options: {x: {'@type': type.googleapis.com/envoy.api.v2.Cluster, name: b}}\n", true},
		{"null fields", "name: a\nconnect_timeout: null\nload_assignment: null\n", true},
		{"a field by both names", "name: a\nconnect_timeout: 1s\nconnectTimeout: 2s\n", false},
		{"two fields of a oneof", "name: a\ntype: STATIC\ncluster_type: {name: x}\n", false},
		{"an integer with a leading zero", "name: a\nper_connection_buffer_limit_bytes: '007'\n", false},
		{"minus zero for an integer", "name: a\nper_connection_buffer_limit_bytes: '-0'\n", false},
		{"an integer out of range", "name: a\nper_connection_buffer_limit_bytes: 4294967296\n", false},
		{"a duration with a leading zero", "name: a\nconnect_timeout: 01s\n", false},
		{"a duration object", "name: a\nconnect_timeout: {seconds: 1}\n", false},
		{"a duration out of range", "name: a\nconnect_timeout: 315576000001s\n", false},
		{"a wrapper object", "name: a\nper_connection_buffer_limit_bytes: {value: 5}\n", false},
		{"bytes", "name: a\ntyped_extension_protocol_options: {x: {'@type': type.googleapis.com/google.protobuf.BytesValue, value: AAE=}}\n", false},
		{"a timestamp", "name: a\ntyped_extension_protocol_options: {x: {'@type': type.googleapis.com/google.protobuf.Timestamp, value: '2020-01-01T00:00:00Z'}}\n", false},
		{"a well-known type without value", "name: a\ntyped_extension_protocol_options: {x: {'@type': type.googleapis.com/google.protobuf.Struct}}\n", false},
		{"a map with keys that are not strings", "name: a\nmetadata: {filter_metadata: {x: {1: a}}}\n", false},
		{"NaN in a struct", "name: a\nmetadata: {filter_metadata: {x: {a: .nan}}}\n", false},
		{"a null list element", "name: a\nhealth_checks: [null]\n", false},
		{"nested lists", "name: a\nhealth_checks: [[{timeout: 1s}]]\n", false},
		{"an unknown field", "name: a\nconect_timeout: 1s\n", false},
		{"an unknown enum name", "name: a\nlb_policy: ROUND_ROBBIN\n", false},
		{"an unknown type", "name: a\ntyped_extension_protocol_options: {x: {'@type': type.googleapis.com/no.Such}}\n", false},
	}
	for _, tt := range append(tests, buildCase{"invalid UTF-8", "", false}) {
		t.Run(tt.name, func(t *testing.T) {
			doc := decodeYAML(t, tt.doc)
			if tt.doc == "" {
				// YAML cannot say it.
				doc = map[string]any{"name": "a\xff", "alt_stat_name": "b"}
			}
			built := &clusterv3.Cluster{}
			_, taken := build(built, doc, nil)
			if taken != tt.taken {
				t.Errorf("builder took it: %v, want %v", taken, tt.taken)
			}
			viaJSON := &clusterv3.Cluster{}
			err := readJSON(viaJSON, doc, nil)
			if !taken {
				if !proto.Equal(built, &clusterv3.Cluster{}) {
					t.Errorf("the builder gave up but left %v", prototext.Format(built))
				}
				return
			}
			if err != nil {
				t.Fatalf("the builder took what the JSON way rejects: %v", err)
			}
			if !proto.Equal(built, viaJSON) {
				t.Errorf("built:\n%v\nthrough JSON:\n%v", prototext.Format(built), prototext.Format(viaJSON))
			}
		})
	}
}

// TestParseEdgeCasesAgreeAndRepeat: inputs where the builder once
// differed from the JSON way (a type URL with invalid UTF-8, which the JSON
// way writes as U+FFFD), or where the error depended on map iteration; each
// must give the JSON way's result, and the same one on every run.
func TestParseEdgeCasesAgreeAndRepeat(t *testing.T) {
	cluster := func(extra map[string]any) any {
		c := map[string]any{"name": "a"}
		for k, v := range extra {
			c[k] = v
		}
		return map[string]any{"static_resources": map[string]any{"clusters": []any{c}}}
	}
	badCluster := map[string]any{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster"} // no name: fails validation
	tests := []struct {
		name    string
		doc     any
		wantErr string // empty: parses
	}{
		{"a type URL with invalid UTF-8", cluster(map[string]any{"typed_extension_protocol_options": map[string]any{
			"x": map[string]any{"@type": "\xff/type.googleapis.com/google.protobuf.Struct", "value": map[string]any{}}}}), ""},
		{"two Anys failing validation", cluster(map[string]any{"typed_extension_protocol_options": map[string]any{
			"y": badCluster, "x": badCluster, "z": badCluster}}), "typed_extension_protocol_options.x"},
		{"two unknown keys in a wrapper object", cluster(map[string]any{"per_connection_buffer_limit_bytes": map[string]any{
			"c": 2, "a": 1, "value": 3}}), `"a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkViaJSON(t, tt.name, tt.doc, Bootstrap)
			_, first := Parse(tt.doc, Bootstrap)
			if (first == nil) != (tt.wantErr == "") || (first != nil && !strings.Contains(first.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want one naming %s", first, tt.wantErr)
			}
			for i := 0; i < 30; i++ {
				if _, err := Parse(tt.doc, Bootstrap); fmt.Sprint(err) != fmt.Sprint(first) {
					t.Fatalf("run %d: error %v, first run %v", i, err, first)
				}
			}
		})
	}
}

// TestValidBuiltAgreesWithValidate checks the builder path's shortcut
// against the walk it stands in for: validBuilt says yes exactly when
// validate finds nothing, wherever the violation is.
func TestValidBuiltAgreesWithValidate(t *testing.T) {
	const hcm = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
	const router = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
	listener := func(hcmFields, routerFields string) string {
		return `static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 0.0.0.0, port_value: 80}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          '@type': ` + hcm + `
          stat_prefix: in
          ` + hcmFields + `
          route_config: {name: r}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {'@type': ` + router + routerFields + `}
`
	}
	for _, tt := range []struct {
		name, doc string
		valid     bool
	}{
		{"valid", listener("", ""), true},
		{"an empty Any", "static_resources:\n  clusters:\n  - name: a\n    typed_extension_protocol_options: {x: {}}\n", true},
		{"at the root", "stats_flush_interval: 0.0001s\n", false},
		{"in an embedded message", "static_resources:\n  clusters:\n  - name: ''\n", false},
		{"inside an Any", listener("codec_type: 7", ""), false},
		{"inside an Any in a map", "static_resources:\n  clusters:\n  - name: a\n    typed_extension_protocol_options: {x: {'@type': " + hcm + ", codec_type: 7}}\n", false},
		{"inside an Any inside an Any's message", listener("", ", upstream_log: [{name: l, typed_config: {'@type': type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog, path: ''}}]"), false},
		{"valid inside an Any inside an Any's message", listener("", ", upstream_log: [{name: l, typed_config: {'@type': type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog, path: /dev/stdout}}]"), true},
		{"inside an Any that an Any holds", "static_resources:\n  clusters:\n  - name: a\n    typed_extension_protocol_options: {x: {'@type': type.googleapis.com/google.protobuf.Any, value: {'@type': " + hcm + ", codec_type: 7}}}\n", false},
		{"valid inside an Any that an Any holds", "static_resources:\n  clusters:\n  - name: a\n    typed_extension_protocol_options: {x: {'@type': type.googleapis.com/google.protobuf.Any, value: {'@type': " + router + "}}}\n", true},
		{"a root that is an Any", "{'@type': type.googleapis.com/envoy.config.cluster.v3.Cluster, name: ''}", false},
		{"a valid root that is an Any", "{'@type': type.googleapis.com/envoy.config.cluster.v3.Cluster, name: a}", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := decodeYAML(t, tt.doc)
			p := &parser{doc: doc, anys: map[*anypb.Any]proto.Message{}}
			var msg proto.Message = &bootstrapv3.Bootstrap{}
			if m, _ := doc.(map[string]any); m["@type"] != nil {
				msg = &anypb.Any{}
			}
			built, ok := build(msg, doc, p.anys)
			if !ok {
				t.Fatal("the builder gave up; the case tests nothing")
			}
			err := p.validate(msg, doc, nil)
			if got := p.validBuilt(msg, built); got != tt.valid || got != (err == nil) {
				t.Errorf("validBuilt %v, validate: %v; want valid %v", got, err, tt.valid)
			}
		})
	}
}
