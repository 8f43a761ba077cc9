package xds

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// view is what a client holds: resources by type URL and name.
type view map[string]map[string]proto.Message

func (v view) clusters() map[string]*clusterv3.Cluster {
	out := map[string]*clusterv3.Cluster{}
	for n, m := range v[resourcev3.ClusterType] {
		out[n] = m.(*clusterv3.Cluster)
	}
	return out
}

func (v view) endpoints(name string) *endpointv3.ClusterLoadAssignment {
	m, ok := v[resourcev3.EndpointType][name]
	if !ok {
		return nil
	}
	return m.(*endpointv3.ClusterLoadAssignment)
}

// adsClient subscribes as an injected Envoy does: CDS and LDS wildcard, EDS
// for its local cluster (the bootstrap's static cluster) plus every EDS
// cluster CDS names, RDS for what LDS names. It ACKs every response.
type adsClient struct {
	node    *corev3.Node
	local   string
	delta   bool
	send    func(typeURL string, names []string, prev []string, version, nonce string) error
	mu      sync.Mutex
	state   view
	names   map[string][]string // subscribed names per type (EDS, RDS)
	updates chan struct{}
	err     error
}

// dial connects a client; protocol is "sotw" or "delta".
func dial(t *testing.T, addr, protocol, nodeID, localCluster, zone string) *adsClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); conn.Close() })
	cl := &adsClient{
		node:    &corev3.Node{Id: nodeID, Cluster: localCluster, Locality: &corev3.Locality{Zone: zone}},
		local:   localCluster,
		delta:   protocol == "delta",
		state:   view{},
		names:   map[string][]string{},
		updates: make(chan struct{}, 1),
	}
	ads := discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
	if cl.delta {
		stream, err := ads.DeltaAggregatedResources(c)
		if err != nil {
			t.Fatal(err)
		}
		cl.send = func(typeURL string, names, prev []string, _, nonce string) error {
			req := &discoveryv3.DeltaDiscoveryRequest{Node: cl.node, TypeUrl: typeURL, ResponseNonce: nonce}
			for _, n := range names {
				if !slices.Contains(prev, n) {
					req.ResourceNamesSubscribe = append(req.ResourceNamesSubscribe, n)
				}
			}
			for _, n := range prev {
				if !slices.Contains(names, n) {
					req.ResourceNamesUnsubscribe = append(req.ResourceNamesUnsubscribe, n)
				}
			}
			return stream.Send(req)
		}
		go cl.recvDelta(stream)
	} else {
		stream, err := ads.StreamAggregatedResources(c)
		if err != nil {
			t.Fatal(err)
		}
		cl.send = func(typeURL string, names, _ []string, version, nonce string) error {
			return stream.Send(&discoveryv3.DiscoveryRequest{Node: cl.node, TypeUrl: typeURL, ResourceNames: names, VersionInfo: version, ResponseNonce: nonce})
		}
		go cl.recvSotW(stream)
	}
	// Envoy's start: CDS and LDS (wildcard), and the static local
	// cluster's EDS.
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, typ := range []string{resourcev3.ClusterType, resourcev3.ListenerType} {
		if err := cl.send(typ, nil, nil, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	cl.names[resourcev3.EndpointType] = []string{localCluster}
	if err := cl.send(resourcev3.EndpointType, []string{localCluster}, nil, "", ""); err != nil {
		t.Fatal(err)
	}
	return cl
}

func decode(anys []*anypb.Any) (map[string]proto.Message, error) {
	out := map[string]proto.Message{}
	for _, a := range anys {
		m, err := a.UnmarshalNew()
		if err != nil {
			return nil, err
		}
		out[resourceName(m)] = m
	}
	return out, nil
}

func resourceName(m proto.Message) string {
	if c, ok := m.(*endpointv3.ClusterLoadAssignment); ok {
		return c.ClusterName
	}
	return m.(interface{ GetName() string }).GetName()
}

// versions and nonces of the last response per type, for SotW requests.
type sotwAck struct{ version, nonce string }

func (c *adsClient) recvSotW(stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient) {
	acks := map[string]sotwAck{}
	for {
		resp, err := stream.Recv()
		if err != nil {
			c.fail(err)
			return
		}
		got, err := decode(resp.Resources)
		if err != nil {
			c.fail(err)
			return
		}
		c.mu.Lock()
		typ := resp.TypeUrl
		acks[typ] = sotwAck{resp.VersionInfo, resp.Nonce}
		if typ == resourcev3.EndpointType || typ == resourcev3.RouteType {
			if c.state[typ] == nil {
				c.state[typ] = map[string]proto.Message{}
			}
			c.keepSubscribed(typ, got)
		} else {
			c.state[typ] = got
		}
		err = c.send(typ, c.names[typ], nil, resp.VersionInfo, resp.Nonce)
		if err == nil {
			err = c.follow(typ, func(t string, names, _ []string) error {
				return c.send(t, names, nil, acks[t].version, acks[t].nonce)
			})
		}
		c.mu.Unlock()
		c.notify(err)
	}
}

func (c *adsClient) recvDelta(stream discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesClient) {
	for {
		resp, err := stream.Recv()
		if err != nil {
			c.fail(err)
			return
		}
		anys := make([]*anypb.Any, 0, len(resp.Resources))
		for _, r := range resp.Resources {
			anys = append(anys, r.Resource)
		}
		got, err := decode(anys)
		if err != nil {
			c.fail(err)
			return
		}
		c.mu.Lock()
		typ := resp.TypeUrl
		if c.state[typ] == nil {
			c.state[typ] = map[string]proto.Message{}
		}
		if typ == resourcev3.EndpointType || typ == resourcev3.RouteType {
			c.keepSubscribed(typ, got)
		} else {
			maps.Copy(c.state[typ], got)
		}
		for _, n := range resp.RemovedResources {
			delete(c.state[typ], n)
		}
		err = c.send(typ, nil, nil, "", resp.Nonce) // ACK
		if err == nil {
			err = c.follow(typ, func(t string, names, prev []string) error { return c.send(t, names, prev, "", "") })
		}
		c.mu.Unlock()
		c.notify(err)
	}
}

// keepSubscribed stores the resources of a response that the client
// still asks for, as Envoy does: a response to a request made before the
// client unsubscribed (CDS dropped a cluster while its EDS was in flight)
// can still name what it no longer wants. c.mu is held.
func (c *adsClient) keepSubscribed(typ string, got map[string]proto.Message) {
	for n, m := range got {
		if slices.Contains(c.names[typ], n) {
			c.state[typ][n] = m
		}
	}
}

// follow re-subscribes EDS after CDS and RDS after LDS, as Envoy does, and
// forgets what it no longer asks for.
func (c *adsClient) follow(typ string, resubscribe func(typ string, names, prev []string) error) error {
	var dep string
	var want []string
	switch typ {
	case resourcev3.ClusterType:
		dep, want = resourcev3.EndpointType, []string{c.local}
		for name, m := range c.state[typ] {
			if cl := m.(*clusterv3.Cluster); cl.GetType() == clusterv3.Cluster_EDS {
				want = append(want, name)
			}
		}
	case resourcev3.ListenerType:
		dep, want = resourcev3.RouteType, nil
		if len(c.state[typ]) > 0 {
			want = []string{"inzone-outbound"}
		}
	default:
		return nil
	}
	slices.Sort(want)
	prev := c.names[dep]
	if slices.Equal(prev, want) {
		return nil
	}
	c.names[dep] = want
	for n := range c.state[dep] {
		if !slices.Contains(want, n) {
			delete(c.state[dep], n)
		}
	}
	return resubscribe(dep, want, prev)
}

func (c *adsClient) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.notify(nil)
}

