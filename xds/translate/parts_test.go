package translate

import (
	"bytes"
	"path/filepath"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
)

// multiport is the golden case with several Services and ports.
func multiport(t *testing.T) Input {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "cases", "multiport-dualstack", "*.yaml"))
	var in Input
	for _, f := range files {
		in.Sources = append(in.Sources, loadSource(t, f))
	}
	return in
}

// TestResourcesShareParts: the callee clusters and the virtual hosts'
// routes of two translations point at one copy of what they have alike,
// the memory a Service costs held once per Translator.
func TestResourcesShareParts(t *testing.T) {
	tr := testTranslator(t)
	in := multiport(t)
	a, b := tr.Translate(in), tr.Translate(in)
	var eds []*clusterv3.Cluster
	for _, c := range append(a.Clusters, b.Clusters...) {
		if c.GetEdsClusterConfig() != nil {
			eds = append(eds, c)
		}
	}
	if len(eds) < 4 {
		t.Fatalf("%d EDS clusters: the case has too few to tell", len(eds))
	}
	first := eds[0]
	for _, c := range eds[1:] {
		if c.CommonLbConfig != first.CommonLbConfig || c.EdsClusterConfig.EdsConfig != first.EdsClusterConfig.EdsConfig ||
			c.ConnectTimeout != first.ConnectTimeout || c.TypedExtensionProtocolOptions[httpProtocolOptionsKey] != first.TypedExtensionProtocolOptions[httpProtocolOptionsKey] {
			t.Errorf("cluster %s has its own copy of a shared part", c.Name)
		}
	}
	match := map[*routev3.RouteMatch]bool{}
	for _, rc := range append(a.Routes, b.Routes...) {
		for _, vh := range rc.VirtualHosts {
			if vh.Name == PassthroughCluster {
				continue // the catch-all's few routes are its own (unservedRoutes)
			}
			for _, r := range vh.Routes {
				match[r.Match] = true
			}
		}
	}
	if len(match) != 2 {
		t.Errorf("%d route matches, want 2 (the CONNECT one and prefix /)", len(match))
	}
}

// TestAPIListenerBytes: an API listener built from the reused connection
// manager carries the bytes a connection manager built for it alone
// marshals to, one after another in any order (nothing of one listener
// left in the next).
func TestAPIListenerBytes(t *testing.T) {
	tr := testTranslator(t)
	b := tr.parts.newAPIListenerBuilder()
	for _, tc := range []struct{ target, cluster string }{
		{"orders.service.prod.ddsd:8080", "orders.service.prod.ddsd:8080"},
		{"orders.service.prod.ddsd", "orders.service.prod.ddsd:8080"},
		{"a.b", "a.b:1"},
		{"a-much-longer-name.service.prod.ddsd:65535", "a-much-longer-name.service.prod.ddsd:65535"},
	} {
		got := b.listener(tc.target, tc.cluster)
		alone := mustAny(&hcmv3.HttpConnectionManager{
			StatPrefix: "inzone_grpc",
			RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
				Name: tc.target,
				VirtualHosts: []*routev3.VirtualHost{{
					Name:    tc.target,
					Domains: []string{tc.target},
					Routes: []*routev3.Route{{
						Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
						Action: &routev3.Route_Route{Route: &routev3.RouteAction{
							ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: tc.cluster},
						}},
					}},
				}},
			}},
			HttpFilters: []*hcmv3.HttpFilter{{
				Name:       "envoy.filters.http.router",
				ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})},
			}},
		})
		if got.Name != tc.target || got.ApiListener.ApiListener.TypeUrl != alone.TypeUrl || !bytes.Equal(got.ApiListener.ApiListener.Value, alone.Value) {
			t.Errorf("%s -> %s: listener %s differs from one built alone", tc.target, tc.cluster, got.Name)
		}
		if !proto.Equal(got.ApiListener.ApiListener, alone) {
			t.Errorf("%s: not equal as messages", tc.target)
		}
	}
}
