package xds

import (
	"fmt"
	"maps"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/test/adsclient"
	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/xds/translate"
)

const (
	zoneA = "us-east-1a"
	zoneB = "us-east-1b"
	zoneC = "us-east-1c"

	checkoutDDSD = "checkout.service.prod.ddsd" // the caller: a worker no Service selects
	ordersDDSD   = "orders.service.prod.ddsd"   // the callee
)

var ordersCluster = translate.ClusterName(ordersDDSD, 80)

// scenario is the test's cluster: checkout calls orders, both spread
// unevenly over three zones.
type scenario struct {
	env      *envtest.Env
	ns       string
	orders   *corev1.Service
	pods     map[string]*corev1.Pod
	nextIP   int
	nodeName map[string]string // zone -> node
}

func newScenario(t *testing.T, env *envtest.Env) *scenario {
	nsObj, err := env.CreateNamespace(ctx(t), "xds-", false)
	if err != nil {
		t.Fatal(err)
	}
	s := &scenario{env: env, ns: nsObj.Name, pods: map[string]*corev1.Pod{}, nodeName: map[string]string{
		zoneA: s0(nsObj.Name, "a"), zoneB: s0(nsObj.Name, "b"), zoneC: s0(nsObj.Name, "c"),
	}}
	nodes(t, env, "", map[string]string{s.nodeName[zoneA]: zoneA, s.nodeName[zoneB]: zoneB, s.nodeName[zoneC]: zoneC})
	s.orders = &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: s.ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "orders"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if err := env.Client.Create(ctx(t), s.orders); err != nil {
		t.Fatal(err)
	}
	return s
}

func s0(ns, z string) string { return ns + "-" + z }

// add creates a Ready injected pod of app in zone.
func (s *scenario) add(t *testing.T, app, zone string) *corev1.Pod {
	t.Helper()
	s.nextIP++
	name := fmt.Sprintf("%s-%d", app, s.nextIP)
	p := injectedPod(t, s.env, s.ns, name, app, s.nodeName[zone], podIP(s.nextIP), true)
	s.pods[name] = p
	return p
}

