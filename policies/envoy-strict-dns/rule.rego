# METADATA
# title: Envoy cluster resolves its endpoints by DNS
# description: >-
#   A STRICT_DNS or LOGICAL_DNS cluster gives every address its DNS name
#   resolves to the one locality of that name's endpoint, so Envoy cannot
#   tell the zones of the addresses apart and zone-aware routing cannot
#   work. Also flags Istio EnvoyFilters that patch in such a cluster.
# scope: package
# custom:
#   id: envoy-strict-dns
#   severity: error
#   kinds: [EnvoyConfig, EnvoyFilter]
#   remediation: >-
#     Serve the cluster over EDS from the control plane, so that each endpoint
#     carries its own zone.
package inzone.rules.envoy_strict_dns

violation contains {"msg": msg, "path": path} if {
	input.kind == "EnvoyConfig"
	some i, c in input.clusters
	type_name := c.cluster.type
	is_string(type_name)
	upper(type_name) in {"STRICT_DNS", "LOGICAL_DNS"}
	path := _cluster_path(i, c, ["type"])
	msg := sprintf(
		"Envoy cluster %s: type is %s: every resolved address gets one static locality, so zone-aware routing cannot work",
		[_cluster_name(c), upper(type_name)],
	)
}

violation contains {"msg": msg, "path": path} if {
	input.kind == "EnvoyFilter"
	_istio
	is_array(input.spec.configPatches)
	some i, p in input.spec.configPatches
	p.applyTo == "CLUSTER"
	type_name := p.patch.value.type
	is_string(type_name)
	upper(type_name) in {"STRICT_DNS", "LOGICAL_DNS"}
	path := ["spec", "configPatches", i, "patch", "value", "type"]
	msg := sprintf(
		"%s: configPatches[%d] adds a cluster of type %s: every resolved address gets one static locality, so zone-aware routing cannot work",
		[_ref, i, upper(type_name)],
	)
}

# The path of a field of cluster c, input.clusters[i], in the source; the
# path in the input when the engine gave none.
_cluster_path(i, c, field) := array.concat(c.path, field) if {
	is_array(c.path)
} else := array.concat(["clusters", i, "cluster"], field)

_cluster_name(c) := n if {
	n := c.cluster.name
	is_string(n)
	n != ""
} else := "<unnamed>"

_istio if {
	v := input.apiVersion
	is_string(v)
	startswith(v, "networking.istio.io/")
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
