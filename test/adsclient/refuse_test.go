package adsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// TestRejectNACKs: a response the caller rejects is NACKed with the
// reason, over either protocol, and changes nothing the client holds.
func TestRejectNACKs(t *testing.T) {
	for _, p := range []Protocol{SotW, Delta} {
		t.Run(string(p), func(t *testing.T) {
			cp := startControlPlane(t)
			cp.serve(t, "web-1.ns", "1", map[string][]types.Resource{
				resourcev3.ClusterType:  {edsCluster("orders", "")},
				resourcev3.EndpointType: {endpoints("web", "a"), endpoints("orders", "a")},
			})
			opts := sidecarOptions(cp.addr, p)
			opts.Wildcard = []string{resourcev3.ClusterType}
			opts.Reject = func(typeURL string, got map[string]proto.Message) error {
				if _, ok := got["orders"]; ok && typeURL == resourcev3.ClusterType {
					return errors.New("orders is not welcome")
				}
				return nil
			}
			c := dial(t, opts)
			nack := cp.waitRequest(t, "a NACK of the clusters", func(r request) bool { return r.errorDetail != "" })
			if nack.typeURL != resourcev3.ClusterType || nack.errorDetail != "orders is not welcome" || nack.nonce == "" {
				t.Errorf("NACK %+v, want the clusters' nonce and the reason", nack)
			}
			v := c.View()
			if len(v.Clusters) != 0 || len(v.NACKs) != 1 || v.NACKs[0].Reason != "orders is not welcome" {
				t.Errorf("after the NACK: clusters %v, NACKs %+v", sortedKeys(v.Clusters), v.NACKs)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if _, err := c.Wait(ctx, nil); err == nil || !strings.Contains(err.Error(), "no Cluster response yet") || !strings.Contains(err.Error(), "orders is not welcome") {
				t.Errorf("Wait after the NACK: %v, want it to name the missing clusters and the NACK", err)
			}
		})
	}
}

// TestWaitNamesWhatIsMissing: a wait that ends names the missing local
// cluster and what the client asked for and holds.
func TestWaitNamesWhatIsMissing(t *testing.T) {
	cp := startControlPlane(t)
	cp.serve(t, "web-1.ns", "1", map[string][]types.Resource{resourcev3.ClusterType: {edsCluster("orders", "")},
		resourcev3.EndpointType: {endpoints("orders", "a")}})
	opts := sidecarOptions(cp.addr, Delta)
	opts.Wildcard = []string{resourcev3.ClusterType}
	opts.LocalCluster = "nowhere"
	c := dial(t, opts)
	// The deadline only ends a wait that cannot succeed: the server has
	// no such cluster.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Wait(ctx, nil)
	for _, want := range []string{`no endpoints for the local cluster "nowhere"`, `ClusterLoadAssignment ["nowhere" "orders"]`, "Cluster *"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Wait: %v, want it to say %q", err, want)
		}
	}
	// With one context for the stream and the wait, the stream's end
	// does not hide what was missing.
	ctx, cancel = context.WithCancel(context.Background())
	shared, err := Dial(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	cancel()
	<-shared.done // the stream ended before the wait looks
	if _, err := shared.Wait(ctx, nil); err == nil || strings.Contains(err.Error(), "ADS stream:") || !strings.Contains(err.Error(), `"nowhere"`) {
		t.Errorf("Wait on the stream's context: %v, want it to say what was missing and asked for, not that the stream ended", err)
	}
	// The check's complaint comes once the view is consistent.
	opts.LocalCluster = "orders"
	c = dial(t, opts)
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Wait(ctx, func(View) error { return errors.New("payments never came") }); err == nil || !strings.Contains(err.Error(), "payments never came") {
		t.Errorf("Wait: %v, want the check's complaint", err)
	}
}

// hostile is an ADS server that answers the first request with one
// scripted response, then records what the client says; or, deaf, sends
// it again and again and reads nothing more.
type hostile struct {
	discoveryv3.UnimplementedAggregatedDiscoveryServiceServer
	resp *discoveryv3.DiscoveryResponse
	got  chan *discoveryv3.DiscoveryRequest
	deaf bool
}

func (h *hostile) StreamAggregatedResources(s discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	if _, err := s.Recv(); err != nil {
		return err
	}
	if err := s.Send(h.resp); err != nil {
		return err
	}
	for h.deaf {
		if err := s.Send(h.resp); err != nil {
			return err
		}
	}
	for {
		r, err := s.Recv()
		if err != nil {
			return err
		}
		select {
		case h.got <- r:
		default:
		}
	}
}

// serveHostile serves h on loopback until the test ends.
func serveHostile(t *testing.T, h *hostile) string {
	t.Helper()
	g := grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, h)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRefusesWhatAServerMustNotSend: garbage, a resource of another type
// or without a name is NACKed; a resource the client never asked for
// ends the wait with its name. Nothing of it is held.
func TestRefusesWhatAServerMustNotSend(t *testing.T) {
	huge := strings.Repeat("$(x)`y`;\n{z: [1]}", 1<<14)
	for _, tc := range []struct {
		name      string
		typeURL   string
		resources []*anypb.Any
		wildcard  bool   // the client subscribes to CDS
		nack      string // the NACK's reason says this
		fails     string // or the wait fails saying this
	}{
		{name: "undecodable bytes", typeURL: resourcev3.EndpointType,
			resources: []*anypb.Any{{TypeUrl: resourcev3.EndpointType, Value: []byte{0xff, 0xff, 0xff}}}, nack: "resource 0"},
		{name: "a cluster in an endpoints response", typeURL: resourcev3.EndpointType,
			resources: []*anypb.Any{mustAny(t, &clusterv3.Cluster{Name: "web"})}, nack: "resource 0 is a " + resourcev3.ClusterType},
		{name: "a type never asked for", typeURL: resourcev3.SecretType, fails: "a " + fmt.Sprintf("%q", resourcev3.SecretType) + " response, a type the client never asked for"},
		{name: "more clusters than the bound", typeURL: resourcev3.ClusterType, wildcard: true,
			resources: []*anypb.Any{mustAny(t, edsCluster("a", "")), mustAny(t, edsCluster("b", "")), mustAny(t, edsCluster("c", ""))},
			fails:     "more than 2 Cluster resources"},
		{name: "endpoints without a name", typeURL: resourcev3.EndpointType,
			resources: []*anypb.Any{mustAny(t, endpoints(""))}, nack: "has no name"},
		{name: "endpoints never asked for, with a hostile name", typeURL: resourcev3.EndpointType,
			resources: []*anypb.Any{mustAny(t, endpoints(huge))}, fails: "which the client never asked for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &hostile{resp: &discoveryv3.DiscoveryResponse{TypeUrl: tc.typeURL, VersionInfo: "1", Nonce: "n1", Resources: tc.resources},
				got: make(chan *discoveryv3.DiscoveryRequest, 1)}
			opts := Options{Addr: serveHostile(t, h), DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())},
				Node: SidecarNode("web-1.ns", "web", "a"), LocalCluster: "web", MaxResources: 2}
			if tc.wildcard {
				opts.Wildcard = []string{resourcev3.ClusterType}
			}
			c := dial(t, opts)
			if tc.fails != "" {
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				_, err := c.Wait(ctx, nil)
				if err == nil || !strings.Contains(err.Error(), tc.fails) || len(err.Error()) > 2000 {
					t.Errorf("Wait: %.300v, want it to say %q in a bounded message", err, tc.fails)
				}
				return
			}
			select {
			case r := <-h.got:
				if r.GetErrorDetail() == nil || !strings.Contains(r.GetErrorDetail().GetMessage(), tc.nack) || r.ResponseNonce != "n1" || r.VersionInfo != "" {
					t.Errorf("after the response: %v, want a NACK of n1 saying %q", r, tc.nack)
				}
			case <-time.After(waitTimeout):
				t.Fatal("no request after the response")
			}
			if v := c.View(); len(v.Endpoints) != 0 || len(v.NACKs) != 1 {
				t.Errorf("holds %v, NACKs %+v", sortedKeys(v.Endpoints), v.NACKs)
			}
		})
	}
}

