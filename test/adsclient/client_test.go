package adsclient

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"
)

// waitTimeout bounds every wait for what must arrive: a failure deadline,
// not a measured time.
const waitTimeout = time.Minute

func edsCluster(name, serviceName string) *clusterv3.Cluster {
	c := &clusterv3.Cluster{Name: name, ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS}}
	if serviceName != "" {
		c.EdsClusterConfig = &clusterv3.Cluster_EdsClusterConfig{ServiceName: serviceName}
	}
	return c
}

// endpoints is a load assignment with one endpoint per entry of zones,
// HEALTHY unless its zone is prefixed with "!".
func endpoints(name string, zones ...string) *endpointv3.ClusterLoadAssignment {
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: name}
	for i, z := range zones {
		health := corev3.HealthStatus_HEALTHY
		if zone, ok := strings.CutPrefix(z, "!"); ok {
			z, health = zone, corev3.HealthStatus_UNHEALTHY
		}
		addr := &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: fmt.Sprintf("10.0.0.%d", i+1), PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 8080}}}}
		cla.Endpoints = append(cla.Endpoints, &endpointv3.LocalityLbEndpoints{
			Locality: &corev3.Locality{Zone: z},
			LbEndpoints: []*endpointv3.LbEndpoint{{HealthStatus: health,
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: addr}}}},
		})
	}
	return cla
}

// rdsListener is a listener whose HTTP connection manager reads route over
// RDS, in its default filter chain when inDefault.
func rdsListener(t *testing.T, name, route string, inDefault bool) *listenerv3.Listener {
	t.Helper()
	hcm, err := anypb.New(&hcmv3.HttpConnectionManager{StatPrefix: name,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{RouteConfigName: route}}})
	if err != nil {
		t.Fatal(err)
	}
	fc := &listenerv3.FilterChain{Filters: []*listenerv3.Filter{{Name: "hcm", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcm}}}}
	if inDefault {
		return &listenerv3.Listener{Name: name, DefaultFilterChain: fc}
	}
	return &listenerv3.Listener{Name: name, FilterChains: []*listenerv3.FilterChain{fc}}
}

// controlPlane is go-control-plane's own xDS server on loopback, serving
// one snapshot to every node, recording the requests it receives.
type controlPlane struct {
	addr     string
	cache    cachev3.SnapshotCache
	mu       sync.Mutex
	reqs     []request
	received chan struct{} // signalled after each request
}

// request is what the server received, either protocol.
type request struct {
	typeURL     string
	names       []string // SotW resource_names, delta resource_names_subscribe
	unsubscribe []string
	nonce       string
	errorDetail string
}

func startControlPlane(t *testing.T) *controlPlane {
	t.Helper()
	cp := &controlPlane{cache: cachev3.NewSnapshotCache(false, cachev3.IDHash{}, nil), received: make(chan struct{}, 1)}
	record := func(r request) error {
		cp.mu.Lock()
		cp.reqs = append(cp.reqs, r)
		cp.mu.Unlock()
		select {
		case cp.received <- struct{}{}:
		default:
		}
		return nil
	}
	cb := serverv3.CallbackFuncs{
		StreamRequestFunc: func(_ int64, r *discoveryv3.DiscoveryRequest) error {
			return record(request{typeURL: r.TypeUrl, names: r.ResourceNames, nonce: r.ResponseNonce, errorDetail: r.GetErrorDetail().GetMessage()})
		},
		StreamDeltaRequestFunc: func(_ int64, r *discoveryv3.DeltaDiscoveryRequest) error {
			return record(request{typeURL: r.TypeUrl, names: r.ResourceNamesSubscribe, unsubscribe: r.ResourceNamesUnsubscribe,
				nonce: r.ResponseNonce, errorDetail: r.GetErrorDetail().GetMessage()})
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g := grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, serverv3.NewServer(ctx, cp.cache, cb))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	cp.addr = lis.Addr().String()
	return cp
}

func (cp *controlPlane) serve(t *testing.T, node, version string, resources map[string][]types.Resource) {
	t.Helper()
	snap, err := cachev3.NewSnapshot(version, resources)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.cache.SetSnapshot(context.Background(), node, snap); err != nil {
		t.Fatal(err)
	}
}

// waitRequest waits until the server received a request that matches.
func (cp *controlPlane) waitRequest(t *testing.T, what string, match func(request) bool) request {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		for _, r := range cp.requests() {
			if match(r) {
				return r
			}
		}
		select {
		case <-cp.received:
		case <-deadline:
			t.Fatalf("%s: not among the requests received: %+v", what, cp.requests())
		}
	}
}

func (cp *controlPlane) requests() []request {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return slices.Clone(cp.reqs)
}

// sidecarOptions subscribe as an injected sidecar of web in zone a.
func sidecarOptions(addr string, p Protocol) Options {
	return Options{
		Addr: addr, DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())},
		Protocol: p, Node: SidecarNode("web-1.ns", "web", "a"), LocalCluster: "web",
		Wildcard: []string{resourcev3.ClusterType, resourcev3.ListenerType},
	}
}

func dial(t *testing.T, opts Options) *Client {
	t.Helper()
	c, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// want compares one field of a view.
func want(what string, got, want any) error {
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("%s %v, want %v", what, got, want)
	}
	return nil
}

