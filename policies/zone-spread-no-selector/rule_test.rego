package inzone.rules.zone_spread_no_selector_test

import data.inzone.rules.zone_spread_no_selector as rule

_deployment(constraints) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web", "namespace": "shop"},
	"spec": {"replicas": 3, "template": {"spec": {
		"topologySpreadConstraints": constraints,
		"containers": [{"name": "web"}],
	}}},
}

_zone := {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}

_host := {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}

_selector := {"matchLabels": {"app": "web"}}

test_flags_zone_constraint_without_selector if {
	vs := rule.violation with input as _deployment([_host, _zone])
	count(vs) == 1
	some v in vs
	v.path == ["spec", "template", "spec", "topologySpreadConstraints", 1, "labelSelector"]
	v.msg == "Deployment shop/web: topologySpreadConstraints[1] on topology.kubernetes.io/zone has no labelSelector: it counts no pods and does nothing"
}

test_flags_pod if {
	pod := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"topologySpreadConstraints": [_zone]}}
	vs := rule.violation with input as pod
	some v in vs
	v.path == ["spec", "topologySpreadConstraints", 0, "labelSelector"]
}

test_flags_cron_job_and_null_selector if {
	c := object.union(_zone, {"labelSelector": null})
	cron := {"kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {"topologySpreadConstraints": [c]}}}}}}
	vs := rule.violation with input as cron
	some v in vs
	v.path == ["spec", "jobTemplate", "spec", "template", "spec", "topologySpreadConstraints", 0, "labelSelector"]
}

test_allows_constraint_with_selector if {
	count(rule.violation) == 0 with input as _deployment([object.union(_zone, {"labelSelector": _selector})])
}

test_allows_host_constraint_without_selector if {
	count(rule.violation) == 0 with input as _deployment([_host])
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as {"kind": "Deployment"}
	count(rule.violation) == 0 with input as _deployment("x")
	count(rule.violation) == 0 with input as _deployment([7, "x", null])
	count(rule.violation) == 0 with input as {"kind": "Service", "spec": {"topologySpreadConstraints": [_zone]}}
}

# The pod spec is found per kind: every workload kind's template is read.
test_flags_every_template_kind if {
	every kind in ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"] {
		count(rule.violation) == 1 with input as object.union(_deployment([_zone]), {"kind": kind})
	}
}

# Only an absent or null labelSelector is missing; the list must be an array.
test_allows_false_selector_and_constraints_outside_arrays if {
	count(rule.violation) == 0 with input as _deployment([object.union(_zone, {"labelSelector": false})])
	count(rule.violation) == 0 with input as _deployment({"zone": _zone})
}
