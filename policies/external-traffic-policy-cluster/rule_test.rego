package inzone.rules.external_traffic_policy_cluster_test

import data.inzone.rules.external_traffic_policy_cluster as rule

_svc(spec) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "web", "namespace": "shop"},
	"spec": spec,
}

test_flags_load_balancer_without_policy if {
	vs := rule.violation with input as _svc({"type": "LoadBalancer", "selector": {"app": "web"}})
	count(vs) == 1
	some v in vs
	v.path == ["spec", "externalTrafficPolicy"]
	v.msg == "Service shop/web: externalTrafficPolicy is Cluster (the default): traffic takes an extra node hop, often to another zone, and is SNATed"
}

test_flags_node_port_with_cluster_policy if {
	vs := rule.violation with input as _svc({"type": "NodePort", "externalTrafficPolicy": "Cluster"})
	some v in vs
	contains(v.msg, "externalTrafficPolicy is Cluster:")
}

test_flags_nlb_instance_targets if {
	svc := json.patch(_svc({"type": "LoadBalancer"}), [{
		"op": "add",
		"path": "/metadata/annotations",
		"value": {"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance"},
	}])
	count(rule.violation) == 1 with input as svc
}

test_flags_without_namespace if {
	vs := rule.violation with input as {"kind": "Service", "metadata": {"name": "web"}, "spec": {"type": "NodePort"}}
	some v in vs
	startswith(v.msg, "Service web: ")
}

test_allows_local_policy if {
	count(rule.violation) == 0 with input as _svc({"type": "LoadBalancer", "externalTrafficPolicy": "Local"})
}

test_allows_cluster_ip if {
	count(rule.violation) == 0 with input as _svc({"selector": {"app": "web"}})
}

test_allows_nlb_ip_targets if {
	svc := json.patch(_svc({"type": "LoadBalancer"}), [{
		"op": "add",
		"path": "/metadata/annotations",
		"value": {"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"},
	}])
	count(rule.violation) == 0 with input as svc
}

test_allows_alb_ip_targets if {
	svc := json.patch(_svc({"type": "NodePort"}), [{
		"op": "add",
		"path": "/metadata/annotations",
		"value": {"alb.ingress.kubernetes.io/target-type": "ip"},
	}])
	count(rule.violation) == 0 with input as svc
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as {"kind": "Service"}
	count(rule.violation) == 0 with input as {"kind": "Service", "spec": "LoadBalancer"}
	count(rule.violation) == 0 with input as {"kind": "Deployment", "spec": {"type": "LoadBalancer"}}
}
