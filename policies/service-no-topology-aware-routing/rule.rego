# METADATA
# title: Service spreads its traffic over all zones
# description: >-
#   Without spec.trafficDistribution or topology-aware routing, kube-proxy
#   sends a Service's cluster traffic to any of its endpoints, whatever their
#   zone. Clients outside the mesh (and meshes that route through kube-proxy)
#   then cross zones for most requests.
# scope: package
# custom:
#   id: service-no-topology-aware-routing
#   severity: info
#   kinds: [Service]
#   remediation: >-
#     Set spec.trafficDistribution: PreferSameZone (PreferClose before
#     Kubernetes 1.33), or the annotation service.kubernetes.io/topology-mode: Auto.
package inzone.rules.service_no_topology_aware_routing

# Field lookups and equality first, builtin calls after: each costs more.
# A selector that is an object makes the spec one too. (A builtin's
# argument that is undefined makes the whole body undefined, even under
# not: hence object.get for the optional fields.)
violation contains {"msg": msg, "path": ["spec", "trafficDistribution"]} if {
	input.kind == "Service"
	not input.spec.clusterIP == "None"
	input.spec.selector != {}
	is_object(input.spec.selector)
	object.get(input.spec, "type", "ClusterIP") in {"ClusterIP", "NodePort", "LoadBalancer"}
	not object.get(input.spec, "trafficDistribution", null) in {"PreferSameZone", "PreferClose", "PreferSameNode"}
	not _topology_aware
	msg := sprintf(
		"%s: no trafficDistribution (PreferSameZone) and no topology-mode annotation: kube-proxy spreads its traffic over all zones",
		[_ref],
	)
}

_topology_aware if {
	some key in {"service.kubernetes.io/topology-mode", "service.kubernetes.io/topology-aware-hints"}
	v := input.metadata.annotations[key]
	is_string(v)
	lower(v) == "auto"
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
