# METADATA
# title: Envoy bootstrap has no usable local cluster
# description: >-
#   Zone-aware routing compares the zones of the upstream hosts with those of
#   the local cluster, the cluster of the Envoys themselves, named by
#   cluster_manager.local_cluster_name. Without it, or when it names a cluster
#   that does not exist, Envoy routes without regard to zones. A missing name
#   is a warning (the violation carries "severity": "warning"), a dangling
#   one an error.
# scope: package
# custom:
#   id: envoy-local-cluster
#   severity: error
#   kinds: [EnvoyConfig]
#   remediation: >-
#     Set cluster_manager.local_cluster_name to the cluster (static or from
#     CDS) whose endpoints are this Envoy fleet.
package inzone.rules.envoy_local_cluster

# A violation may carry "severity" to override custom.severity: a missing
# local cluster name is only a warning, a name that does not exist an error.

violation contains {"msg": msg, "path": ["cluster_manager", "local_cluster_name"], "severity": "warning"} if {
	_bootstrap_with_clusters
	not _local_name
	msg := sprintf(
		"Envoy bootstrap %s: cluster_manager.local_cluster_name is unset: Envoy does not know its own zone's peers, so zone-aware routing is off",
		[_name],
	)
}

violation contains {"msg": msg, "path": ["cluster_manager", "local_cluster_name"]} if {
	_bootstrap_with_clusters
	name := _local_name
	not name in _static_names
	not _cds
	msg := sprintf(
		"Envoy bootstrap %s: cluster_manager.local_cluster_name names cluster %q, which does not exist: zone-aware routing is off",
		[_name, name],
	)
}

_bootstrap_with_clusters if {
	input.kind == "EnvoyConfig"
	input.format == "bootstrap"
	is_object(input.bootstrap)
	_has_clusters
}

_has_clusters if count(_static_names) > 0

_has_clusters if {
	is_array(input.clusters)
	count(input.clusters) > 0
}

_has_clusters if _cds

_cds if input.bootstrap.dynamic_resources.cds_config

_cds if input.bootstrap.dynamic_resources.cds_resources_locator

_local_name := n if {
	n := input.bootstrap.cluster_manager.local_cluster_name
	is_string(n)
	n != ""
}

_static_names contains c.name if {
	some c in input.bootstrap.static_resources.clusters
	is_string(c.name)
}

_name := n if {
	n := input.metadata.name
	is_string(n)
	n != ""
} else := "<unnamed>"
