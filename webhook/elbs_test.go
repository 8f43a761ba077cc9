package webhook

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/inzone-io/inzone/mutate"
)

func lbService(ns, name string, annotations map[string]string, hosts ...string) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
	}
	for _, h := range hosts {
		svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{Hostname: h})
	}
	return svc
}

func TestELBIndex(t *testing.T) {
	const (
		nlb     = "payments-0123456789abcdef.elb.us-west-2.amazonaws.com"
		classic = "internal-orders-1234567890.us-east-1.elb.amazonaws.com"
	)
	tests := []struct {
		name   string
		events func(h cache.ResourceEventHandler)
		key    string
		want   mutate.ServiceRef
		found  bool
	}{
		{"a LoadBalancer Service's ELB names the Service",
			func(h cache.ResourceEventHandler) { h.OnAdd(lbService("shop", "payments", nil, nlb), false) },
			nlb, mutate.ServiceRef{Namespace: "shop", Name: "payments"}, true},
		{"the hostname is matched in canonical form (case, trailing dot, dualstack)",
			func(h cache.ResourceEventHandler) {
				h.OnAdd(lbService("shop", "orders", nil, "DualStack."+classic+"."), false)
			},
			classic, mutate.ServiceRef{Namespace: "shop", Name: "orders"}, true},
		{"inzone.io/ddsd-name overrides the service name",
			func(h cache.ResourceEventHandler) {
				h.OnAdd(lbService("shop", "payments-lb", map[string]string{mutate.AnnotationDDSDName: "payments"}, nlb), false)
			},
			nlb, mutate.ServiceRef{Namespace: "shop", Name: "payments"}, true},
		{"a hostname that is not an ELB is ignored",
			func(h cache.ResourceEventHandler) { h.OnAdd(lbService("shop", "web", nil, "web.example.com"), false) },
			"web.example.com", mutate.ServiceRef{}, false},
		{"a ClusterIP Service is ignored even with an ingress status",
			func(h cache.ResourceEventHandler) {
				svc := lbService("shop", "payments", nil, nlb)
				svc.Spec.Type = corev1.ServiceTypeClusterIP
				h.OnAdd(svc, false)
			},
			nlb, mutate.ServiceRef{}, false},
		{"an update that drops the hostname forgets it",
			func(h cache.ResourceEventHandler) {
				old := lbService("shop", "payments", nil, nlb)
				h.OnAdd(old, false)
				h.OnUpdate(old, lbService("shop", "payments", nil))
			},
			nlb, mutate.ServiceRef{}, false},
		{"a delete forgets the Service",
			func(h cache.ResourceEventHandler) {
				svc := lbService("shop", "payments", nil, nlb)
				h.OnAdd(svc, false)
				h.OnDelete(svc)
			},
			nlb, mutate.ServiceRef{}, false},
		{"a delete seen only as a tombstone forgets the Service",
			func(h cache.ResourceEventHandler) {
				svc := lbService("shop", "payments", nil, nlb)
				h.OnAdd(svc, false)
				h.OnDelete(cache.DeletedFinalStateUnknown{Key: "shop/payments", Obj: svc})
			},
			nlb, mutate.ServiceRef{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := NewELBIndex()
			tt.events(x.EventHandler())
			got, found := x.ResolveELB(tt.key)
			if found != tt.found || got != tt.want {
				t.Errorf("ResolveELB(%s) = %+v, %v; want %+v, %v", tt.key, got, found, tt.want, tt.found)
			}
		})
	}
}

// TestELBIndexFeedsTheEngine checks the live map reaches the rewrite, with
// the Service's own namespace in the DDSD name.
func TestELBIndexFeedsTheEngine(t *testing.T) {
	x := NewELBIndex()
	x.Set(lbService("payments-ns", "payments", nil, "payments-0123456789abcdef.elb.us-west-2.amazonaws.com"))
	cfg := mutate.DefaultConfig()
	cfg.DDSD.NameTemplate = "{service}.{namespace}.{env}.ddsd"
	cfg.DDSD.DNS = mutate.DDSDResolverExternal
	e, err := mutate.NewEngine(cfg, mutate.Options{ELBs: x})
	if err != nil {
		t.Fatal(err)
	}
	pod := testPod(1, 2)
	res, err := e.Mutate(pod, mutate.Namespace{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	mutated, err := res.Apply(pod)
	if err != nil {
		t.Fatal(err)
	}
	if got := mutated.Spec.Containers[0].Env[1].Value; got != "https://payments.payments-ns.prod.ddsd/v2" {
		t.Errorf("rewritten to %q", got)
	}
}
