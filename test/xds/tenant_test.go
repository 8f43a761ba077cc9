package xds

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"

	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/xds/server"
	"github.com/inzone-io/inzone/xds/translate"
)

// The names of this test are its own (see scope_test.go).
const (
	tnOrdersDDSD = "tn-orders.service.prod.ddsd"
	tnWorkerDDSD = "tn-worker.service.prod.ddsd"
)

// TestTenantCannotTakeAName: on the real API server, a second namespace
// claims a team's names (the default template has no {namespace}): a
// Service of the same name with a hand-made slice to an address of its choosing (the API
// server refuses link-local ones such as the metadata address),
// and injected pods of the team's identities. inzone-xds serves only the
// owner's endpoints and pods, in the clusters and in DNS, and reports the
// rest. When the owner's Service is deleted, its injected pod, an older
// claim than the intruder's Service, still holds the name; when that pod
// goes too, the next oldest claim owns the name, as the README says.
//
// Both namespaces may be created in the same second (creation times are
// seconds), so the owner's namespace also sorts first: the owner wins
// either way; that the creation time decides is TestTrimKeepsOwnership's
// and the translation's tests' business.
func TestTenantCannotTakeAName(t *testing.T) {
	env := envtest.For(t)
	owner, err := env.CreateNamespace(ctx(t), "xds-tenant-a-", false)
	if err != nil {
		t.Fatal(err)
	}
	intruder, err := env.CreateNamespace(ctx(t), "xds-tenant-z-", false)
	if err != nil {
		t.Fatal(err)
	}
	node := owner.Name + "-a"
	nodes(t, env, "", map[string]string{node: zoneA})
	t.Cleanup(func() {
		for _, ns := range []string{owner.Name, intruder.Name} {
			_ = env.Client.DeleteAllOf(context.Background(), &corev1.Pod{}, client.InNamespace(ns), client.GracePeriodSeconds(0))
			_ = env.Client.DeleteAllOf(context.Background(), &discoveryv1.EndpointSlice{}, client.InNamespace(ns))
			_ = env.Client.Delete(context.Background(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tn-orders"}})
		}
	})

	ordersSvc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "tn-orders", Namespace: owner.Name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "tn-orders"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if err := env.Client.Create(ctx(t), ordersSvc); err != nil {
		t.Fatal(err)
	}
	injectedPod(t, env, owner.Name, "tn-orders-1", "tn-orders", node, "10.240.0.1", true)
	injectedPod(t, env, owner.Name, "tn-worker-1", "tn-worker", node, "10.240.0.2", true)

	// The intruder: the same Service name, no selector, its own slice.
	if err := env.Client.Create(ctx(t), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "tn-orders", Namespace: intruder.Name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx(t), &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "tn-orders-steal", Namespace: intruder.Name, Labels: map[string]string{discoveryv1.LabelServiceName: "tn-orders"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.240.6.9"}, Zone: ptr.To(zoneA),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}); err != nil {
		t.Fatal(err)
	}
	injectedPod(t, env, intruder.Name, "tn-orders-fake", "tn-orders", node, "10.240.6.1", true)
	injectedPod(t, env, intruder.Name, "tn-worker-fake", "tn-worker", node, "10.240.6.2", true)

	_, srv, reg := startXDS(t, env)
	ordersCluster := translate.ClusterName(tnOrdersDDSD, 80)
	waitServed(t, srv, "the owner's objects only", func(out *translate.Output) error {
		for name, want := range map[string][]string{
			ordersCluster: {"10.240.0.1"}, tnOrdersDDSD: {"10.240.0.1"}, tnWorkerDDSD: {"10.240.0.2"},
		} {
			if got := served(out, name); !slices.Equal(got, want) {
				return fmt.Errorf("%s serves %v, want %v", name, got, want)
			}
		}
		for name, want := range map[string]string{tnOrdersDDSD: "[10.240.0.1]", tnWorkerDDSD: "[10.240.0.2]"} {
			if got, _ := out.LookupDDSD(name); fmt.Sprint(got) != want {
				return fmt.Errorf("DNS %s: %v, want %s", name, got, want)
			}
		}
		var reported []string
		for _, p := range out.Problems {
			if p.Namespace == intruder.Name {
				reported = append(reported, p.Kind+" "+p.Name)
			}
		}
		slices.Sort(reported)
		if want := []string{"Pod tn-orders-fake", "Pod tn-worker-fake", "Service tn-orders"}; !slices.Equal(reported, want) {
			return fmt.Errorf("reported %v, want %v", reported, want)
		}
		return nil
	})
	if got := metricValue(t, reg, "inzone_xds_objects_not_served"); got < 3 {
		t.Errorf("inzone_xds_objects_not_served = %v, want at least 3", got)
	}

	// The owner's Service goes (its slices with it: no garbage collector
	// runs here): the owner's injected pod, older than the intruder's
	// Service, still holds the name, so the intruder's Service is not
	// served and the pod stays its identity's member.
	if err := env.Client.Delete(ctx(t), ordersSvc); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.DeleteAllOf(ctx(t), &discoveryv1.EndpointSlice{}, client.InNamespace(owner.Name)); err != nil {
		t.Fatal(err)
	}
	waitServed(t, srv, "the owner's pods hold the name", func(out *translate.Output) error {
		if got := served(out, ordersCluster); got != nil || slices.ContainsFunc(out.Clusters, func(c *clusterv3.Cluster) bool { return c.GetName() == ordersCluster }) {
			return fmt.Errorf("%s is served (endpoints %v)", ordersCluster, got)
		}
		if got := served(out, tnOrdersDDSD); !slices.Equal(got, []string{"10.240.0.1"}) {
			return fmt.Errorf("local cluster %s holds %v", tnOrdersDDSD, got)
		}
		if got, _ := out.LookupDDSD(tnOrdersDDSD); fmt.Sprint(got) != "[10.240.0.1]" {
			return fmt.Errorf("DNS %s: %v", tnOrdersDDSD, got)
		}
		for _, p := range out.Problems {
			if p.Kind == "Service" && p.Namespace == intruder.Name && strings.Contains(p.Message, "belongs to Pod "+owner.Name+"/tn-orders-1") {
				return nil
			}
		}
		return fmt.Errorf("the intruder's Service is not reported as refused for the owner's pod: %v", out.Problems)
	})

	// The owner's last claim goes: the intruder's is now the oldest.
	if err := env.Client.Delete(ctx(t), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: owner.Name, Name: "tn-orders-1"}}, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	waitServed(t, srv, "the next oldest claim", func(out *translate.Output) error {
		if got := served(out, ordersCluster); !slices.Equal(got, []string{"10.240.6.9"}) {
			return fmt.Errorf("%s serves %v", ordersCluster, got)
		}
		if got := served(out, tnOrdersDDSD); !slices.Equal(got, []string{"10.240.6.1"}) {
			return fmt.Errorf("local cluster %s holds %v", tnOrdersDDSD, got)
		}
		return nil
	})
}

// served is the addresses of an EDS resource (callee or local), sorted.
func served(out *translate.Output, name string) []string {
	var got []string
	for _, cla := range slices.Concat(out.Endpoints, out.Local) {
		if cla.ClusterName != name {
			continue
		}
		for _, l := range cla.Endpoints {
			for _, e := range l.LbEndpoints {
				got = append(got, e.GetEndpoint().GetAddress().GetSocketAddress().GetAddress())
			}
		}
	}
	slices.Sort(got)
	return got
}

// waitServed waits until the server's published state passes check;
// waitTimeout is a failure deadline, not a measured time.
func waitServed(t *testing.T, srv *server.Server, what string, check func(*translate.Output) error) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var err error
	for time.Now().Before(deadline) {
		out := srv.Current()
		if out == nil {
			err = fmt.Errorf("nothing published")
		} else if err = check(out); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, strings.TrimSpace(err.Error()))
}
