package server

import (
	"context"
	"slices"
	"sort"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// TestIsProxyless: gRPC clients, by user agent or client feature, are
// proxyless; Envoy and anything else are sidecars.
func TestIsProxyless(t *testing.T) {
	for _, tc := range []struct {
		name string
		node *corev3.Node
		want bool
	}{
		{"grpc-go", &corev3.Node{UserAgentName: "gRPC Go", ClientFeatures: []string{grpcClientFeature, "xds.config.resource-in-sotw"}}, true},
		{"grpc-java, features only", &corev3.Node{ClientFeatures: []string{grpcClientFeature}}, true},
		{"grpc c-core, agent only", &corev3.Node{UserAgentName: "gRPC C-core"}, true},
		{"envoy", &corev3.Node{UserAgentName: "envoy", ClientFeatures: []string{"envoy.lb.does_not_support_overprovisioning_not"}}, false},
		{"agent gRPC without the space", &corev3.Node{UserAgentName: "gRPCish"}, false},
		{"no node", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isProxyless(tc.node); got != tc.want {
				t.Errorf("isProxyless = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestListenersByClient: over the same ADS server, a gRPC client asking
// for a target's listener gets the API listener, and a sidecar asking for
// every listener gets the sidecar listeners and never an API listener.
func TestListenersByClient(t *testing.T) {
	s := newTestServer(t)
	s.build(context.Background(), []Reader{objects()})
	if got := keys(s.caches.linear[grpcListeners].GetResources()); !slices.Equal(got, []string{"orders.service.prod.ddsd", "orders.service.prod.ddsd:80"}) {
		t.Fatalf("API listeners cached: %v", got)
	}
	conn := serve(t, s)
	for _, tc := range []struct {
		name string
		node *corev3.Node
		ask  []string
		want []string
	}{
		{"a gRPC client gets its target's API listener", &corev3.Node{Id: "g", UserAgentName: "gRPC Go"}, []string{"orders.service.prod.ddsd:80"}, []string{"orders.service.prod.ddsd:80"}},
		{"a sidecar gets the sidecar listeners only", &corev3.Node{Id: "x.ns", Cluster: "a.service.prod.ddsd", UserAgentName: "envoy"}, nil, []string{"inzone-inbound", "inzone-outbound"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range firstResponse(t, conn, tc.node, resourcev3.ListenerType, tc.ask) {
				l := &listenerv3.Listener{}
				if err := a.UnmarshalTo(l); err != nil {
					t.Fatal(err)
				}
				got = append(got, l.Name)
			}
			sort.Strings(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got listeners %v, want %v", got, tc.want)
			}
		})
	}
}
