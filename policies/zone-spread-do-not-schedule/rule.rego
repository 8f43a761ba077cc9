# METADATA
# title: Zone spread constraint blocks scheduling
# description: >-
#   A zone topologySpreadConstraint with whenUnsatisfiable DoNotSchedule and
#   maxSkew 1 leaves new pods Pending as soon as one zone is short of
#   capacity, even though the other zones could run them.
# scope: package
# custom:
#   id: zone-spread-do-not-schedule
#   severity: warning
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
#   remediation: >-
#     Use whenUnsatisfiable: ScheduleAnyway (zone-aware routing copes with an
#     uneven spread), or allow a larger maxSkew.
package inzone.rules.zone_spread_do_not_schedule

_zone_keys := {"topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"}

violation contains {"msg": msg, "path": array.concat(c.path, ["whenUnsatisfiable"])} if {
	some c in _zone_constraints
	c.constraint.whenUnsatisfiable == "DoNotSchedule"
	c.constraint.maxSkew == 1

	# Without a labelSelector the constraint counts no pods and never
	# blocks anything (zone-spread-no-selector reports that).
	c.constraint.labelSelector != null
	msg := sprintf(
		"%s: topologySpreadConstraints[%d] on %s is DoNotSchedule with maxSkew 1: pods stay Pending when a zone is short of capacity",
		[_ref, c.index, c.constraint.topologyKey],
	)
}

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
