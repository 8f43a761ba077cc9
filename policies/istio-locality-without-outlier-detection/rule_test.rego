package inzone.rules.istio_locality_without_outlier_detection_test

import data.inzone.rules.istio_locality_without_outlier_detection as rule

_rule(spec) := {
	"apiVersion": "networking.istio.io/v1",
	"kind": "DestinationRule",
	"metadata": {"name": "reviews", "namespace": "bookinfo"},
	"spec": object.union({"host": "reviews.bookinfo.svc.cluster.local"}, spec),
}

_locality := {"loadBalancer": {"localityLbSetting": {"enabled": true, "failoverPriority": ["topology.kubernetes.io/zone"]}}}

_outlier := {"outlierDetection": {"consecutive5xxErrors": 5, "interval": "10s", "baseEjectionTime": "30s"}}

test_flags_top_level_policy if {
	vs := rule.violation with input as _rule({"trafficPolicy": _locality})
	count(vs) == 1
	some v in vs
	v.path == ["spec", "trafficPolicy", "loadBalancer", "localityLbSetting"]
	v.msg == "DestinationRule bookinfo/reviews: trafficPolicy sets loadBalancer.localityLbSetting but has no outlierDetection: locality failover does not engage without it"
}

test_flags_port_level_setting if {
	vs := rule.violation with input as _rule({"trafficPolicy": {"portLevelSettings": [
		object.union({"port": {"number": 9080}}, _outlier),
		object.union({"port": {"number": 9443}}, _locality),
	]}})
	count(vs) == 1
	some v in vs
	v.path == ["spec", "trafficPolicy", "portLevelSettings", 1, "loadBalancer", "localityLbSetting"]
	contains(v.msg, "trafficPolicy.portLevelSettings[1] sets")
}

test_flags_subset_policies if {
	vs := rule.violation with input as _rule({"subsets": [
		{"name": "v1", "labels": {"version": "v1"}},
		{"name": "v2", "labels": {"version": "v2"}, "trafficPolicy": object.union(_locality, {"portLevelSettings": [object.union({"port": {"number": 9080}}, _locality)]})},
	]})
	{v.path | some v in vs} == {
		["spec", "subsets", 1, "trafficPolicy", "loadBalancer", "localityLbSetting"],
		["spec", "subsets", 1, "trafficPolicy", "portLevelSettings", 0, "loadBalancer", "localityLbSetting"],
	}
	some v in vs
	contains(v.msg, "subsets[1] (v2) trafficPolicy sets")
}

test_flags_setting_without_enabled if {
	vs := rule.violation with input as _rule({"trafficPolicy": {"loadBalancer": {"localityLbSetting": {"failover": [{"from": "us-east-1", "to": "us-west-2"}]}}}})
	count(vs) == 1
}

test_allows_outlier_detection if {
	count(rule.violation) == 0 with input as _rule({"trafficPolicy": object.union(_locality, _outlier)})
}

test_allows_inherited_outlier_detection if {
	count(rule.violation) == 0 with input as _rule({
		"trafficPolicy": object.union(_outlier, {"portLevelSettings": [object.union({"port": {"number": 9080}}, _locality)]}),
		"subsets": [{"name": "v2", "trafficPolicy": object.union(_locality, {"portLevelSettings": [object.union({"port": {"number": 80}}, _locality)]})}],
	})
}

test_allows_disabled_locality_lb if {
	count(rule.violation) == 0 with input as _rule({"trafficPolicy": {"loadBalancer": {"localityLbSetting": {"enabled": false}}}})
}

test_allows_without_locality_setting if {
	count(rule.violation) == 0 with input as _rule({"trafficPolicy": {"loadBalancer": {"simple": "LEAST_REQUEST"}}})
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as {"kind": "DestinationRule", "apiVersion": "networking.istio.io/v1"}
	count(rule.violation) == 0 with input as _rule({"trafficPolicy": "x", "subsets": [1, {"trafficPolicy": []}]})
	count(rule.violation) == 0 with input as _rule({"trafficPolicy": {"portLevelSettings": "x", "loadBalancer": {"localityLbSetting": "x"}}})
	count(rule.violation) == 0 with input as object.union(_rule({"trafficPolicy": _locality}), {"apiVersion": 2})
}
