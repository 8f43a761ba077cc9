# METADATA
# title: Istio ServiceEntry resolves by DNS
# description: >-
#   Istio turns a ServiceEntry with resolution DNS into a STRICT_DNS Envoy
#   cluster (DNS_ROUND_ROBIN into a LOGICAL_DNS one): every address a name
#   resolves to gets the one locality of its endpoint, so zone-aware routing
#   cannot tell the zones of the addresses apart.
# scope: package
# custom:
#   id: istio-service-entry-dns
#   severity: warning
#   kinds: [ServiceEntry]
#   remediation: >-
#     Use resolution STATIC with endpoints that carry their locality, or a
#     WorkloadEntry per backend, so that Istio serves the hosts over EDS.
package inzone.rules.istio_service_entry_dns

# The Envoy cluster type each DNS resolution becomes.
_cluster_types := {"DNS": "STRICT_DNS", "DNS_ROUND_ROBIN": "LOGICAL_DNS"}

violation contains {"msg": msg, "path": ["spec", "resolution"]} if {
	input.kind == "ServiceEntry"
	v := input.apiVersion
	is_string(v)
	startswith(v, "networking.istio.io/")
	resolution := input.spec.resolution
	cluster_type := _cluster_types[resolution]
	msg := sprintf(
		"%s: resolution is %s: Istio makes it a %s cluster, whose resolved addresses share one locality, so zone-aware routing cannot work",
		[_ref, resolution, cluster_type],
	)
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
