# METADATA
# title: Istio locality load balancing without outlier detection
# description: >-
#   Istio only turns on locality failover for a destination whose traffic
#   policy has outlierDetection: without it Envoy cannot tell that the
#   endpoints of the local zone are failing, so a DestinationRule's
#   localityLbSetting has no effect. A subset or port-level policy inherits
#   the outlierDetection of the policies around it.
# scope: package
# custom:
#   id: istio-locality-without-outlier-detection
#   severity: warning
#   kinds: [DestinationRule]
#   remediation: >-
#     Add outlierDetection (for example consecutive5xxErrors: 5, interval: 10s,
#     baseEjectionTime: 30s) to the traffic policy that sets localityLbSetting.
package inzone.rules.istio_locality_without_outlier_detection

violation contains {"msg": msg, "path": array.concat(p.path, ["loadBalancer", "localityLbSetting"])} if {
	input.kind == "DestinationRule"
	_istio
	some p in _policies
	setting := p.policy.loadBalancer.localityLbSetting
	is_object(setting)
	not setting.enabled == false
	not _has_outlier_detection(p.policy)
	not _inherits_outlier_detection(p)
	msg := sprintf(
		"%s: %s sets loadBalancer.localityLbSetting but has no outlierDetection: locality failover does not engage without it",
		[_ref, p.where],
	)
}

_has_outlier_detection(policy) if policy.outlierDetection != null

_inherits_outlier_detection(p) if {
	some parent in p.parents
	_has_outlier_detection(parent)
}

# Every traffic policy of the rule, with its path, a name for messages and
# the policies it inherits unset settings from (Istio merges a port-level
# policy into its traffic policy, and a subset's into the top-level one).
_policies contains {"path": path, "where": "trafficPolicy", "policy": top, "parents": []} if {
	path := ["spec", "trafficPolicy"]
	top := input.spec.trafficPolicy
	is_object(top)
}

_policies contains {"path": path, "where": where, "policy": port, "parents": [input.spec.trafficPolicy]} if {
	is_array(input.spec.trafficPolicy.portLevelSettings)
	some i, port in input.spec.trafficPolicy.portLevelSettings
	is_object(port)
	path := ["spec", "trafficPolicy", "portLevelSettings", i]
	where := sprintf("trafficPolicy.portLevelSettings[%d]", [i])
}

_policies contains {"path": path, "where": where, "policy": policy, "parents": _top} if {
	some i, policy in _subset_policies
	path := ["spec", "subsets", i, "trafficPolicy"]
	where := sprintf("subsets[%d] (%v) trafficPolicy", [i, object.get(input.spec.subsets[i], "name", i)])
}

_policies contains {"path": path, "where": where, "policy": port, "parents": array.concat([policy], _top)} if {
	some i, policy in _subset_policies
	is_array(policy.portLevelSettings)
	some j, port in policy.portLevelSettings
	is_object(port)
	path := ["spec", "subsets", i, "trafficPolicy", "portLevelSettings", j]
	where := sprintf("subsets[%d] (%v) trafficPolicy.portLevelSettings[%d]", [i, object.get(input.spec.subsets[i], "name", i), j])
}

_subset_policies[i] := policy if {
	is_array(input.spec.subsets)
	some i, subset in input.spec.subsets
	policy := subset.trafficPolicy
	is_object(policy)
}

_top := [top] if {
	top := input.spec.trafficPolicy
	is_object(top)
} else := []

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
