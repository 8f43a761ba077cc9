# METADATA
# title: Service sends external traffic through any node
# description: >-
#   A Service of type LoadBalancer or NodePort with externalTrafficPolicy
#   Cluster (the default) lets every node accept its external traffic and
#   forward it to a pod on any node: an extra hop that often crosses zones,
#   and SNAT that hides the client address.
# scope: package
# custom:
#   id: external-traffic-policy-cluster
#   severity: error
#   kinds: [Service]
#   remediation: >-
#     Set spec.externalTrafficPolicy: Local, or send the load balancer straight
#     to pod IPs (service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip).
package inzone.rules.external_traffic_policy_cluster

violation contains {"msg": msg, "path": ["spec", "externalTrafficPolicy"]} if {
	input.kind == "Service"
	input.spec.type in {"LoadBalancer", "NodePort"}
	_policy == "Cluster"
	not _pod_ip_targets
	msg := sprintf(
		"%s: externalTrafficPolicy is %s: traffic takes an extra node hop, often to another zone, and is SNATed",
		[_ref, _policy_text],
	)
}

# An unset policy is Cluster.
_policy := p if {
	p := input.spec.externalTrafficPolicy
	p != ""
} else := "Cluster"

_policy_text := "Cluster (the default)" if {
	_unset
} else := _policy

_unset if not input.spec.externalTrafficPolicy

_unset if input.spec.externalTrafficPolicy == ""

# The AWS load balancer sends traffic straight to pods, not through node
# ports: an NLB with target type ip (service annotation), or an ALB whose
# ingress targets this backend Service by pod IP.
_pod_ip_targets if {
	input.spec.type == "LoadBalancer"
	_annotation_is("service.beta.kubernetes.io/aws-load-balancer-nlb-target-type", "ip")
}

_pod_ip_targets if _annotation_is("alb.ingress.kubernetes.io/target-type", "ip")

_annotation_is(key, value) if {
	v := input.metadata.annotations[key]
	is_string(v)
	lower(trim_space(v)) == value
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
