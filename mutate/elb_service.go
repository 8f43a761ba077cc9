package mutate

import corev1 "k8s.io/api/core/v1"

// ServiceELBs returns the canonical ELB hostnames (see CanonicalELBHost) a
// Service answers on and the Service a DDSD name is made for: the Service
// itself, or the name in its inzone.io/ddsd-name annotation. Only a
// LoadBalancer Service with ELB hostnames in its status has any; the
// webhook's live index and `kubectl inzone audit` both build their ELB maps
// with it.
func ServiceELBs(svc *corev1.Service) (target ServiceRef, hosts []string) {
	target = ServiceRef{Namespace: svc.Namespace, Name: svc.Name}
	if n := svc.Annotations[AnnotationDDSDName]; n != "" {
		target.Name = n
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return target, nil
	}
	for _, ing := range svc.Status.LoadBalancer.Ingress {
		if h, ok := CanonicalELBHost(ing.Hostname); ok {
			hosts = append(hosts, h)
		}
	}
	return target, hosts
}
