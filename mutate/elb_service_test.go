package mutate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestServiceELBs(t *testing.T) {
	lb := func(typ corev1.ServiceType, ann map[string]string, hosts ...string) *corev1.Service {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders", Annotations: ann}, Spec: corev1.ServiceSpec{Type: typ}}
		for _, h := range hosts {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{Hostname: h})
		}
		return s
	}
	for _, tt := range []struct {
		name   string
		svc    *corev1.Service
		target string
		hosts  string
	}{
		{"a LoadBalancer's ELB hostnames are canonical", lb(corev1.ServiceTypeLoadBalancer, nil, "Internal-Orders-1.us-east-1.ELB.amazonaws.com.", "a-b.elb.us-east-1.amazonaws.com"),
			"shop/orders", "internal-orders-1.us-east-1.elb.amazonaws.com,a-b.elb.us-east-1.amazonaws.com"},
		{"the ddsd-name annotation names the target", lb(corev1.ServiceTypeLoadBalancer, map[string]string{AnnotationDDSDName: "orders-api"}, "x-1.us-east-1.elb.amazonaws.com"),
			"shop/orders-api", "x-1.us-east-1.elb.amazonaws.com"},
		{"other hostnames are not ELBs", lb(corev1.ServiceTypeLoadBalancer, nil, "lb.example.com", ""), "shop/orders", ""},
		{"a ClusterIP Service has none even with a stale status", lb(corev1.ServiceTypeClusterIP, nil, "x-1.us-east-1.elb.amazonaws.com"), "shop/orders", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			target, hosts := ServiceELBs(tt.svc)
			if got := target.Namespace + "/" + target.Name; got != tt.target {
				t.Errorf("target = %s, want %s", got, tt.target)
			}
			if got := strings.Join(hosts, ","); got != tt.hosts {
				t.Errorf("hosts = %s, want %s", got, tt.hosts)
			}
		})
	}
}