// TestFollowsAsEnvoy: over either protocol, the client subscribes in
// Envoy's order, asks for the endpoints of every EDS cluster (by its
// service_name when it has one) and of its local cluster and the route
// tables its listeners read, holds no more than that, counts healthy
// endpoints per zone, and forgets the endpoints of a cluster CDS drops.
func TestFollowsAsEnvoy(t *testing.T) {
	for _, p := range []Protocol{SotW, Delta} {
		t.Run(string(p), func(t *testing.T) {
			cp := startControlPlane(t)
			cp.serve(t, "web-1.ns", "1", map[string][]types.Resource{
				resourcev3.ClusterType: {edsCluster("orders", ""), edsCluster("payments", "payments-eds"),
					&clusterv3.Cluster{Name: "passthrough", ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST}}},
				resourcev3.EndpointType: {endpoints("web", "a"), endpoints("orders", "a", "a", "b", "!b"), endpoints("payments-eds", "c"),
					endpoints("unasked", "a")},
				resourcev3.ListenerType: {rdsListener(t, "outbound", "outbound-routes", false), rdsListener(t, "default", "default-routes", true)},
				resourcev3.RouteType: {&routev3.RouteConfiguration{Name: "outbound-routes"}, &routev3.RouteConfiguration{Name: "default-routes"},
					&routev3.RouteConfiguration{Name: "unasked-routes"}},
			})
			c := dial(t, sidecarOptions(cp.addr, p))
			c.WaitT(t, waitTimeout, "first view", func(v View) error {
				return firstError(
					want("clusters", sortedKeys(v.Clusters), []string{"orders", "passthrough", "payments"}),
					want("endpoints", sortedKeys(v.Endpoints), []string{"orders", "payments-eds", "web"}),
					want("listeners", sortedKeys(v.Listeners), []string{"default", "outbound"}),
					want("routes", sortedKeys(v.Routes), []string{"default-routes", "outbound-routes"}),
					want("orders per zone", v.HealthyPerZone("orders"), map[string]int{"a": 2, "b": 1}),
					want("local per zone", v.HealthyPerZone("web"), map[string]int{"a": 1}),
					want("unknown per zone", v.HealthyPerZone("nothing"), map[string]int{}),
				)
			})
			var first []string
			for _, r := range cp.requests()[:2] {
				first = append(first, typeName(r.typeURL)+fmt.Sprint(r.names))
			}
			if err := want("first requests", first, []string{"Cluster[]", "ClusterLoadAssignment[web]"}); err != nil {
				t.Error(err)
			}
			// As Envoy, the listeners are asked for once the clusters are
			// initialized: after the endpoints of the clusters CDS brought
			// arrived (and were ACKed).
			ldsAt, edsAckAt := -1, -1
			for i, r := range cp.requests() {
				if ldsAt < 0 && r.typeURL == resourcev3.ListenerType {
					ldsAt = i
				}
				if edsAckAt < 0 && r.typeURL == resourcev3.EndpointType && r.nonce != "" && (p == Delta || slices.Contains(r.names, "orders")) {
					edsAckAt = i
				}
			}
			if ldsAt < 0 || edsAckAt < 0 || ldsAt < edsAckAt {
				t.Errorf("listeners asked at request %d, the callee endpoints ACKed at %d: %+v", ldsAt, edsAckAt, cp.requests())
			}
			// As Envoy, the endpoints of the clusters CDS brought are asked
			// for before the clusters are ACKed.
			cp.waitRequest(t, "the clusters' ACK", func(r request) bool { return r.typeURL == resourcev3.ClusterType && r.nonce != "" })
			edsAt, ackAt := -1, -1
			for i, r := range cp.requests() {
				if edsAt < 0 && r.typeURL == resourcev3.EndpointType && slices.Contains(r.names, "orders") {
					edsAt = i
				}
				if ackAt < 0 && r.typeURL == resourcev3.ClusterType && r.nonce != "" {
					ackAt = i
				}
			}
			if edsAt < 0 || ackAt < 0 || edsAt > ackAt {
				t.Errorf("EDS for orders asked at request %d, the clusters ACKed at %d: %+v", edsAt, ackAt, cp.requests())
			}

			cp.serve(t, "web-1.ns", "2", map[string][]types.Resource{
				resourcev3.ClusterType:  {edsCluster("orders", "")},
				resourcev3.EndpointType: {endpoints("web", "a", "b"), endpoints("orders", "c"), endpoints("payments-eds", "c")},
				resourcev3.ListenerType: {rdsListener(t, "outbound", "outbound-routes", false)},
				resourcev3.RouteType:    {&routev3.RouteConfiguration{Name: "outbound-routes"}},
			})
			c.WaitT(t, waitTimeout, "after payments and a listener went", func(v View) error {
				return firstError(
					want("clusters", sortedKeys(v.Clusters), []string{"orders"}),
					want("endpoints", sortedKeys(v.Endpoints), []string{"orders", "web"}),
					want("routes", sortedKeys(v.Routes), []string{"outbound-routes"}),
					want("orders per zone", v.HealthyPerZone("orders"), map[string]int{"c": 1}),
					want("local per zone", v.HealthyPerZone("web"), map[string]int{"a": 1, "b": 1}),
				)
			})
			if p == Delta {
				cp.waitRequest(t, "the delta client unsubscribes payments-eds", func(r request) bool {
					return slices.Equal(r.unsubscribe, []string{"payments-eds"})
				})
			}
			if v := c.View(); len(v.NACKs) != 0 {
				t.Errorf("NACKs %+v", v.NACKs)
			}
		})
	}
}

// firstError is the first error of errs, so that a check names one thing.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
