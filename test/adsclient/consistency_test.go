package adsclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// routesTo is a route table with one virtual host, "all", whose routes
// go to clusters in turn.
func routesTo(name string, clusters ...string) *routev3.RouteConfiguration {
	vh := &routev3.VirtualHost{Name: "all", Domains: []string{"*"}}
	for _, c := range clusters {
		vh.Routes = append(vh.Routes, &routev3.Route{
			Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/" + c}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: c}}},
		})
	}
	return &routev3.RouteConfiguration{Name: name, VirtualHosts: []*routev3.VirtualHost{vh}}
}

// tcpListener is a listener whose one filter chain proxies TCP to cluster.
func tcpListener(t *testing.T, name, cluster string) *listenerv3.Listener {
	t.Helper()
	tp, err := anypb.New(&tcpproxyv3.TcpProxy{StatPrefix: name, ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: cluster}})
	if err != nil {
		t.Fatal(err)
	}
	return &listenerv3.Listener{Name: name, FilterChains: []*listenerv3.FilterChain{{
		Filters: []*listenerv3.Filter{{Name: "tcp", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: tp}}}}}}
}

// consistencyStep is one snapshot served, and the view the client holds
// once it took it.
type consistencyStep struct {
	resources func(t *testing.T) map[string][]types.Resource
	// took accepts the view that shows the step was taken. It may be
	// incomplete (WaitPartial): a server can leave a cluster warming, or
	// without the endpoints it had.
	took func(View) error
}

