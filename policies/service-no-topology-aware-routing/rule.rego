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

_distributions := {"PreferSameZone", "PreferClose", "PreferSameNode"}

_topology_annotations := {"service.kubernetes.io/topology-mode", "service.kubernetes.io/topology-aware-hints"}

violation contains {"msg": msg, "path": ["spec", "trafficDistribution"]} if {
	input.kind == "Service"
	is_object(input.spec)
	_type in {"ClusterIP", "NodePort", "LoadBalancer"}
	not input.spec.clusterIP == "None"
	is_object(input.spec.selector)
	count(input.spec.selector) > 0
	not _same_zone_distribution
	not _topology_aware
	msg := sprintf(
		"%s: no trafficDistribution (PreferSameZone) and no topology-mode annotation: kube-proxy spreads its traffic over all zones",
		[_ref],
	)
}

_type := t if {
	t := input.spec.type
} else := "ClusterIP"

_same_zone_distribution if input.spec.trafficDistribution in _distributions

_topology_aware if {
	some key in _topology_annotations
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
