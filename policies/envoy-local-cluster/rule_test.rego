package inzone.rules.envoy_local_cluster_test

import data.inzone.rules.envoy_local_cluster as rule

_bootstrap(b) := {
	"apiVersion": "inzone.io/v1alpha1",
	"kind": "EnvoyConfig",
	"metadata": {"name": "bootstrap.yaml"},
	"format": "bootstrap",
	"bootstrap": b,
	"clusters": [{"path": ["static_resources", "clusters", i], "cluster": c} |
		some i, c in object.get(b, ["static_resources", "clusters"], [])
	],
}

_static := {"clusters": [{"name": "app"}, {"name": "backend", "type": "EDS"}]}

test_flags_missing_local_cluster_name_as_warning if {
	vs := rule.violation with input as _bootstrap({"static_resources": _static})
	count(vs) == 1
	some v in vs
	v.severity == "warning"
	v.path == ["cluster_manager", "local_cluster_name"]
	contains(v.msg, "Envoy bootstrap bootstrap.yaml: cluster_manager.local_cluster_name is unset")
}

test_flags_empty_local_cluster_name if {
	vs := rule.violation with input as _bootstrap({
		"static_resources": _static,
		"cluster_manager": {"local_cluster_name": ""},
	})
	some v in vs
	v.severity == "warning"
}

test_flags_unknown_local_cluster_as_error if {
	vs := rule.violation with input as _bootstrap({
		"static_resources": _static,
		"cluster_manager": {"local_cluster_name": "ap"},
	})
	count(vs) == 1
	some v in vs
	not v.severity
	contains(v.msg, `names cluster "ap", which does not exist`)
}

test_flags_missing_name_with_cds_only if {
	count(rule.violation) == 1 with input as _bootstrap({"dynamic_resources": {"cds_config": {"ads": {}}}})
}

test_allows_static_local_cluster if {
	count(rule.violation) == 0 with input as _bootstrap({
		"static_resources": _static,
		"cluster_manager": {"local_cluster_name": "app"},
	})
}

test_allows_local_cluster_from_cds if {
	count(rule.violation) == 0 with input as _bootstrap({
		"static_resources": _static,
		"dynamic_resources": {"cds_config": {"ads": {}, "resource_api_version": "V3"}},
		"cluster_manager": {"local_cluster_name": "outbound|8080||app.shop.svc.cluster.local"},
	})
}

test_allows_bootstrap_without_clusters if {
	count(rule.violation) == 0 with input as _bootstrap({"admin": {"address": {}}})
}

test_allows_cluster_lists if {
	count(rule.violation) == 0 with input as {
		"kind": "EnvoyConfig",
		"format": "clusters",
		"clusters": [{"path": [0], "cluster": {"name": "a"}}],
	}
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as {"kind": "EnvoyConfig", "format": "bootstrap"}
	count(rule.violation) == 0 with input as {"kind": "EnvoyConfig", "format": "bootstrap", "bootstrap": "x"}
}
