package inzone.rules.service_no_topology_aware_routing_test

import data.inzone.rules.service_no_topology_aware_routing as rule

_svc(spec, annotations) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "web", "namespace": "shop", "annotations": annotations},
	"spec": object.union({"selector": {"app": "web"}, "ports": [{"port": 80}]}, spec),
}

test_flags_plain_cluster_ip_service if {
	vs := rule.violation with input as _svc({}, {})
	count(vs) == 1
	some v in vs
	v.path == ["spec", "trafficDistribution"]
	v.msg == "Service shop/web: no trafficDistribution (PreferSameZone) and no topology-mode annotation: kube-proxy spreads its traffic over all zones"
}

test_flags_node_port_and_load_balancer if {
	count(rule.violation) == 1 with input as _svc({"type": "NodePort"}, {})
	count(rule.violation) == 1 with input as _svc({"type": "LoadBalancer"}, {})
}

test_flags_disabled_topology_mode if {
	count(rule.violation) == 1 with input as _svc({}, {"service.kubernetes.io/topology-mode": "Disabled"})
}

test_allows_traffic_distribution if {
	count(rule.violation) == 0 with input as _svc({"trafficDistribution": "PreferSameZone"}, {})
	count(rule.violation) == 0 with input as _svc({"trafficDistribution": "PreferClose"}, {})
	count(rule.violation) == 0 with input as _svc({"trafficDistribution": "PreferSameNode"}, {})
}

test_allows_topology_annotations if {
	count(rule.violation) == 0 with input as _svc({}, {"service.kubernetes.io/topology-mode": "Auto"})
	count(rule.violation) == 0 with input as _svc({}, {"service.kubernetes.io/topology-aware-hints": "auto"})
}

test_allows_headless_external_name_and_selectorless if {
	count(rule.violation) == 0 with input as _svc({"clusterIP": "None"}, {})
	count(rule.violation) == 0 with input as _svc({"type": "ExternalName", "externalName": "db.example.com"}, {})
	count(rule.violation) == 0 with input as json.remove(_svc({}, {}), ["spec/selector"])
	count(rule.violation) == 0 with input as json.patch(_svc({}, {}), [{"op": "replace", "path": "/spec/selector", "value": {}}])
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as {"kind": "Service", "metadata": {"name": "x"}}
	count(rule.violation) == 0 with input as {"kind": "Service", "spec": "x"}
	count(rule.violation) == 0 with input as {"kind": "Service", "spec": {"selector": "app=web"}}
	count(rule.violation) == 0 with input as {"kind": "Deployment", "spec": {"selector": {"app": "web"}}}
}

# A type that is set, even to null, is not the default ClusterIP; an empty
# selector selects nothing.
test_allows_null_type_and_empty_selector if {
	count(rule.violation) == 0 with input as _svc({"type": null}, {})
	count(rule.violation) == 0 with input as {"kind": "Service", "spec": {"selector": {}}}
}
