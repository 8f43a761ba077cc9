# METADATA
# title: Replicated workload is not spread over zones
# description: >-
#   A Deployment or StatefulSet with more than one replica and no
#   topologySpreadConstraint on topology.kubernetes.io/zone may have all its
#   pods scheduled in one zone: callers in the other zones then have no
#   local endpoint, and zone-aware routing sends their traffic across zones.
# scope: package
# custom:
#   id: workload-no-zone-spread
#   severity: warning
#   kinds: [Deployment, StatefulSet]
#   remediation: >-
#     Add a topologySpreadConstraint with maxSkew 1, topologyKey
#     topology.kubernetes.io/zone, whenUnsatisfiable ScheduleAnyway, a
#     labelSelector and matchLabelKeys [pod-template-hash], or let the inzone
#     webhook add it.
package inzone.rules.workload_no_zone_spread

# The replica count first: most workloads run one replica or leave it unset.
# (Rego orders a string above every number, hence is_number after > 1.)
violation contains {"msg": msg, "path": ["spec", "template", "spec", "topologySpreadConstraints"]} if {
	replicas := input.spec.replicas
	replicas > 1
	is_number(replicas)
	input.kind in {"Deployment", "StatefulSet"}
	is_object(input.spec.template.spec)
	not _zone_spread
	msg := sprintf(
		"%s: %d replicas and no topologySpreadConstraint on topology.kubernetes.io/zone: the scheduler may put them all in one zone",
		[_ref, replicas],
	)
}

_zone_spread if {
	some c in input.spec.template.spec.topologySpreadConstraints
	c.topologyKey in {"topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"}
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
