package inzone.rules.zone_spread_do_not_schedule_test

import data.inzone.rules.zone_spread_do_not_schedule as rule

_statefulset(constraints) := {
	"apiVersion": "apps/v1",
	"kind": "StatefulSet",
	"metadata": {"name": "db", "namespace": "data"},
	"spec": {"replicas": 3, "template": {"spec": {
		"topologySpreadConstraints": constraints,
		"containers": [{"name": "db"}],
	}}},
}

_strict := {
	"maxSkew": 1,
	"topologyKey": "topology.kubernetes.io/zone",
	"whenUnsatisfiable": "DoNotSchedule",
	"labelSelector": {"matchLabels": {"app": "db"}},
}

test_flags_do_not_schedule_with_max_skew_1 if {
	vs := rule.violation with input as _statefulset([_strict])
	count(vs) == 1
	some v in vs
	v.path == ["spec", "template", "spec", "topologySpreadConstraints", 0, "whenUnsatisfiable"]
	v.msg == "StatefulSet data/db: topologySpreadConstraints[0] on topology.kubernetes.io/zone is DoNotSchedule with maxSkew 1: pods stay Pending when a zone is short of capacity"
}

test_flags_pod if {
	vs := rule.violation with input as {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"topologySpreadConstraints": [_strict]}}
	some v in vs
	v.path == ["spec", "topologySpreadConstraints", 0, "whenUnsatisfiable"]
}

test_allows_schedule_anyway if {
	c := object.union(_strict, {"whenUnsatisfiable": "ScheduleAnyway"})
	count(rule.violation) == 0 with input as _statefulset([c])
}

test_allows_larger_skew if {
	count(rule.violation) == 0 with input as _statefulset([object.union(_strict, {"maxSkew": 2})])
}

test_allows_host_constraint if {
	c := object.union(_strict, {"topologyKey": "kubernetes.io/hostname"})
	count(rule.violation) == 0 with input as _statefulset([c])
}

test_allows_constraint_without_selector if {
	count(rule.violation) == 0 with input as _statefulset([json.remove(_strict, ["labelSelector"])])
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as {"kind": "StatefulSet", "spec": []}
	count(rule.violation) == 0 with input as _statefulset({"a": _strict})
	count(rule.violation) == 0 with input as _statefulset([object.union(_strict, {"maxSkew": "1"})])
}

# The pod spec is found per kind: every workload kind's template is read.
test_flags_every_template_kind if {
	every kind in ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"] {
		count(rule.violation) == 1 with input as object.union(_statefulset([_strict]), {"kind": kind})
	}
}
