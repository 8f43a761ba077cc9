package server

import (
	"context"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/inzone-io/inzone/xds/translate"
)

// Proxyless gRPC clients (google.golang.org/grpc/xds and the other gRPC
// xDS clients) get their own cache. They ask over state-of-the-world ADS
// for exactly what their targets need, by name: a listener per target
// (an API listener), its cluster, its endpoints. The sidecars' cache runs
// in ADS mode, where go-control-plane answers a named request only when it
// names every resource of its type in the snapshot: a gRPC client would
// never be answered. The proxyless cache is not in ADS mode: it answers
// with the named resources, and holds one snapshot for all gRPC clients
// (the callee clusters and endpoints, the same maps as the sidecars' view,
// and the API listeners), since nothing in it depends on the client.
const (
	sidecarCacheKey   = "sidecar"
	proxylessCacheKey = "proxyless"
)

// grpcClientFeature is a client feature every gRPC xDS client announces
// (gRFC A27); Envoy does not.
const grpcClientFeature = "envoy.lb.does_not_support_overprovisioning"

// isProxyless tells a gRPC xDS client from a sidecar by its node: gRPC
// names itself "gRPC <language>" in user_agent_name (gRFC A27), Envoy
// "envoy".
func isProxyless(n *corev3.Node) bool {
	return strings.HasPrefix(n.GetUserAgentName(), "gRPC ") || slices.Contains(n.GetClientFeatures(), grpcClientFeature)
}

func classify(n *corev3.Node) string {
	if isProxyless(n) {
		return proxylessCacheKey
	}
	return sidecarCacheKey
}

// muxCaches sends each stream's requests to the sidecars' or the
// proxyless clients' cache, by the node of the stream.
func muxCaches(sidecar, proxyless cachev3.Cache) *cachev3.MuxCache {
	return &cachev3.MuxCache{
		Classify:      func(r *cachev3.Request) string { return classify(r.GetNode()) },
		ClassifyDelta: func(r *cachev3.DeltaRequest) string { return classify(r.GetNode()) },
		Caches:        map[string]cachev3.Cache{sidecarCacheKey: sidecar, proxylessCacheKey: proxyless},
	}
}

// proxylessHash keys every gRPC client to the one proxyless snapshot.
type proxylessHash struct{}

func (proxylessHash) ID(*corev3.Node) string { return "" }

// proxylessSnapshot is the gRPC clients' snapshot: the view's clusters and
// callee endpoints, and the API listeners in place of the sidecar ones.
// No routes: each API listener carries its route inline.
func (v *view) proxylessSnapshot(apiListeners []types.Resource) (*cachev3.Snapshot, error) {
	versions, err := resourceVersions(apiListeners)
	if err != nil {
		return nil, err
	}
	snap := &cachev3.Snapshot{VersionMap: map[string]map[string]string{
		resourcev3.ClusterType:  v.versions[resourcev3.ClusterType],
		resourcev3.EndpointType: v.versions[resourcev3.EndpointType],
		resourcev3.ListenerType: versions,
		resourcev3.RouteType:    {},
	}}
	snap.Resources[types.Cluster] = v.types[types.Cluster]
	snap.Resources[types.Endpoint] = v.types[types.Endpoint]
	snap.Resources[types.Listener] = cachev3.NewResources(typeVersion(apiListeners, versions), apiListeners)
	snap.Resources[types.Route] = cachev3.NewResources(combine(), nil)
	return snap, nil
}

// publishProxyless sets the gRPC clients' snapshot when it changed.
func (s *Server) publishProxyless(ctx context.Context, v *view, out *translate.Output) (bool, error) {
	snap, err := v.proxylessSnapshot(resources(out.APIListeners))
	if err != nil {
		return false, err
	}
	if sameVersions(s.lastProxyless, snap) {
		return false, nil
	}
	if err := s.proxyless.SetSnapshot(ctx, "", snap); err != nil {
		return false, err
	}
	s.lastProxyless = snap
	return true, nil
}
