# METADATA
# title: Zone spread constraint has no labelSelector
# description: >-
#   A topologySpreadConstraint counts the pods its labelSelector matches.
#   Without a labelSelector it counts none, so every zone always looks
#   balanced and the constraint does nothing.
# scope: package
# custom:
#   id: zone-spread-no-selector
#   severity: error
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
#   remediation: >-
#     Give the constraint a labelSelector matching the pod template's labels
#     (and matchLabelKeys [pod-template-hash] for a Deployment).
package inzone.rules.zone_spread_no_selector

# Each check reads the constraint's own fields first: nearly no pod spec has
# a zone constraint, and a builtin call costs more than a field lookup.
violation contains {"msg": msg, "path": array.concat(ps.path, ["topologySpreadConstraints", i, "labelSelector"])} if {
	ps := _pod_spec
	some i, c in ps.spec.topologySpreadConstraints
	c.topologyKey in {"topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"}
	object.get(c, "labelSelector", null) == null
	is_array(ps.spec.topologySpreadConstraints)
	msg := sprintf(
		"%s: topologySpreadConstraints[%d] on %s has no labelSelector: it counts no pods and does nothing",
		[_ref, i, c.topologyKey],
	)
}

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
