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

# Each check reads the constraint's own fields first: nearly no pod spec has
# a zone constraint, and a builtin call costs more than a field lookup.
violation contains {"msg": msg, "path": array.concat(ps.path, ["topologySpreadConstraints", i, "whenUnsatisfiable"])} if {
	ps := _pod_spec
	some i, c in ps.spec.topologySpreadConstraints
	c.whenUnsatisfiable == "DoNotSchedule"
	c.maxSkew == 1

	# Without a labelSelector the constraint counts no pods and never
	# blocks anything (zone-spread-no-selector reports that).
	c.labelSelector != null
	c.topologyKey in {"topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"}
	is_array(ps.spec.topologySpreadConstraints)
	msg := sprintf(
		"%s: topologySpreadConstraints[%d] on %s is DoNotSchedule with maxSkew 1: pods stay Pending when a zone is short of capacity",
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
