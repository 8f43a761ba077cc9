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
# args and command) and of a ConfigMap's data, that do. Each string is
# looked at before anything is built for it: nearly none names a host.
_hits contains {"path": array.concat(_container_path(ref), ["env", i, "value"]), "where": where, "hosts": hosts} if {
	some ref in _containers
	c := _pod_spec.spec[ref[0]][ref[1]]
	is_array(c.env)
	some i, e in c.env
	is_string(e.value)
	hosts := inzone.elb_hostnames(e.value)
	count(hosts) > 0
	where := sprintf("%s env %v", [_container_name(ref, c), object.get(e, "name", i)])
}

_hits contains {"path": array.concat(_container_path(ref), [field, i]), "where": where, "hosts": hosts} if {
	some ref in _containers
	c := _pod_spec.spec[ref[0]][ref[1]]
	some field in ["args", "command"]
	is_array(c[field])
	some i, s in c[field]
	is_string(s)
	hosts := inzone.elb_hostnames(s)
	count(hosts) > 0
	where := sprintf("%s %s[%d]", [_container_name(ref, c), field, i])
}

_hits contains {"path": ["data", key], "where": sprintf("data key %s", [key]), "hosts": hosts} if {
	input.kind == "ConfigMap"
	is_object(input.data)
	some key, value in input.data
	is_string(value)
	hosts := inzone.elb_hostnames(value)
	count(hosts) > 0
}

# The containers of the pod spec, as [field, index]: small set elements,
# not whole containers.
_containers contains [field, i] if {
	ps := _pod_spec
	is_object(ps.spec)
	some field in ["containers", "initContainers"]
	is_array(ps.spec[field])
	some i, c in ps.spec[field]
	is_object(c)
}

_container_path(ref) := array.concat(_pod_spec.path, ref)

_container_labels := {"containers": "container", "initContainers": "init container"}

_container_name(ref, c) := sprintf("%s %v", [_container_labels[ref[0]], object.get(c, "name", ref[1])])

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
