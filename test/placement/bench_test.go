package placement

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
// which the webhook running in this process records: from request to
// response, in the webhook.
func webhookLatency(b *testing.B) (sum float64, count uint64) {
	b.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	return histogram(families, "controller_runtime_webhook_latency_seconds", "webhook", webhook.Path)
}

// apiserverWebhookLatency is the same as the API server sees it (its
// apiserver_admission_webhook_admission_duration_seconds for inzone's
// webhook): the call, connection and TLS included.
func apiserverWebhookLatency(b *testing.B) (sum float64, count uint64) {
	b.Helper()
	body, err := envtest.For(b).RawGet(ctx(b, time.Minute), "/metrics")
	if err != nil {
		b.Fatalf("the API server's /metrics: %v", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		b.Fatalf("parsing the API server's /metrics: %v", err)
	}
	list := make([]*dto.MetricFamily, 0, len(families))
	for _, f := range families {
		list = append(list, f)
	}
	return histogram(list, "apiserver_admission_webhook_admission_duration_seconds", "name", envtest.WebhookName)
}

// histogram sums the histogram name's series whose label is value.
func histogram(families []*dto.MetricFamily, name, label, value string) (sum float64, count uint64) {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
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
				api0, calls0 := apiserverWebhookLatency(b)
				start := time.Now()
				d := c.deployment(ns, "web", benchPods)
				// The stand-in kubelet's status updates are not placement.
				d.Spec.Template.Labels[envtest.KubeletSkipLabel] = "true"
				create(b, d)
				zones := waitBound(b, c, ns, benchPods)
				wall := time.Since(start)
				sum1, n1 := webhookLatency(b)
				api1, calls1 := apiserverWebhookLatency(b)
				admit, called := sum1-sum0, api1-api0
				// The figures mean something only if inzone saw every pod it
				// should, and none it should not, and spread them.
				if want := map[bool]uint64{true: benchPods, false: 0}[on]; n1-n0 < want || (!on && n1 != n0) {
					b.Fatalf("%s: the webhook reviewed %d pods, want %d", mode, n1-n0, want)
				}
				if on && c.skew(zones) > 1 {
					b.Fatalf("with inzone, 1,000 pods on 3 equal zones placed %s", c.formatZones(zones))
				}
				b.ReportMetric(wall.Seconds(), "s/place")
				b.ReportMetric(admit, "webhook-s")
				b.ReportMetric(100*admit/wall.Seconds(), "webhook-%")
				if n := calls1 - calls0; n > 0 {
					b.ReportMetric(1000*called/float64(n), "ms/apiserver-call")
				}
				if n := n1 - n0; n > 0 {
					b.ReportMetric(1000*admit/float64(n), "ms/admission")
				}
				b.Logf("%s: %d pods bound in %s, %s (skew %d); %d reviews, %.2fs in the webhook; %d calls, %.2fs calling it in the API server",
					mode, benchPods, wall.Round(time.Millisecond), c.formatZones(zones), c.skew(zones), n1-n0, admit, calls1-calls0, called)
			}
			b.ReportMetric(0, "ns/op") // wall time is s/place; ns/op would count the node setup too
		})
	}
}

// waitBound waits until the Deployment app=web in ns has want pods and
// none is unbound, and counts them per zone. It polls cheaply (the
// Deployment, and the metadata of the pods still unbound) so the waiting
// does not load the API server it measures.
func waitBound(b *testing.B, c *cluster, ns string, want int) simulate.Zones {
	b.Helper()
	env := envtest.For(b)
	last := ""
	err := wait.PollUntilContextTimeout(ctx(b, 15*time.Minute), 250*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		d := &appsv1.Deployment{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, d); err != nil {
			return false, nil
		}
		unbound := &metav1.PartialObjectMetadataList{}
		unbound.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
		if err := env.Client.List(ctx, unbound, client.InNamespace(ns), client.MatchingFields{"spec.nodeName": ""}); err != nil {
			return false, nil
		}
		last = fmt.Sprintf("%d pods, %d unbound", d.Status.Replicas, len(unbound.Items))
		return int(d.Status.Replicas) == want && len(unbound.Items) == 0, nil
	})
	if err != nil {
		b.Fatalf("not %d pods bound: %v; last: %s", want, err, last)
	}
	list := &corev1.PodList{}
	if err := env.Client.List(ctx(b, time.Minute), list, client.InNamespace(ns), client.MatchingLabels{"app": "web"}); err != nil {
		b.Fatal(err)
	}
	zones, bound := simulate.Zones{}, 0
	for _, p := range list.Items {
		if p.Spec.NodeName != "" {
			zones[c.nodeZone[p.Spec.NodeName]]++
			bound++
		}
	}
	if bound != want {
		b.Fatalf("%d of %d pods bound", bound, want)
	}
	return zones
}
