package xds

import (
	"math"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/audit"
	"github.com/inzone-io/inzone/simulate"
	"github.com/inzone-io/inzone/test/adsclient"
	"github.com/inzone-io/inzone/test/envtest"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// checkChain feeds what a sidecar received (its local cluster's and the
// callee's endpoints per zone, the cluster's min_cluster_size) to simulate,
// and compares with `kubectl inzone audit`'s prediction for the edge
// checkout -> orders on the same objects, listed from the API server.
func checkChain(t *testing.T, env *envtest.Env, ns string, v adsclient.View) {
	t.Helper()
	callers := simulate.Zones(v.HealthyPerZone(checkoutDDSD))
	callees := simulate.Zones(v.HealthyPerZone(ordersCluster))
	minSize := int(v.Clusters[ordersCluster].GetCommonLbConfig().GetZoneAwareLbConfig().GetMinClusterSize().GetValue())
	plan, err := simulate.ZoneAware(callers, callees, simulate.Options{MinClusterSize: minSize})
	if err != nil {
		t.Fatal(err)
	}

	var in audit.Input
	nodes, pods, svcs, slices := &corev1.NodeList{}, &corev1.PodList{}, &corev1.ServiceList{}, &discoveryv1.EndpointSliceList{}
	for _, l := range []client.ObjectList{nodes, pods, svcs, slices} {
		if err := env.Client.List(ctx(t), l); err != nil {
			t.Fatal(err)
		}
	}
	in.Nodes, in.Services, in.EndpointSlices = nodes.Items, svcs.Items, slices.Items
	for _, p := range pods.Items {
		if p.Namespace == ns {
			in.Pods = append(in.Pods, p)
		}
	}
	rep, err := audit.Audit(ctx(t), in, audit.Options{
		Simulate:  simulate.Options{MinClusterSize: int(testConfig().XDS.MinClusterSize)},
		CallGraph: []audit.Edge{{From: audit.WorkloadRef{Namespace: ns, Kind: "app", Name: "checkout"}, To: ns + "/orders", RequestsPerSecond: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Edges) != 1 || rep.Edges[0].Skipped != "" {
		t.Fatalf("audit edges: %+v", rep.Edges)
	}
	e := rep.Edges[0]
	if !equalZones(e.Callers, callers) || !equalZones(e.Callees, callees) {
		t.Errorf("audit sees callers %v callees %v; the sidecar received %v and %v", e.Callers, e.Callees, callers, callees)
	}
	if math.Abs(e.ZoneAwareCrossZone-plan.CrossZone) > 1e-9 || math.Abs(e.RoundRobinCrossZone-plan.RoundRobinCrossZone) > 1e-9 {
		t.Errorf("audit predicts cross-zone %.4f (round robin %.4f); simulate on what the sidecar received gives %.4f (%.4f)",
			e.ZoneAwareCrossZone, e.RoundRobinCrossZone, plan.CrossZone, plan.RoundRobinCrossZone)
	}
	if plan.CrossZone == 0 || plan.CrossZone >= plan.RoundRobinCrossZone {
		t.Errorf("the scenario should cross zones some, less than round robin: %.4f vs %.4f", plan.CrossZone, plan.RoundRobinCrossZone)
	}
}

func equalZones(a map[string]int, b simulate.Zones) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
