package server

import (
	"context"
	"slices"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// TestClassify: gRPC clients, by user agent or client feature, go to the
// proxyless cache; Envoy and anything else to the sidecars'.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		node *corev3.Node
		want string
	}{
		{"grpc-go", &corev3.Node{UserAgentName: "gRPC Go", ClientFeatures: []string{grpcClientFeature, "xds.config.resource-in-sotw"}}, proxylessCacheKey},
		{"grpc-java, features only", &corev3.Node{ClientFeatures: []string{grpcClientFeature}}, proxylessCacheKey},
		{"grpc c-core, agent only", &corev3.Node{UserAgentName: "gRPC C-core"}, proxylessCacheKey},
		{"envoy", &corev3.Node{UserAgentName: "envoy", ClientFeatures: []string{"envoy.lb.does_not_support_overprovisioning_not"}}, sidecarCacheKey},
		{"agent gRPC without the space", &corev3.Node{UserAgentName: "gRPCish"}, sidecarCacheKey},
		{"no node", nil, sidecarCacheKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.node); got != tc.want {
				t.Errorf("classify = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestProxylessSnapshot: gRPC clients get the API listeners and the shared
// clusters and endpoints (the same maps), no sidecar listener and no local
// cluster; sidecars get no API listener. An unchanged state is not
// published again.
func TestProxylessSnapshot(t *testing.T) {
	s := newTestServer(t)
	s.build(context.Background(), []Reader{objects()})
	got, err := s.proxyless.GetSnapshot("")
	if err != nil {
		t.Fatal(err)
	}
	snap := got.(*cachev3.Snapshot)
	names := func(snap *cachev3.Snapshot, url string) []string {
		var out []string
		for n := range snap.GetResources(url) {
			out = append(out, n)
		}
		slices.Sort(out)
		return out
	}
	if l := names(snap, resourcev3.ListenerType); !slices.Equal(l, []string{"orders.service.prod.ddsd", "orders.service.prod.ddsd:80"}) {
		t.Errorf("proxyless listeners: %v", l)
	}
	if e := names(snap, resourcev3.EndpointType); !slices.Equal(e, []string{"orders.service.prod.ddsd:80"}) {
		t.Errorf("proxyless endpoints: %v", e)
	}
	if r := names(snap, resourcev3.RouteType); len(r) != 0 {
		t.Errorf("proxyless routes: %v", r)
	}
	sidecar := s.last["a.service.prod.ddsd"]
	if l := names(sidecar, resourcev3.ListenerType); slices.Contains(l, "orders.service.prod.ddsd:80") {
		t.Errorf("sidecars are sent API listeners: %v", l)
	}
	ma, mb := snap.Resources[types.Cluster].Items, sidecar.Resources[types.Cluster].Items
	ma["probe"] = types.ResourceWithTTL{}
	_, shared := mb["probe"]
	delete(ma, "probe")
	if !shared {
		t.Error("the proxyless snapshot copies the clusters")
	}
	if changed, err := s.publishProxyless(context.Background(), mustView(t, s), s.current.Load()); err != nil || changed {
		t.Errorf("republishing the same state: changed %v, %v", changed, err)
	}
}

func mustView(t *testing.T, s *Server) *view {
	t.Helper()
	v, err := newView(s.current.Load())
	if err != nil {
		t.Fatal(err)
	}
	return v
}
