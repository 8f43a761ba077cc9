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
	some s in _hits
	names := {h.host | some h in s.hosts}
	msg := sprintf(
		"%s: %s holds AWS load balancer %s %s: the client bypasses the mesh's service discovery and zone-aware routing",
		[_ref, s.where, _noun(count(names)), concat(", ", names)],
	)
	v := _violation(msg, s.path, s.hosts)
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

# The strings of a workload's containers that may name a host (env values,
# args and command) and of a ConfigMap's data, that do. Each string goes
# straight to inzone.elb_hostnames (which finds none in a non-string): nearly
# none names a host, so the type checks come after, for the few that do.
_hits contains {"path": array.concat(ps.path, [field, ci, "env", i, "value"]), "where": where, "hosts": hosts} if {
	ps := _pod_spec
	some field in ["containers", "initContainers"]
	some ci, c in ps.spec[field]
	some i, e in c.env
	hosts := inzone.elb_hostnames(e.value)
	hosts != []
	is_array(ps.spec[field])
	is_array(c.env)
	where := sprintf("%s env %v", [_container_name(field, ci, c), object.get(e, "name", i)])
}

_hits contains {"path": array.concat(ps.path, [field, ci, arg, i]), "where": where, "hosts": hosts} if {
	ps := _pod_spec
	some field in ["containers", "initContainers"]
	some ci, c in ps.spec[field]
	some arg in ["args", "command"]
	some i, s in c[arg]
	hosts := inzone.elb_hostnames(s)
	hosts != []
	is_array(ps.spec[field])
	is_array(c[arg])
	where := sprintf("%s %s[%d]", [_container_name(field, ci, c), arg, i])
}

_hits contains {"path": ["data", key], "where": sprintf("data key %s", [key]), "hosts": hosts} if {
	input.kind == "ConfigMap"
	some key, value in input.data
	hosts := inzone.elb_hostnames(value)
	hosts != []
	is_object(input.data)
}

_container_labels := {"containers": "container", "initContainers": "init container"}

_container_name(field, i, c) := sprintf("%s %v", [_container_labels[field], object.get(c, "name", i)])

# The pod spec of the workload, with its path: one rule body per kind, so
# that the rule index evaluates only the body of input.kind.
_pod_spec := {"path": ["spec"], "spec": input.spec} if input.kind == "Pod"

_pod_spec := {"path": ["spec", "template", "spec"], "spec": input.spec.template.spec} if input.kind == "Deployment"

_pod_spec := {"path": ["spec", "template", "spec"], "spec": input.spec.template.spec} if input.kind == "StatefulSet"

_pod_spec := {"path": ["spec", "template", "spec"], "spec": input.spec.template.spec} if input.kind == "DaemonSet"

_pod_spec := {"path": ["spec", "template", "spec"], "spec": input.spec.template.spec} if input.kind == "ReplicaSet"

_pod_spec := {"path": ["spec", "template", "spec"], "spec": input.spec.template.spec} if input.kind == "ReplicationController"

_pod_spec := {"path": ["spec", "template", "spec"], "spec": input.spec.template.spec} if input.kind == "Job"

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
