package inzone.rules.envoy_min_cluster_size_test

import data.inzone.rules.envoy_min_cluster_size as rule

_envoy(clusters) := {
	"apiVersion": "inzone.io/v1alpha1",
	"kind": "EnvoyConfig",
	"metadata": {"name": "envoy.yaml"},
	"format": "clusters",
	"clusters": clusters,
}

_endpoint(ip) := {"endpoint": {"address": {"socket_address": {"address": ip, "port_value": 8080}}}}

# A static cluster with n endpoints spread over two zones.
_cluster(n, common_lb_config) := {"path": ["resources", 0], "cluster": {
	"name": "web",
	"common_lb_config": common_lb_config,
	"load_assignment": {"cluster_name": "web", "endpoints": [
		{"locality": {"zone": "a"}, "lb_endpoints": [_endpoint(sprintf("10.0.0.%d", [i])) | some i in numbers.range(1, n - (n / 2))]},
		{"locality": {"zone": "b"}, "lb_endpoints": [_endpoint(sprintf("10.0.1.%d", [i])) | some i in numbers.range(1, n / 2)]},
	]},
}}

test_flags_explicit_size_above_count if {
	vs := rule.violation with input as _envoy([_cluster(4, {"zone_aware_lb_config": {"min_cluster_size": "10"}})])
	count(vs) == 1
	some v in vs
	v.path == ["resources", 0, "common_lb_config", "zone_aware_lb_config", "min_cluster_size"]
	v.msg == "Envoy cluster web: zone_aware_lb_config.min_cluster_size is 10 but the cluster has 4 endpoints: zone-aware routing never engages"
}

test_flags_numeric_size if {
	count(rule.violation) == 1 with input as _envoy([_cluster(4, {"zone_aware_lb_config": {"min_cluster_size": 5}})])
}

test_flags_default_size_above_count if {
	vs := rule.violation with input as _envoy([_cluster(4, {"zone_aware_lb_config": {"routing_enabled": {"value": 100}}})])
	some v in vs
	contains(v.msg, "min_cluster_size is unset (Envoy's default is 6) but the cluster has 4 endpoints")
}

test_flags_explicit_static_type if {
	c := json.patch(_cluster(2, {"zone_aware_lb_config": {}}), [{"op": "add", "path": "/cluster/type", "value": "STATIC"}])
	count(rule.violation) == 1 with input as _envoy([c])
}

test_allows_size_within_count if {
	count(rule.violation) == 0 with input as _envoy([_cluster(4, {"zone_aware_lb_config": {"min_cluster_size": "4"}})])
	count(rule.violation) == 0 with input as _envoy([_cluster(6, {"zone_aware_lb_config": {}})])
}

test_allows_small_cluster_without_zone_aware_config if {
	count(rule.violation) == 0 with input as _envoy([_cluster(2, {})])
}

test_allows_disabled_zone_routing if {
	count(rule.violation) == 0 with input as _envoy([_cluster(2, {"zone_aware_lb_config": {"routing_enabled": {}}})])
}

test_allows_unknown_counts if {
	eds := {"path": [0], "cluster": {"name": "a", "type": "EDS", "common_lb_config": {"zone_aware_lb_config": {"min_cluster_size": "50"}}}}
	count(rule.violation) == 0 with input as _envoy([eds])
	dns := json.patch(_cluster(2, {"zone_aware_lb_config": {}}), [{"op": "add", "path": "/cluster/type", "value": "STRICT_DNS"}])
	count(rule.violation) == 0 with input as _envoy([dns])
	no_assignment := json.remove(_cluster(2, {"zone_aware_lb_config": {}}), ["cluster/load_assignment"])
	count(rule.violation) == 0 with input as _envoy([no_assignment])
	empty := json.patch(_cluster(2, {"zone_aware_lb_config": {}}), [{"op": "remove", "path": "/cluster/load_assignment/endpoints"}])
	count(rule.violation) == 0 with input as _envoy([empty])
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as _envoy([_cluster(2, {"zone_aware_lb_config": {"min_cluster_size": "lots"}})])
	count(rule.violation) == 0 with input as _envoy([_cluster(2, {"zone_aware_lb_config": {"min_cluster_size": -3}})])
	count(rule.violation) == 0 with input as _envoy([{"cluster": {"common_lb_config": {"zone_aware_lb_config": {}}, "load_assignment": {"endpoints": "x"}}}])
}