// TestInconsistentViewsAreNamed: go-control-plane's own server, fed
// snapshots that break the xDS ordering Envoy relies on, makes the client
// record an inconsistent view, which Consistency names (the response that
// made it, the versions held, what was missing); snapshots that keep the
// order (a cluster or listener warming for what it reads included) leave
// every view consistent.
func TestInconsistentViewsAreNamed(t *testing.T) {
	const orders, payments = "orders", "payments"
	base := func(t *testing.T) map[string][]types.Resource {
		return map[string][]types.Resource{
			resourcev3.ClusterType:  {edsCluster(orders, "")},
			resourcev3.EndpointType: {endpoints("web", "a"), endpoints(orders, "a")},
			resourcev3.ListenerType: {rdsListener(t, "outbound", "routes", false)},
			resourcev3.RouteType:    {routesTo("routes", orders)},
		}
	}
	with := func(change func(t *testing.T, r map[string][]types.Resource)) func(t *testing.T) map[string][]types.Resource {
		return func(t *testing.T) map[string][]types.Resource {
			r := base(t)
			change(t, r)
			return r
		}
	}
	holds := func(typ, name string, want bool) func(View) error {
		return func(v View) error {
			var ok bool
			switch typ {
			case resourcev3.ClusterType:
				_, ok = v.Clusters[name]
			case resourcev3.EndpointType:
				_, ok = v.Endpoints[name]
			case resourcev3.ListenerType:
				_, ok = v.Listeners[name]
			case resourcev3.RouteType:
				_, ok = v.Routes[name]
			}
			if ok != want {
				return fmt.Errorf("holds %s %q: %v, want %v", typeName(typ), name, ok, want)
			}
			return nil
		}
	}
	both := []Protocol{SotW, Delta}
	for _, tc := range []struct {
		name      string
		protocols []Protocol
		steps     []consistencyStep
		// want are what Consistency's error says; none: every view was
		// consistent.
		want []string
	}{{
		name:      "a route names a cluster CDS never sent",
		protocols: both,
		steps: []consistencyStep{{
			resources: with(func(_ *testing.T, r map[string][]types.Resource) {
				r[resourcev3.RouteType] = []types.Resource{routesTo("routes", orders, payments)}
			}),
			took: holds(resourcev3.RouteType, "routes", true),
		}},
		want: []string{`RouteConfiguration version "1"`, `route table "routes" virtual host "all" route 1 names cluster "payments", which CDS does not hold`},
	}, {
		name:      "a cluster is removed before the route naming it",
		protocols: both,
		steps: []consistencyStep{
			{resources: base, took: holds(resourcev3.RouteType, "routes", true)},
			{
				resources: with(func(_ *testing.T, r map[string][]types.Resource) { r[resourcev3.ClusterType] = nil }),
				took:      holds(resourcev3.ClusterType, orders, false),
			},
		},
		want: []string{`Cluster version "2"`, `route 0 names cluster "orders", which CDS does not hold`},
	}, {
		name:      "a TCP proxy names a cluster CDS never sent",
		protocols: both,
		steps: []consistencyStep{{
			resources: with(func(t *testing.T, r map[string][]types.Resource) {
				r[resourcev3.ListenerType] = append(r[resourcev3.ListenerType], tcpListener(t, "tcp", "nowhere"))
			}),
			took: holds(resourcev3.ListenerType, "tcp", true),
		}},
		want: []string{`listener "tcp" filter chain "0": TCP proxy names cluster "nowhere", which CDS does not hold`},
	}, {
		// State-of-the-world EDS leaves out what did not change, so only a
		// delta server can remove endpoints.
		name:      "endpoints are removed before their cluster",
		protocols: []Protocol{Delta},
		steps: []consistencyStep{
			{resources: base, took: holds(resourcev3.EndpointType, orders, true)},
			{
				resources: with(func(_ *testing.T, r map[string][]types.Resource) {
					r[resourcev3.EndpointType] = []types.Resource{endpoints("web", "a")}
				}),
				took: holds(resourcev3.EndpointType, orders, false),
			},
		},
		want: []string{`ClusterLoadAssignment version "2"`, `ClusterLoadAssignment "orders" was removed while Cluster "orders" still reads it`},
	}, {
		name:      "a route table is removed before its listener",
		protocols: []Protocol{Delta},
		steps: []consistencyStep{
			{resources: base, took: holds(resourcev3.RouteType, "routes", true)},
			{
				resources: with(func(_ *testing.T, r map[string][]types.Resource) { r[resourcev3.RouteType] = nil }),
				took:      holds(resourcev3.RouteType, "routes", false),
			},
		},
		want: []string{`RouteConfiguration "routes" was removed while Listener "outbound" still reads it`},
	}, {
		name:      "a cluster and a listener warm until what they read arrives",
		protocols: both,
		steps: []consistencyStep{
			{
				// payments waits for endpoints the server does not have
				// yet, and the listeners for the clusters.
				resources: with(func(_ *testing.T, r map[string][]types.Resource) {
					r[resourcev3.ClusterType] = append(r[resourcev3.ClusterType], edsCluster(payments, ""))
				}),
				took: holds(resourcev3.ClusterType, payments, true),
			},
			{
				// The listener "later" waits for its route table.
				resources: with(func(t *testing.T, r map[string][]types.Resource) {
					r[resourcev3.ClusterType] = append(r[resourcev3.ClusterType], edsCluster(payments, ""))
					r[resourcev3.EndpointType] = append(r[resourcev3.EndpointType], endpoints(payments, "b"))
					r[resourcev3.ListenerType] = append(r[resourcev3.ListenerType], rdsListener(t, "later", "later-routes", false))
				}),
				took: holds(resourcev3.ListenerType, "later", true),
			},
			{
				resources: with(func(t *testing.T, r map[string][]types.Resource) {
					r[resourcev3.ClusterType] = append(r[resourcev3.ClusterType], edsCluster(payments, ""))
					r[resourcev3.EndpointType] = append(r[resourcev3.EndpointType], endpoints(payments, "b"))
					r[resourcev3.ListenerType] = append(r[resourcev3.ListenerType], rdsListener(t, "later", "later-routes", false))
					r[resourcev3.RouteType] = []types.Resource{routesTo("routes", orders, payments), routesTo("later-routes", payments)}
				}),
				took: holds(resourcev3.RouteType, "later-routes", true),
			},
		},
	}} {
		for _, p := range tc.protocols {
			t.Run(tc.name+"/"+string(p), func(t *testing.T) {
				cp := startControlPlane(t)
				c := dial(t, sidecarOptions(cp.addr, p))
				for i, step := range tc.steps {
					cp.serve(t, "web-1.ns", fmt.Sprint(i+1), step.resources(t))
					ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
					_, err := c.WaitPartial(ctx, step.took)
					cancel()
					if err != nil {
						t.Fatalf("step %d: %v", i+1, err)
					}
				}
				views := c.Views()
				if views == 0 {
					t.Fatal("no view recorded")
				}
				err := c.Consistency()
				if len(tc.want) == 0 {
					if err != nil {
						t.Errorf("Consistency: %v, want every one of the %d views consistent", err, views)
					}
					return
				}
				if err == nil {
					t.Fatalf("Consistency: nil after %d views, want an inconsistent one", views)
				}
				t.Logf("as expected: %v", err)
				var first *Inconsistency
				if !errors.As(err, &first) || first.Response < 1 || first.Response > views || len(first.Problems) == 0 {
					t.Errorf("Consistency: %v, want the first Inconsistency with its response and problems", err)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Consistency: %v\nwant it to say %s", err, w)
					}
				}
			})
		}
	}
}

