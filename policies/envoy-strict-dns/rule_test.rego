package inzone.rules.envoy_strict_dns_test

import data.inzone.rules.envoy_strict_dns as rule

_envoy(clusters) := {
	"apiVersion": "inzone.io/v1alpha1",
	"kind": "EnvoyConfig",
	"metadata": {"name": "envoy.yaml"},
	"format": "clusters",
	"clusters": clusters,
}

_filter(patches) := {
	"apiVersion": "networking.istio.io/v1alpha3",
	"kind": "EnvoyFilter",
	"metadata": {"name": "legacy-db", "namespace": "shop"},
	"spec": {"configPatches": patches},
}

test_flags_strict_dns_cluster if {
	vs := rule.violation with input as _envoy([{
		"path": ["static_resources", "clusters", 0],
		"cluster": {"name": "backend", "type": "STRICT_DNS"},
	}])
	count(vs) == 1
	some v in vs
	v.path == ["static_resources", "clusters", 0, "type"]
	contains(v.msg, "Envoy cluster backend")
	contains(v.msg, "STRICT_DNS")
}

test_flags_logical_dns_cluster if {
	vs := rule.violation with input as _envoy([
		{"path": [0], "cluster": {"name": "a", "type": "EDS"}},
		{"path": [1], "cluster": {"name": "b", "type": "LOGICAL_DNS"}},
	])
	count(vs) == 1
	some v in vs
	v.path == [1, "type"]
	contains(v.msg, "Envoy cluster b: type is LOGICAL_DNS")
}

test_flags_lower_case_type if {
	vs := rule.violation with input as _envoy([{"path": [0], "cluster": {"name": "a", "type": "strict_dns"}}])
	some v in vs
	contains(v.msg, "STRICT_DNS")
}

test_flags_envoy_filter_cluster_patch if {
	vs := rule.violation with input as _filter([
		{"applyTo": "LISTENER", "patch": {"operation": "MERGE", "value": {"type": "STRICT_DNS"}}},
		{"applyTo": "CLUSTER", "patch": {"operation": "ADD", "value": {"name": "db", "type": "strict_dns"}}},
	])
	count(vs) == 1
	some v in vs
	v.path == ["spec", "configPatches", 1, "patch", "value", "type"]
	startswith(v.msg, "EnvoyFilter shop/legacy-db: configPatches[1]")
	contains(v.msg, "STRICT_DNS")
}

test_allows_eds_and_static_clusters if {
	count(rule.violation) == 0 with input as _envoy([
		{"path": [0], "cluster": {"name": "a", "type": "EDS"}},
		{"path": [1], "cluster": {"name": "b"}},
		{"path": [2], "cluster": {"name": "c", "type": "STATIC"}},
	])
}

test_allows_envoy_filter_eds_patch if {
	count(rule.violation) == 0 with input as _filter([{
		"applyTo": "CLUSTER",
		"patch": {"operation": "ADD", "value": {"name": "db", "type": "EDS"}},
	}])
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as {"kind": "EnvoyConfig"}
	count(rule.violation) == 0 with input as {"kind": "EnvoyConfig", "clusters": [{"cluster": {"type": 1}}, "x"]}
	count(rule.violation) == 0 with input as {"kind": "EnvoyFilter", "apiVersion": 3, "spec": {"configPatches": "x"}}
	count(rule.violation) == 0 with input as {"kind": "Service", "spec": {"type": "STRICT_DNS"}}
}