// TestOptionsNameTheField: Dial refuses options it cannot use, naming
// each wrong field, before connecting.
func TestOptionsNameTheField(t *testing.T) {
	creds := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	node := &corev3.Node{Id: "x"}
	for _, tc := range []struct {
		name string
		opts Options
		want []string
	}{
		{"nothing", Options{}, []string{"Addr is empty", "DialOptions is empty", "Node is nil"}},
		{"an unknown protocol", Options{Addr: "127.0.0.1:1", DialOptions: creds, Node: node, Protocol: "rest"}, []string{`Protocol "rest"`}},
		{"clusters both wildcard and by name", Options{Addr: "127.0.0.1:1", DialOptions: creds, Node: node, Wildcard: []string{resourcev3.ClusterType},
			Names: map[string][]string{resourcev3.ClusterType: {"c"}}}, []string{"the type is in Wildcard too"}},
		{"a negative bound", Options{Addr: "127.0.0.1:1", DialOptions: creds, Node: node, MaxResources: -1}, []string{"MaxResources -1"}},
		{"endpoints as a wildcard", Options{Addr: "127.0.0.1:1", DialOptions: creds, Node: node, Wildcard: []string{resourcev3.EndpointType}},
			[]string{"Wildcard[0]"}},
		{"secrets by name", Options{Addr: "127.0.0.1:1", DialOptions: creds, Node: node, Names: map[string][]string{resourcev3.SecretType: {"s"}}},
			[]string{fmt.Sprintf("Names[%q]", resourcev3.SecretType)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Dial(context.Background(), tc.opts)
			if c != nil {
				c.Close()
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Dial: %v, want it to say %q", err, w)
				}
			}
		})
	}
}

// TestADeafServerDoesNotBlockWait: a server that stops reading blocks the
// client's ACKs once gRPC's flow-control windows are full; a wait still
// ends at its deadline, and Close still returns.
func TestADeafServerDoesNotBlockWait(t *testing.T) {
	h := &hostile{resp: &discoveryv3.DiscoveryResponse{TypeUrl: resourcev3.EndpointType, VersionInfo: "1", Nonce: "n",
		Resources: []*anypb.Any{mustAny(t, endpoints("web", "a"))}}, deaf: true}
	addr := serveHostile(t, h)
	// Every ACK repeats the node: 1 MiB of it fills the windows in a few.
	opts := Options{Addr: addr, DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())},
		Node: SidecarNode(strings.Repeat("n", 1<<20), "web", "a"), LocalCluster: "web"}
	c, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := c.Wait(ctx, func(View) error { return errors.New("never") })
		ended <- err
	}()
	select {
	case err := <-ended:
		if err == nil || !strings.Contains(err.Error(), "never") {
			t.Errorf("Wait: %v, want the check's complaint", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Wait did not end at its deadline while the client was blocked sending")
	}
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(waitTimeout):
		t.Fatal("Close did not return")
	}
}