// TestInconsistencies: the rules on held resources alone, including
// those a server cannot break through this client (it drops what nothing
// reads), each able to fail.
func TestInconsistencies(t *testing.T) {
	inline := func(t *testing.T, weighted ...string) *listenerv3.Listener {
		t.Helper()
		wc := &routev3.WeightedCluster{}
		for _, n := range weighted {
			wc.Clusters = append(wc.Clusters, &routev3.WeightedCluster_ClusterWeight{Name: n})
		}
		rc := &routev3.RouteConfiguration{Name: "inline", VirtualHosts: []*routev3.VirtualHost{{Name: "vh", Domains: []string{"*"},
			Routes: []*routev3.Route{{Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}}}}}}}}
		hcm, err := anypb.New(&hcmv3.HttpConnectionManager{StatPrefix: "inline", RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: rc}})
		if err != nil {
			t.Fatal(err)
		}
		return &listenerv3.Listener{Name: "inline", DefaultFilterChain: &listenerv3.FilterChain{Name: "http",
			Filters: []*listenerv3.Filter{{Name: "hcm", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcm}}}}}
	}
	type state struct {
		clusters  []*clusterv3.Cluster
		listeners []*listenerv3.Listener
		endpoints []string // EDS resources held
		routes    []*routev3.RouteConfiguration
		arrived   []string // EDS resources that arrived since subscribed
		stale     []string // EDS resources held that nothing subscribes to
	}
	for _, tc := range []struct {
		name  string
		state func(t *testing.T) state
		want  []string
	}{{
		name: "an EDS cluster and a listener warming are consistent",
		state: func(t *testing.T) state {
			return state{clusters: []*clusterv3.Cluster{edsCluster("orders", "")}, listeners: []*listenerv3.Listener{rdsListener(t, "outbound", "routes", false)}}
		},
	}, {
		name: "a route may name the bootstrap's static local cluster",
		state: func(t *testing.T) state {
			return state{listeners: []*listenerv3.Listener{rdsListener(t, "outbound", "routes", false)}, routes: []*routev3.RouteConfiguration{routesTo("routes", "web")},
				endpoints: []string{"web"}, arrived: []string{"web"}}
		},
	}, {
		name: "the local cluster's endpoints removed",
		state: func(*testing.T) state {
			return state{arrived: []string{"web"}}
		},
		want: []string{`ClusterLoadAssignment "web" was removed while the bootstrap's local cluster still reads it`},
	}, {
		name: "endpoints nothing reads are stale",
		state: func(*testing.T) state {
			return state{endpoints: []string{"web"}, stale: []string{"gone"}}
		},
		want: []string{`ClusterLoadAssignment "gone" is held though nothing reads it (stale)`},
	}, {
		name: "an inline route table's weighted clusters must exist",
		state: func(t *testing.T) state {
			return state{clusters: []*clusterv3.Cluster{edsCluster("a", "")}, listeners: []*listenerv3.Listener{inline(t, "a", "b")},
				endpoints: []string{"a"}, arrived: []string{"a"}}
		},
		want: []string{`listener "inline" filter chain "http": inline routes: virtual host "vh" route 0 names cluster "b", which CDS does not hold`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.state(t)
			held := map[string]map[string]proto.Message{resourcev3.ClusterType: {}, resourcev3.ListenerType: {}, resourcev3.EndpointType: {}, resourcev3.RouteType: {}}
			for _, c := range st.clusters {
				held[resourcev3.ClusterType][c.GetName()] = c
			}
			for _, l := range st.listeners {
				held[resourcev3.ListenerType][l.GetName()] = l
			}
			for _, n := range append(slices.Clone(st.endpoints), st.stale...) {
				held[resourcev3.EndpointType][n] = endpoints(n, "a")
			}
			for _, r := range st.routes {
				held[resourcev3.RouteType][r.GetName()] = r
			}
			sub := newSubscriptions(Options{Wildcard: []string{resourcev3.ClusterType, resourcev3.ListenerType}, LocalCluster: "web"})
			for _, typ := range []string{resourcev3.ClusterType, resourcev3.ListenerType} {
				sub.set(follows[typ], sub.derive(typ, held[typ]))
			}
			arrived := map[string]map[string]bool{resourcev3.EndpointType: {}}
			for _, n := range st.arrived {
				arrived[resourcev3.EndpointType][n] = true
			}
			for _, r := range st.routes {
				arrived[resourcev3.RouteType] = map[string]bool{r.GetName(): true}
			}
			got := strings.Join(inconsistencies(held, sub, arrived, "web"), "\n")
			if len(tc.want) == 0 && got != "" {
				t.Errorf("inconsistencies:\n%s\nwant none", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("inconsistencies:\n%s\nwant %s", got, w)
				}
			}
		})
	}
}
