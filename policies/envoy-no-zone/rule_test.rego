package inzone.rules.envoy_no_zone_test

import data.inzone.rules.envoy_no_zone as rule

_bootstrap(b) := {
	"apiVersion": "inzone.io/v1alpha1",
	"kind": "EnvoyConfig",
	"metadata": {"name": "envoy.yaml"},
	"format": "bootstrap",
	"bootstrap": b,
	"clusters": [],
}

test_flags_bootstrap_without_node if {
	vs := rule.violation with input as _bootstrap({"admin": {}})
	count(vs) == 1
	some v in vs
	v.path == ["node", "locality", "zone"]
	contains(v.msg, "Envoy bootstrap envoy.yaml: node.locality.zone is unset")
	contains(v.msg, "--service-zone")
}

test_flags_locality_without_zone if {
	count(rule.violation) == 1 with input as _bootstrap({"node": {"id": "a", "locality": {"region": "us-east-1"}}})
}

test_flags_empty_zone if {
	count(rule.violation) == 1 with input as _bootstrap({"node": {"locality": {"zone": ""}}})
}

test_allows_zone if {
	count(rule.violation) == 0 with input as _bootstrap({"node": {"id": "a", "locality": {"region": "us-east-1", "zone": "us-east-1a"}}})
}

test_allows_cluster_lists if {
	count(rule.violation) == 0 with input as {"kind": "EnvoyConfig", "format": "clusters", "clusters": []}
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as {"kind": "EnvoyConfig", "format": "bootstrap"}
	count(rule.violation) == 0 with input as {"kind": "ConfigMap", "format": "bootstrap", "bootstrap": {}}
}
