# METADATA
# title: Envoy does not know its zone
# description: >-
#   Zone-aware routing needs the zone of the Envoy itself: the bootstrap's
#   node.locality.zone, or the --service-zone command-line option. Without
#   either, Envoy treats itself as zoneless and spreads requests over all
#   zones.
# scope: package
# custom:
#   id: envoy-no-zone
#   severity: warning
#   kinds: [EnvoyConfig]
#   remediation: >-
#     Set node.locality.zone in the bootstrap (from the node's
#     topology.kubernetes.io/zone label), or start Envoy with --service-zone.
package inzone.rules.envoy_no_zone

violation contains {"msg": msg, "path": ["node", "locality", "zone"]} if {
	input.kind == "EnvoyConfig"
	input.format == "bootstrap"
	is_object(input.bootstrap)
	not _zone
	msg := sprintf(
		"Envoy bootstrap %s: node.locality.zone is unset: unless Envoy runs with --service-zone, zone-aware routing cannot work",
		[_name],
	)
}

_zone := z if {
	z := input.bootstrap.node.locality.zone
	is_string(z)
	z != ""
}

_name := n if {
	n := input.metadata.name
	is_string(n)
	n != ""
} else := "<unnamed>"
