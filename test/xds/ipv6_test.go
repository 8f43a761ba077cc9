package xds

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/xds/translate"
)

// TestListenersIPv6FromNodes: on the real API server, an IPv6
// EndpointSlice that a tenant made by hand (no endpoints, no Service)
// leaves the listeners on 0.0.0.0 alone; a node whose pod CIDRs include
// an IPv6 one (through the informers' trimmed copy) makes them bind ::
// too, and its deletion unbinds it.
func TestListenersIPv6FromNodes(t *testing.T) {
	env := envtest.For(t)
	ns, err := env.CreateNamespace(ctx(t), "xds-ipv6-", false)
	if err != nil {
		t.Fatal(err)
	}
	// The hostile slice first, then a Service's IPv4 one in the same
	// namespace: the server's first snapshot follows its informers' sync,
	// so when the second is served the first has been read.
	if err := env.Client.Create(ctx(t), &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "v6-trigger", Namespace: ns.Name, Labels: map[string]string{discoveryv1.LabelServiceName: "nothing"}},
		AddressType: discoveryv1.AddressTypeIPv6,
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx(t), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "v6-sentinel", Namespace: ns.Name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx(t), &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "v6-sentinel-1", Namespace: ns.Name, Labels: map[string]string{discoveryv1.LabelServiceName: "v6-sentinel"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.241.0.1"}, Zone: ptr.To(zoneA),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}); err != nil {
		t.Fatal(err)
	}

	_, srv, _ := startXDS(t, env)
	sentinel := translate.ClusterName("v6-sentinel.service.prod.ddsd", 80)
	waitServed(t, srv, "the sentinel served, the hand-made IPv6 slice read", func(out *translate.Output) error {
		if got := served(out, sentinel); len(got) != 1 {
			return fmt.Errorf("%s serves %v", sentinel, got)
		}
		return nil
	})
	if got := boundIPv6(srv.Current()); got != "" {
		t.Fatalf("a hand-made IPv6 slice made %s", got)
	}

	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: ns.Name + "-dual"},
		Spec: corev1.NodeSpec{PodCIDRs: []string{"10.241.1.0/24", "fd00:241::/64"}}}
	if err := env.Client.Create(ctx(t), node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), node) })
	waitServed(t, srv, "a dual-stack node", func(out *translate.Output) error {
		if boundIPv6(out) == "" {
			return fmt.Errorf("the listeners do not bind ::")
		}
		return nil
	})
	if err := env.Client.Delete(ctx(t), node); err != nil {
		t.Fatal(err)
	}
	waitServed(t, srv, "the dual-stack node gone", func(out *translate.Output) error {
		if got := boundIPv6(out); got != "" {
			return fmt.Errorf("%s", got)
		}
		return nil
	})
}

// boundIPv6 names the listeners that bind an additional address, "" when
// none does.
func boundIPv6(out *translate.Output) string {
	var got string
	for _, l := range out.Listeners {
		for _, a := range l.GetAdditionalAddresses() {
			got += fmt.Sprintf("%s binds %s; ", l.GetName(), a.GetAddress().GetSocketAddress().GetAddress())
		}
	}
	return got
}
