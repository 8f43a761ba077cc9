package inzone.rules.envoy_locality_weighted_lb_test

import data.inzone.rules.envoy_locality_weighted_lb as rule

_envoy(clusters) := {
	"apiVersion": "inzone.io/v1alpha1",
	"kind": "EnvoyConfig",
	"metadata": {"name": "cds.json"},
	"format": "clusters",
	"clusters": clusters,
}

test_flags_locality_weighted_cluster if {
	vs := rule.violation with input as _envoy([{
		"path": ["resources", 2],
		"cluster": {"name": "orders", "type": "EDS", "common_lb_config": {"locality_weighted_lb_config": {}}},
	}])
	count(vs) == 1
	some v in vs
	v.path == ["resources", 2, "common_lb_config", "locality_weighted_lb_config"]
	startswith(v.msg, "Envoy cluster orders: common_lb_config.locality_weighted_lb_config is set")
}

test_flags_each_cluster if {
	count(rule.violation) == 2 with input as _envoy([
		{"path": [0], "cluster": {"name": "a", "common_lb_config": {"locality_weighted_lb_config": {}}}},
		{"path": [1], "cluster": {"name": "b", "common_lb_config": {"zone_aware_lb_config": {}}}},
		{"path": [2], "cluster": {"name": "c", "common_lb_config": {"locality_weighted_lb_config": {}}}},
	])
}

test_allows_zone_aware_cluster if {
	count(rule.violation) == 0 with input as _envoy([{
		"path": [0],
		"cluster": {"name": "a", "common_lb_config": {"zone_aware_lb_config": {"min_cluster_size": "3"}}},
	}])
}

test_allows_cluster_without_common_lb_config if {
	count(rule.violation) == 0 with input as _envoy([{"path": [0], "cluster": {"name": "a"}}])
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as {"kind": "EnvoyConfig"}
	count(rule.violation) == 0 with input as _envoy([{"cluster": {"common_lb_config": "x"}}, 7])
	count(rule.violation) == 0 with input as _envoy("x")
}