func (c *adsClient) notify(err error) {
	if err != nil {
		c.fail(err)
		return
	}
	select {
	case c.updates <- struct{}{}:
	default:
	}
}

// snapshot copies the client's view.
func (c *adsClient) snapshot() view {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := view{}
	for typ, m := range c.state {
		v[typ] = maps.Clone(m)
	}
	return v
}

// waitFor waits until check passes on the client's view and the view is
// consistent (every EDS cluster's endpoints are there); it fails the test
// with check's last complaint at the deadline.
func (c *adsClient) waitFor(t *testing.T, what string, check func(view) error) view {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		v := c.snapshot()
		err := consistent(v, c.local)
		if err == nil {
			err = check(v)
		}
		if err == nil {
			return v
		}
		c.mu.Lock()
		streamErr := c.err
		c.mu.Unlock()
		if streamErr != nil {
			t.Fatalf("%s client: stream failed: %v", map[bool]string{true: "delta", false: "sotw"}[c.delta], streamErr)
		}
		select {
		case <-c.updates:
		case <-deadline:
			c.mu.Lock()
			subscribed := fmt.Sprint(c.names)
			c.mu.Unlock()
			t.Fatalf("%s client: %s: %v (subscribed %s; holds endpoints %v)", map[bool]string{true: "delta", false: "sotw"}[c.delta], what, err, subscribed, slices.Sorted(maps.Keys(v[resourcev3.EndpointType])))
		}
	}
}

// consistent: every EDS cluster in CDS has its endpoints, the local cluster
// has its endpoints, and no endpoints are held for a cluster CDS dropped.
func consistent(v view, local string) error {
	for name, cl := range v.clusters() {
		if cl.GetType() == clusterv3.Cluster_EDS && v.endpoints(name) == nil {
			return fmt.Errorf("cluster %s has no endpoints yet", name)
		}
	}
	if v.endpoints(local) == nil {
		return fmt.Errorf("no endpoints for the local cluster %s", local)
	}
	for name := range v[resourcev3.EndpointType] {
		if _, ok := v.clusters()[name]; !ok && name != local {
			return fmt.Errorf("stale endpoints %s: no such cluster", name)
		}
	}
	return nil
}

// zoneCounts counts a cluster's HEALTHY endpoints per zone.
func zoneCounts(cla *endpointv3.ClusterLoadAssignment) map[string]int {
	out := map[string]int{}
	if cla == nil {
		return out
	}
	for _, l := range cla.Endpoints {
		for _, e := range l.LbEndpoints {
			if e.HealthStatus == corev3.HealthStatus_HEALTHY {
				out[l.GetLocality().GetZone()]++
			}
		}
	}
	return out
}
