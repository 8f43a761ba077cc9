package inzone.rules.aws_elb_hostname_test

import data.inzone.rules.aws_elb_hostname as rule

_nlb := "orders-1a2b3c4d5e6f7a8b.elb.us-east-1.amazonaws.com"

_alb := "internal-payments-123456789.eu-west-1.elb.amazonaws.com"

_deployment(containers) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web", "namespace": "shop"},
	"spec": {"template": {"spec": {"containers": containers}}},
}

test_flags_env_value if {
	vs := rule.violation with input as _deployment([{
		"name": "app",
		"env": [
			{"name": "PORT", "value": "8080"},
			{"name": "ORDERS_URL", "value": sprintf("http://%s:8080/v1", [_nlb])},
		],
	}])
	count(vs) == 1
	some v in vs
	v.path == ["spec", "template", "spec", "containers", 0, "env", 1, "value"]
	v.msg == sprintf("Deployment shop/web: container app env ORDERS_URL holds AWS load balancer hostname %s: the client bypasses the mesh's service discovery and zone-aware routing", [_nlb])
	not v.hint
}

test_flags_args_and_command_of_init_containers if {
	pod := {
		"apiVersion": "v1",
		"kind": "Pod",
		"metadata": {"name": "job-1"},
		"spec": {
			"initContainers": [{"name": "wait", "command": ["sh", "-c", sprintf("until nc -z %s 443; do sleep 1; done", [_alb])]}],
			"containers": [{"name": "main", "args": ["--upstream", _nlb, "--fallback", sprintf("%s,%s", [_alb, _nlb])]}],
		},
	}
	vs := rule.violation with input as pod
	paths := {v.path | some v in vs}
	paths == {
		["spec", "initContainers", 0, "command", 2],
		["spec", "containers", 0, "args", 1],
		["spec", "containers", 0, "args", 3],
	}
	some v in vs
	v.path == ["spec", "containers", 0, "args", 3]
	contains(v.msg, "Pod job-1: container main args[3] holds AWS load balancer hostnames ")
	some w in vs
	w.path[1] == "initContainers"
	contains(w.msg, "init container wait command[2]")
}

test_flags_cron_job if {
	cron := {
		"apiVersion": "batch/v1",
		"kind": "CronJob",
		"metadata": {"name": "report", "namespace": "ops"},
		"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "r", "env": [{"name": "API", "value": _alb}]}]}}}}},
	}
	vs := rule.violation with input as cron
	some v in vs
	v.path == ["spec", "jobTemplate", "spec", "template", "spec", "containers", 0, "env", 0, "value"]
}

test_flags_config_map_value if {
	cm := {
		"apiVersion": "v1",
		"kind": "ConfigMap",
		"metadata": {"name": "app-config", "namespace": "shop"},
		"data": {"application.yaml": sprintf("orders:\n  url: https://%s\n", [_nlb]), "LOG_LEVEL": "info"},
	}
	vs := rule.violation with input as cm
	count(vs) == 1
	some v in vs
	v.path == ["data", "application.yaml"]
	startswith(v.msg, "ConfigMap shop/app-config: data key application.yaml holds AWS load balancer hostname ")
}

test_flags_with_ddsd_hint if {
	vs := rule.violation with input as _deployment([{"name": "app", "env": [{"name": "X", "value": _nlb}]}])
		with inzone.elb_hostnames as [{"host": _nlb, "key": _nlb, "ddsd": "orders.shop.ddsd"}]
	some v in vs
	v.hint == sprintf("use orders.shop.ddsd (the DDSD name) instead of %s", [_nlb])
}

test_allows_other_hostnames if {
	count(rule.violation) == 0 with input as _deployment([{
		"name": "app",
		"env": [
			{"name": "ORDERS_URL", "value": "http://orders.shop.svc.cluster.local:8080"},
			{"name": "BUCKET", "value": "s3.us-east-1.amazonaws.com"},
			{"name": "EVIL", "value": sprintf("%s.evil.com", [_nlb])},
			{"name": "FROM", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "y"}}},
		],
		"args": ["--port", "8080"],
	}])
}

test_allows_other_kinds if {
	count(rule.violation) == 0 with input as {
		"apiVersion": "v1",
		"kind": "Secret",
		"metadata": {"name": "s"},
		"stringData": {"url": _nlb},
	}
	count(rule.violation) == 0 with input as {
		"apiVersion": "v1",
		"kind": "Service",
		"metadata": {"name": "s"},
		"spec": {"type": "ExternalName", "externalName": _nlb},
	}
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as {"kind": "Deployment"}
	count(rule.violation) == 0 with input as {"kind": "Deployment", "spec": {"template": {"spec": {"containers": "x"}}}}
	count(rule.violation) == 0 with input as _deployment([7, {"env": "x", "args": {"a": _nlb}}, {"env": [{"value": 3}, "x"]}])
	count(rule.violation) == 0 with input as {"kind": "ConfigMap", "data": [_nlb]}
	count(rule.violation) == 0 with input as {"kind": "Pod", "spec": {"containers": [{"command": [1, null, {}]}]}}
}

# The pod spec is found per kind: every workload kind's template is read.
test_flags_every_template_kind if {
	every kind in ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"] {
		count(rule.violation) == 1 with input as object.union(_deployment([{"name": "app", "args": [_nlb]}]), {"kind": kind})
	}
}

# The type checks come after the lookup of the hostnames: a hostname in a
# list that is not an array is still not read.
test_allows_hostnames_outside_arrays if {
	count(rule.violation) == 0 with input as _deployment({"app": {"env": [{"value": _nlb}]}})
	count(rule.violation) == 0 with input as _deployment([{"env": {"URL": {"value": _nlb}}}])
	count(rule.violation) == 0 with input as _deployment([{"command": {"0": _nlb}}])
}