// TestSidecarReceivesZones: a SotW and a delta ADS client, subscribed as a
// checkout sidecar in us-east-1b, receive their local cluster and the
// orders cluster with the right endpoints per zone, and follow every
// change: scale down, scale up, a pod turning unready, the Service deleted.
// The chain check compares what they received, fed to simulate, with the
// audit's prediction for the same workloads.
func TestSidecarReceivesZones(t *testing.T) {
	env := envtest.For(t)
	s := newScenario(t, env)
	var orders []*corev1.Pod
	for _, z := range []string{zoneA, zoneA, zoneA, zoneB, zoneC, zoneC} {
		orders = append(orders, s.add(t, "orders", z))
	}
	var checkout []*corev1.Pod
	for _, z := range []string{zoneA, zoneB, zoneB, zoneC} {
		checkout = append(checkout, s.add(t, "checkout", z))
	}

	addr, _, _ := startXDS(t, env)
	clients := []*adsclient.Client{
		dial(t, addr, "sotw", checkout[1].Name+"."+s.ns, checkoutDDSD, zoneB),
		dial(t, addr, "delta", checkout[2].Name+"."+s.ns, checkoutDDSD, zoneB),
	}
	expect := func(what string, local, callee map[string]int) []adsclient.View {
		t.Helper()
		var views []adsclient.View
		for _, c := range clients {
			views = append(views, c.WaitT(t, waitTimeout, what, func(v adsclient.View) error {
				if len(v.Listeners) != 2 || v.Routes["inzone-outbound"] == nil {
					return fmt.Errorf("listeners %v, routes %v", keys(v.Listeners), keys(v.Routes))
				}
				if got := v.HealthyPerZone(checkoutDDSD); !maps.Equal(got, local) {
					return fmt.Errorf("local cluster %s per zone %v, want %v", checkoutDDSD, got, local)
				}
				if callee == nil {
					if _, ok := v.Clusters[ordersCluster]; ok {
						return fmt.Errorf("cluster %s still served", ordersCluster)
					}
					return nil
				}
				cl, ok := v.Clusters[ordersCluster]
				if !ok {
					return fmt.Errorf("no cluster %s", ordersCluster)
				}
				if za := cl.GetCommonLbConfig().GetZoneAwareLbConfig(); za.GetRoutingEnabled().GetValue() != 100 || za.GetMinClusterSize().GetValue() != 6 {
					return fmt.Errorf("cluster %s zone-aware config %v", ordersCluster, za)
				}
				if got := v.HealthyPerZone(ordersCluster); !maps.Equal(got, callee) {
					return fmt.Errorf("%s per zone %v, want %v", ordersCluster, got, callee)
				}
				return nil
			}))
			// Every view on the way, not only the one the wait returned.
			consistent(t, c, what)
		}
		return views
	}

	views := expect("first push", map[string]int{zoneA: 1, zoneB: 2, zoneC: 1}, map[string]int{zoneA: 3, zoneB: 1, zoneC: 2})
	for _, c := range clients {
		// CDS, LDS, EDS (local and callee) and RDS at least: the check
		// above saw each of them.
		if n := c.Views(); n < 4 {
			t.Errorf("%s client: %d views recorded after the first push, want one per accepted response", c.Protocol(), n)
		}
	}
	t.Run("the passthrough clusters of the listeners are original destination", func(t *testing.T) {
		for _, v := range views {
			for _, name := range []string{translate.PassthroughCluster, translate.InboundCluster} {
				if cl := v.Clusters[name]; cl.GetType() != clusterv3.Cluster_ORIGINAL_DST {
					t.Errorf("cluster %s: %v", name, cl)
				}
			}
		}
	})
	t.Run("the slices served are kube-controller-manager's", func(t *testing.T) {
		list := &discoveryv1.EndpointSliceList{}
		if err := env.Client.List(ctx(t), list, client.InNamespace(s.ns), client.MatchingLabels{discoveryv1.LabelServiceName: "orders"}); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) == 0 {
			t.Fatal("no EndpointSlice of orders")
		}
		for _, sl := range list.Items {
			if by := sl.Labels[discoveryv1.LabelManagedBy]; by != "endpointslice-controller.k8s.io" {
				t.Errorf("slice %s managed by %q", sl.Name, by)
			}
		}
	})
	t.Run("chain: what the sidecar received, simulated, is the audit's prediction", func(t *testing.T) {
		checkChain(t, env, s.ns, views[0])
	})

	// Scale down: two orders pods in us-east-1a go.
	deletePod(t, env, orders[0])
	deletePod(t, env, orders[1])
	expect("scale down", map[string]int{zoneA: 1, zoneB: 2, zoneC: 1}, map[string]int{zoneA: 1, zoneB: 1, zoneC: 2})

	// Scale up: two in us-east-1b.
	s.add(t, "orders", zoneB)
	s.add(t, "orders", zoneB)
	expect("scale up", map[string]int{zoneA: 1, zoneB: 2, zoneC: 1}, map[string]int{zoneA: 1, zoneB: 3, zoneC: 2})

	// A caller and a callee turn unready.
	markReady(t, env, checkout[2], false)
	markReady(t, env, orders[4], false)
	expect("unready pods", map[string]int{zoneA: 1, zoneB: 1, zoneC: 1}, map[string]int{zoneA: 1, zoneB: 3, zoneC: 1})

	// The Service and its slice go: its cluster and endpoints disappear.
	// No garbage collector runs to delete the controller's slices, owned by
	// the Service, so the test does.
	if err := env.Client.Delete(ctx(t), s.orders); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.DeleteAllOf(ctx(t), &discoveryv1.EndpointSlice{}, client.InNamespace(s.ns)); err != nil {
		t.Fatal(err)
	}
	for _, v := range expect("Service deleted", map[string]int{zoneA: 1, zoneB: 1, zoneC: 1}, nil) {
		if v.Endpoints[ordersCluster] != nil {
			t.Errorf("stale endpoints of %s after the Service was deleted", ordersCluster)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
