# METADATA
# title: Workload calls an AWS load balancer by its hostname
# description: >-
#   A client configured with an AWS load balancer hostname (in a container's
#   env, args or command, or in a ConfigMap) sends its traffic out through
#   the load balancer, which picks a target in any zone: it bypasses the
#   mesh's service discovery and its zone-aware routing.
# scope: package
# custom:
#   id: aws-elb-hostname
#   severity: warning
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, ConfigMap]
#   remediation: >-
#     Call the service by its in-cluster or DDSD name instead of the load
#     balancer's hostname (the inzone webhook can rewrite known ones).
package inzone.rules.aws_elb_hostname

violation contains v if {
	some s in _strings
	hosts := inzone.elb_hostnames(s.value)
	count(hosts) > 0
	names := {h.host | some h in hosts}
	msg := sprintf(
		"%s: %s holds AWS load balancer %s %s: the client bypasses the mesh's service discovery and zone-aware routing",
		[_ref, s.where, _noun(count(names)), concat(", ", names)],
	)
	v := _violation(msg, s.path, hosts)
}

_noun(1) := "hostname"

_noun(n) := "hostnames" if n != 1

_violation(msg, path, hosts) := {"msg": msg, "path": path, "hint": hint} if {
	uses := {sprintf("use %s (the DDSD name) instead of %s", [h.ddsd, h.host]) |
		some h in hosts
		h.ddsd != ""
	}
	count(uses) > 0
	hint := concat("; ", uses)
} else := {"msg": msg, "path": path}

# The strings of a workload's containers that may name a host: env values,
# args and command.
_strings contains {"path": array.concat(c.path, ["env", i, "value"]), "where": where, "value": e.value} if {
	some c in _containers
	is_array(c.container.env)
	some i, e in c.container.env
	is_string(e.value)
	where := sprintf("%s env %v", [c.name, object.get(e, "name", i)])
}

_strings contains {"path": array.concat(c.path, [field, i]), "where": where, "value": s} if {
	some c in _containers
	some field in ["args", "command"]
	is_array(c.container[field])
	some i, s in c.container[field]
	is_string(s)
	where := sprintf("%s %s[%d]", [c.name, field, i])
}

_strings contains {"path": ["data", key], "where": sprintf("data key %s", [key]), "value": value} if {
	input.kind == "ConfigMap"
	is_object(input.data)
	some key, value in input.data
	is_string(value)
}

_containers contains {"path": array.concat(ps.path, [field, i]), "name": name, "container": c} if {
	ps := _pod_spec
	is_object(ps.spec)
	some field, label in {"containers": "container", "initContainers": "init container"}
	is_array(ps.spec[field])
	some i, c in ps.spec[field]
	is_object(c)
	name := sprintf("%s %v", [label, object.get(c, "name", i)])
}

_template_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}

_pod_spec := {"path": ["spec"], "spec": input.spec} if input.kind == "Pod"

_pod_spec := {"path": ["spec", "template", "spec"], "spec": input.spec.template.spec} if {
	input.kind in _template_kinds
}

_pod_spec := {
	"path": ["spec", "jobTemplate", "spec", "template", "spec"],
	"spec": input.spec.jobTemplate.spec.template.spec,
} if {
	input.kind == "CronJob"
}

_name := n if {
	n := input.metadata.name
	is_string(n)
} else := "<unnamed>"

_ref := sprintf("%s %s/%s", [input.kind, ns, _name]) if {
	ns := input.metadata.namespace
	is_string(ns)
	ns != ""
} else := sprintf("%s %s", [input.kind, _name])
