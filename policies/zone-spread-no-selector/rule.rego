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

_zone_keys := {"topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"}

violation contains {"msg": msg, "path": array.concat(c.path, ["labelSelector"])} if {
	some c in _zone_constraints
	not _has_selector(c.constraint)
	msg := sprintf(
		"%s: topologySpreadConstraints[%d] on %s has no labelSelector: it counts no pods and does nothing",
		[_ref, c.index, c.constraint.topologyKey],
	)
}

_has_selector(c) if c.labelSelector != null

# The zone constraints of the pod spec, with their paths.
_zone_constraints contains {"path": array.concat(ps.path, ["topologySpreadConstraints", i]), "index": i, "constraint": c} if {
	ps := _pod_spec
	is_array(ps.spec.topologySpreadConstraints)
	some i, c in ps.spec.topologySpreadConstraints
	c.topologyKey in _zone_keys
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
