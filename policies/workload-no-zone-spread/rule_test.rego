package inzone.rules.workload_no_zone_spread_test

import data.inzone.rules.workload_no_zone_spread as rule

_workload(kind, replicas, pod_spec) := {
	"apiVersion": "apps/v1",
	"kind": kind,
	"metadata": {"name": "web", "namespace": "shop"},
	"spec": {
		"replicas": replicas,
		"selector": {"matchLabels": {"app": "web"}},
		"template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec},
	},
}

_zone_spread := {
	"maxSkew": 1,
	"topologyKey": "topology.kubernetes.io/zone",
	"whenUnsatisfiable": "ScheduleAnyway",
	"labelSelector": {"matchLabels": {"app": "web"}},
}

_containers := [{"name": "web", "image": "nginx"}]

test_flags_deployment_without_constraints if {
	vs := rule.violation with input as _workload("Deployment", 3, {"containers": _containers})
	count(vs) == 1
	some v in vs
	v.path == ["spec", "template", "spec", "topologySpreadConstraints"]
	v.msg == "Deployment shop/web: 3 replicas and no topologySpreadConstraint on topology.kubernetes.io/zone: the scheduler may put them all in one zone"
}

test_flags_stateful_set_with_hostname_spread_only if {
	spec := {"containers": _containers, "topologySpreadConstraints": [json.patch(_zone_spread, [{"op": "replace", "path": "/topologyKey", "value": "kubernetes.io/hostname"}])]}
	count(rule.violation) == 1 with input as _workload("StatefulSet", 2, spec)
}

test_allows_zone_spread if {
	spec := {"containers": _containers, "topologySpreadConstraints": [_zone_spread]}
	count(rule.violation) == 0 with input as _workload("Deployment", 3, spec)
}

test_allows_legacy_zone_label if {
	spread := json.patch(_zone_spread, [{"op": "replace", "path": "/topologyKey", "value": "failure-domain.beta.kubernetes.io/zone"}])
	count(rule.violation) == 0 with input as _workload("Deployment", 3, {"containers": _containers, "topologySpreadConstraints": [spread]})
}

test_allows_single_or_unset_replicas if {
	count(rule.violation) == 0 with input as _workload("Deployment", 1, {"containers": _containers})
	count(rule.violation) == 0 with input as json.remove(_workload("Deployment", 3, {"containers": _containers}), ["spec/replicas"])
	count(rule.violation) == 0 with input as _workload("Deployment", 0, {"containers": _containers})
}

test_allows_other_kinds if {
	count(rule.violation) == 0 with input as _workload("DaemonSet", 3, {"containers": _containers})
	count(rule.violation) == 0 with input as _workload("ReplicaSet", 3, {"containers": _containers})
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as {"kind": "Deployment"}
	count(rule.violation) == 0 with input as {"kind": "Deployment", "spec": {"replicas": "3"}}
	count(rule.violation) == 0 with input as {"kind": "Deployment", "spec": "x"}
}
