# METADATA
# title: Envoy cluster uses locality-weighted load balancing
# description: >-
#   With common_lb_config.locality_weighted_lb_config, Envoy splits traffic
#   between localities by the weights the control plane assigns them, and
#   zone-aware routing, which keeps traffic in the caller's zone, is off.
# scope: package
# custom:
#   id: envoy-locality-weighted-lb
#   severity: warning
#   kinds: [EnvoyConfig]
#   remediation: >-
#     Remove common_lb_config.locality_weighted_lb_config and configure
#     zone_aware_lb_config (with a local cluster) instead.
package inzone.rules.envoy_locality_weighted_lb

violation contains {"msg": msg, "path": path} if {
	input.kind == "EnvoyConfig"
	some i, c in input.clusters
	lw := c.cluster.common_lb_config.locality_weighted_lb_config
	lw != null
	path := _cluster_path(i, c, ["common_lb_config", "locality_weighted_lb_config"])
	msg := sprintf(
		"Envoy cluster %s: common_lb_config.locality_weighted_lb_config is set: locality-weighted load balancing replaces zone-aware routing",
		[_cluster_name(c)],
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
