package xds

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/inzone-io/inzone/test/adsclient"
	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/xds/server"
	"github.com/inzone-io/inzone/xds/translate"
)

// TestRolloutCoalesces: a 100-pod rollout, each pod created, bound and made
// Ready one by one, with kube-controller-manager's EndpointSlice controller
// adding each to the slice (some 300 pod writes plus the slice's updates,
// each an informer event), reaches the clients as a handful of snapshots,
// and the last one holds all 100 endpoints in their zones.
func TestRolloutCoalesces(t *testing.T) {
	env := envtest.For(t)
	nsObj, err := env.CreateNamespace(ctx(t), "rollout-", false)
	if err != nil {
		t.Fatal(err)
	}
	ns := nsObj.Name
	// The DDSD name is the app's, whatever the namespace: a run of its
	// own (-count), so that an earlier run's pods do not join it.
	app := ns
	zones := []string{zoneA, zoneB, zoneC}
	nodeOf := map[string]string{}
	for _, z := range zones {
		nodeOf[z] = ns + "-" + z[len(z)-1:]
		nodes(t, env, "", map[string]string{nodeOf[z]: z})
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if err := env.Client.Create(ctx(t), svc); err != nil {
		t.Fatal(err)
	}
	caller := injectedPod(t, env, ns, "rollout-caller", "rollout-caller", nodeOf[zoneA], "10.250.0.1", true)
	addr, _, reg := startXDS(t, env)
	sotw := dial(t, addr, "sotw", caller.Name+"."+ns, "rollout-caller.service.prod.ddsd", zoneA)
	cluster := translate.ClusterName(app+".service.prod.ddsd", 80)
	sotw.WaitT(t, waitTimeout, "before the rollout", func(v adsclient.View) error {
		if v.Endpoints[cluster] == nil {
			return fmt.Errorf("no endpoints of %s", cluster)
		}
		return nil
	})
	start := time.Now()
	before := metricValue(t, reg, "inzone_xds_snapshots_total")

	const pods = 100
	for i := range pods {
		injectedPod(t, env, ns, fmt.Sprintf("rollout-%03d", i), app, nodeOf[zones[i%3]], fmt.Sprintf("10.251.%d.%d", i/250, i%250+1), true)
	}
	sotw.WaitT(t, waitTimeout, "after the rollout", func(v adsclient.View) error {
		want := map[string]int{zoneA: 34, zoneB: 33, zoneC: 33}
		if got := v.HealthyPerZone(cluster); fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("%s per zone %v, want %v", cluster, got, want)
		}
		return nil
	})
	consistent(t, sotw, "during the rollout")
	published := metricValue(t, reg, "inzone_xds_snapshots_total") - before
	elapsed := time.Since(start)
	// The bound follows from the policy, not from the machine's speed: a
	// build waits at least Quiet after its burst's first change, which
	// comes after the previous build began, so builds begin at least
	// Quiet apart, and in elapsed at most elapsed/Quiet + 2 of them count
	// (one may have begun before the first reading). Without coalescing
	// there would be about one per event: some 300 pod writes and the
	// slice's updates.
	bound := int(elapsed/server.DefaultQuiet) + 2
	t.Logf("%d pods, %d pod writes in %v: %.0f snapshots published, at most %d allowed", pods, 3*pods, elapsed.Round(time.Millisecond), published, bound)
	if published < 1 || int(published) > bound {
		t.Errorf("%.0f snapshots for a 100-pod rollout in %v, want 1 to %d (Quiet %v)", published, elapsed, bound, server.DefaultQuiet)
	}
}
