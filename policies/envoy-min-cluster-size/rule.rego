# METADATA
# title: Envoy cluster is smaller than its zone-aware min_cluster_size
# description: >-
#   Envoy routes by zone only while the upstream cluster has at least
#   zone_aware_lb_config.min_cluster_size hosts (6 when unset). A static
#   cluster with fewer endpoints than that never gets zone-aware routing.
#   Checked only where the endpoint count is known: STATIC clusters with a
#   load_assignment and an explicit zone_aware_lb_config.
# scope: package
# custom:
#   id: envoy-min-cluster-size
#   severity: warning
#   kinds: [EnvoyConfig]
#   remediation: >-
#     Lower common_lb_config.zone_aware_lb_config.min_cluster_size to at most
#     the number of endpoints, or add endpoints.
package inzone.rules.envoy_min_cluster_size

# Envoy's default min_cluster_size.
_default_min_cluster_size := 6

violation contains {"msg": msg, "path": path} if {
	input.kind == "EnvoyConfig"
	some i, c in input.clusters
	_static(c)
	zc := c.cluster.common_lb_config.zone_aware_lb_config
	is_object(zc)
	not _routing_disabled(zc)
	n := _endpoint_count(c)
	n > 0
	size := _min_cluster_size(zc)
	size.value > n
	path := _cluster_path(i, c, ["common_lb_config", "zone_aware_lb_config", "min_cluster_size"])
	msg := sprintf(
		"Envoy cluster %s: zone_aware_lb_config.min_cluster_size is %s but the cluster has %d endpoints: zone-aware routing never engages",
		[_cluster_name(c), size.text, n],
	)
}

# A cluster without type is STATIC; DNS clusters resolve to an unknown
# number of hosts and EDS clusters get theirs from the control plane.
_static(c) if not c.cluster.type

_static(c) if c.cluster.type == "STATIC"

# routing_enabled is a Percent; protojson leaves out a value of 0.
_routing_disabled(zc) if {
	r := zc.routing_enabled
	is_object(r)
	object.get(r, "value", 0) == 0
}

# min_cluster_size is a UInt64Value: protojson writes it as a string.
_min_cluster_size(zc) := {"value": n, "text": sprintf("%d", [n])} if {
	n := _uint(zc.min_cluster_size)
}

_min_cluster_size(zc) := {
	"value": _default_min_cluster_size,
	"text": sprintf("unset (Envoy's default is %d)", [_default_min_cluster_size]),
} if {
	not _has_min_cluster_size(zc)
}

_has_min_cluster_size(zc) if zc.min_cluster_size != null

_uint(x) := x if {
	is_number(x)
	x >= 0
}

_uint(x) := to_number(x) if {
	is_string(x)
	regex.match(`^[0-9]{1,19}$`, x)
}

# The endpoints of a static load_assignment; unknown when any locality
# takes its endpoints from LEDS. (A cluster with none, a placeholder, has no
# traffic to route by zone: the rule skips it.)
_endpoint_count(c) := sum([count(e.lb_endpoints) |
	some e in c.cluster.load_assignment.endpoints
	is_array(e.lb_endpoints)
]) if {
	is_object(c.cluster.load_assignment)
	not _leds(c)
}

_leds(c) if {
	some e in c.cluster.load_assignment.endpoints
	e.leds_cluster_locality_config
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
