package webhook

import (
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/inzone-io/inzone/elb"
	"github.com/inzone-io/inzone/mutate"
)

func lbService(ns, name string, hosts ...string) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
	}
	for _, h := range hosts {
		svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{Hostname: h})
	}
	return svc
}

// TestServiceEvents checks each informer event reaches the index: the
// claims of an added or updated Service count, a deleted one's do not,
// whether the delete is seen or only its tombstone.
func TestServiceEvents(t *testing.T) {
	const nlb = "payments-0123456789abcdef.elb.us-west-2.amazonaws.com"
	payments := elb.ServiceRef{Namespace: "shop", Name: "payments"}
	for _, tt := range []struct {
		name   string
		events func(h cache.ResourceEventHandler)
		want   elb.ServiceRef
		found  bool
	}{
		{"an add records the claim",
			func(h cache.ResourceEventHandler) { h.OnAdd(lbService("shop", "payments", nlb), false) },
			payments, true},
		{"an update that adds the hostname records it",
			func(h cache.ResourceEventHandler) {
				old := lbService("shop", "payments")
				h.OnAdd(old, false)
				h.OnUpdate(old, lbService("shop", "payments", nlb))
			},
			payments, true},
		{"an update that drops the hostname forgets it",
			func(h cache.ResourceEventHandler) {
				old := lbService("shop", "payments", nlb)
				h.OnAdd(old, false)
				h.OnUpdate(old, lbService("shop", "payments"))
			},
			elb.ServiceRef{}, false},
		{"a delete forgets the Service",
			func(h cache.ResourceEventHandler) {
				svc := lbService("shop", "payments", nlb)
				h.OnAdd(svc, false)
				h.OnDelete(svc)
			},
			elb.ServiceRef{}, false},
		{"a delete seen only as a tombstone forgets the Service",
			func(h cache.ResourceEventHandler) {
				svc := lbService("shop", "payments", nlb)
				h.OnAdd(svc, false)
				h.OnDelete(cache.DeletedFinalStateUnknown{Key: "shop/payments", Obj: svc})
			},
			elb.ServiceRef{}, false},
		{"an object that is not a Service is ignored",
			func(h cache.ResourceEventHandler) {
				h.OnAdd(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "payments"}}, false)
				h.OnDelete(cache.DeletedFinalStateUnknown{Key: "shop/x", Obj: "not an object"})
			},
			elb.ServiceRef{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x := elb.NewIndex(logr.Discard())
			tt.events(serviceEvents(x))
			got, found := x.Resolve(nlb)
			if found != tt.found || got != tt.want {
				t.Errorf("Resolve = %+v, %v; want %+v, %v", got, found, tt.want, tt.found)
			}
		})
	}
}

// TestELBIndexFeedsTheEngine checks the live map reaches the rewrite, with
// the Service's own namespace in the DDSD name.
func TestELBIndexFeedsTheEngine(t *testing.T) {
	x := elb.NewIndex(logr.Discard())
	x.Set(lbService("payments-ns", "payments", "payments-0123456789abcdef.elb.us-west-2.amazonaws.com"))
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
