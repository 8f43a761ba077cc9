package elb

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// AnnotationDDSDName on a LoadBalancer Service overrides the <service> part
// of its DDSD name.
const AnnotationDDSDName = "inzone.io/ddsd-name"

// ServiceRef names a Kubernetes Service.
type ServiceRef struct {
	Namespace, Name string
}

// Claim returns the canonical ELB hostnames (see Canonical) a Service
// answers on and the Service a DDSD name is made for: the Service itself, or
// the name in its inzone.io/ddsd-name annotation. Only a LoadBalancer Service
// with ELB hostnames in its status has any. err says why a Service's claim
// is ignored: then hosts is empty.
//
// Who may claim a hostname: a Service claims only the hostnames in its own
// status.loadBalancer.ingress (written through the services/status
// subresource, by the cloud's load balancer controller), and always for a
// name in its own namespace: the annotation replaces the <service> part of
// the DDSD name, never the namespace. The annotation must be a DNS label
// (RFC 1123, as a Service name is): the DDSD name is written into other
// namespaces' env, args and commands, so anything else (shell or YAML
// metacharacters, dots, spaces) is refused, and the Service claims no
// hostname at all rather than a name its owner did not mean.
func Claim(svc *corev1.Service) (target ServiceRef, hosts []string, err error) {
	target = ServiceRef{Namespace: svc.Namespace, Name: svc.Name}
	if n, ok := svc.Annotations[AnnotationDDSDName]; ok && n != "" {
		if msgs := validation.IsDNS1123Label(n); len(msgs) > 0 {
			return target, nil, fmt.Errorf("Service %s/%s: annotation %s %q ignored, with the Service's ELB hostnames: %s",
				svc.Namespace, svc.Name, AnnotationDDSDName, truncate(n, 80), strings.Join(msgs, "; "))
		}
		target.Name = n
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return target, nil, nil
	}
	for _, ing := range svc.Status.LoadBalancer.Ingress {
		if h, ok := Canonical(ing.Hostname); ok {
			hosts = append(hosts, h)
		}
	}
	return target, hosts, nil
}

// truncate bounds a user's value quoted in a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
