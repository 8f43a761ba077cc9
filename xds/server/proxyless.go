package server

import (
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

// Proxyless gRPC clients (google.golang.org/grpc/xds and the other gRPC
// xDS clients) ask over ADS for exactly what their targets need, by name: a
// listener per target (an API listener), its cluster, its endpoints. They
// share the sidecars' clusters and endpoints caches; their listeners come
// from a cache of their own (grpcListeners), since Envoy accepts API
// listeners only from its bootstrap and a gRPC client has no use for the
// sidecars' listeners.

// grpcClientFeature is a client feature every gRPC xDS client announces
// (gRFC A27); Envoy does not.
const grpcClientFeature = "envoy.lb.does_not_support_overprovisioning"

// isProxyless tells a gRPC xDS client from a sidecar by its node: gRPC
// names itself "gRPC <language>" in user_agent_name (gRFC A27), Envoy
// "envoy".
func isProxyless(n *corev3.Node) bool {
	return strings.HasPrefix(n.GetUserAgentName(), "gRPC ") || slices.Contains(n.GetClientFeatures(), grpcClientFeature)
}
