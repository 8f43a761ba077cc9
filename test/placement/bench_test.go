package placement

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/inzone-io/inzone/simulate"
	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/webhook"
)

// benchPods is how many pods BenchmarkPlace1000Pods places.
const benchPods = 1000

// benchRuns numbers the benchmark's clusters: -count runs it again in the
// same control plane, and node names must not repeat.
var benchRuns int

// benchLayout is 3 zones of 4 nodes, 110 pods each: room for 1,320.
var benchLayout = layout{zones: []zoneNodes{{zoneA, 4, 0}, {zoneB, 4, 0}, {zoneC, 4, 0}}}

// webhookLatency is the sum (seconds) and count of controller-runtime's
// controller_runtime_webhook_latency_seconds histogram for inzone's path,
// which the webhook running in this process records.
func webhookLatency(b *testing.B) (sum float64, count uint64) {
	b.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "controller_runtime_webhook_latency_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "webhook" && l.GetValue() == webhook.Path {
					sum += m.GetHistogram().GetSampleSum()
					count += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return sum, count
}

// BenchmarkPlace1000Pods times a 1,000-replica Deployment from its create
// until the scheduler bound every pod: the ReplicaSet controller creates
// the pods, the API server calls inzone's webhook for each (with inzone),
// the scheduler binds them. It reports the webhook's share of that time
// from its admission latency histogram (summed over requests, which run
// concurrently). Run it with -benchtime 1x (make bench-placement).
func BenchmarkPlace1000Pods(b *testing.B) {
	for _, on := range []bool{true, false} {
		mode := map[bool]string{true: "with-inzone", false: "without-inzone"}[on]
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				benchRuns++
				c := createCluster(b, benchLayout, fmt.Sprintf("bench-%s-%d", mode, benchRuns))
				ns := namespace(b, on)
				sum0, n0 := webhookLatency(b)
				start := time.Now()
				create(b, c.deployment(ns, "web", benchPods))
				zones := waitBound(b, c, ns, benchPods)
				wall := time.Since(start)
				sum1, n1 := webhookLatency(b)
				admit := sum1 - sum0
				b.ReportMetric(wall.Seconds(), "s/place")
				b.ReportMetric(admit, "webhook-s")
				b.ReportMetric(100*admit/wall.Seconds(), "webhook-%")
				if n := n1 - n0; n > 0 {
					b.ReportMetric(1000*admit/float64(n), "ms/admission")
				}
				b.Logf("%s: %d pods bound in %s, %s (skew %d); %d admission requests, %.2fs in the webhook",
					mode, benchPods, wall.Round(time.Millisecond), c.formatZones(zones), c.skew(zones), n1-n0, admit)
			}
			b.ReportMetric(0, "ns/op") // wall time is s/place; ns/op would count the node setup too
		})
	}
}

// waitBound waits until want pods labelled app=web in ns are bound and
// counts them per zone.
func waitBound(b *testing.B, c *cluster, ns string, want int) simulate.Zones {
	b.Helper()
	env := envtest.For(b)
	var zones simulate.Zones
	bound := 0
	err := wait.PollUntilContextTimeout(ctx(b, 15*time.Minute), 250*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		list := &corev1.PodList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"app": "web"}); err != nil {
			return false, nil
		}
		zones, bound = simulate.Zones{}, 0
		for _, p := range list.Items {
			if p.Spec.NodeName != "" {
				zones[c.nodeZone[p.Spec.NodeName]]++
				bound++
			}
		}
		return bound == want, nil
	})
	if err != nil {
		b.Fatalf("%d of %d pods bound: %v", bound, want, err)
	}
	return zones
}
