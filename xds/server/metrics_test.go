package server

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/translate"
)

// compare checks the samples of the named series in reg against want,
// one "name{label="value",...} value" line each, in any order (HELP and
// TYPE are left out: only the values matter here).
func compare(t *testing.T, reg *prometheus.Registry, want string, names ...string) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		if !slices.Contains(names, mf.GetName()) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			series := mf.GetName()
			if len(labels) > 0 {
				series += "{" + strings.Join(labels, ",") + "}"
			}
			got = append(got, fmt.Sprintf("%s %v", series, m.GetGauge().GetValue()+m.GetCounter().GetValue()))
		}
	}
	wantLines := strings.Split(strings.TrimSpace(want), "\n")
	slices.Sort(got)
	slices.Sort(wantLines)
	if !slices.Equal(got, wantLines) {
		t.Errorf("series:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
	}
}

// TestMetrics: after a build holding an endpoint without a zone and a
// slice address that is not an IP, and after a sidecar and a proxyless
// gRPC client were sent responses, the registry says so: the unzoned
// endpoint, the object not served, the resources by type, one push
// latency observed, one response per client by type, the streams by
// protocol and client; and the streams are gone from the gauge when they
// end.
func TestMetrics(t *testing.T) {
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := New(context.Background(), tr, Options{Registry: reg})
	r := objects()
	slice := r.src.EndpointSlices[0]
	slice.Endpoints = append(slice.Endpoints,
		discoveryv1.Endpoint{Addresses: []string{"10.0.0.2"}},                     // no zone, no node: unzoned
		discoveryv1.Endpoint{Addresses: []string{"not-an-ip"}, Zone: ptrTo("z1")}) // not served
	s.Changed()
	s.build(context.Background(), []Reader{r})

	// Clusters: the callee's one and the listeners' own.
	compare(t, reg, `
inzone_xds_endpoints_without_zone 1
inzone_xds_objects_not_served 1
inzone_xds_resources{type="Cluster"} `+strconv.Itoa(1+len(translate.ListenerClusters))+`
inzone_xds_resources{type="ClusterLoadAssignment"} 3
inzone_xds_resources{type="Listener"} 2
inzone_xds_resources{type="RouteConfiguration"} 1
inzone_xds_snapshots_total 1
`, "inzone_xds_endpoints_without_zone", "inzone_xds_objects_not_served", "inzone_xds_resources", "inzone_xds_snapshots_total")
	if n := histogramCount(t, reg, "inzone_xds_push_latency_seconds"); n != 1 {
		t.Errorf("%d push latencies observed, want 1 (one burst)", n)
	}

	addr := listen(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sidecar := openClient(t, ctx, dial(t, addr), "sotw", &corev3.Node{Id: "a-1.ns", Cluster: "a.service.prod.ddsd", UserAgentName: "envoy"})
	sidecar.subscribe(t)
	sidecar.recv(t)
	proxyless, err := discoveryv3.NewAggregatedDiscoveryServiceClient(dial(t, addr)).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	grpcNode := &corev3.Node{Id: "g", UserAgentName: "gRPC Go", ClientFeatures: []string{grpcClientFeature}}
	if err := proxyless.Send(&discoveryv3.DeltaDiscoveryRequest{Node: grpcNode, TypeUrl: resourcev3.EndpointType,
		ResourceNamesSubscribe: []string{"orders.service.prod.ddsd:80"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := proxyless.Recv(); err != nil {
		t.Fatal(err)
	}
	silentCtx, silentCancel := context.WithCancel(ctx)
	if _, err := discoveryv3.NewAggregatedDiscoveryServiceClient(dial(t, addr)).StreamAggregatedResources(silentCtx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the silent stream is counted", func() bool {
		return testutil.ToFloat64(s.metrics.connected.WithLabelValues("sotw", clientUnknown)) == 1
	})
	compare(t, reg, `
inzone_xds_connected_streams{client="grpc",protocol="delta"} 1
inzone_xds_connected_streams{client="sidecar",protocol="sotw"} 1
inzone_xds_connected_streams{client="unknown",protocol="delta"} 0
inzone_xds_connected_streams{client="unknown",protocol="sotw"} 1
inzone_xds_responses_total{type="Cluster"} 1
inzone_xds_responses_total{type="ClusterLoadAssignment"} 1
`, "inzone_xds_connected_streams", "inzone_xds_responses_total")

	silentCancel()
	cancel()
	eventually(t, "every stream leaves the gauge when it ends", func() bool {
		for _, l := range [][2]string{{"sotw", clientSidecar}, {"delta", clientGRPC}, {"sotw", clientUnknown}} {
			if testutil.ToFloat64(s.metrics.connected.WithLabelValues(l[0], l[1])) != 0 {
				return false
			}
		}
		return true
	})
}

// histogramCount is the number of observations of the histogram name.
func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no %s gathered", name)
	return 0
}

func ptrTo[T any](v T) *T { return &v }
