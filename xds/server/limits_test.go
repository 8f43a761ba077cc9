package server

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/translate"
)

// listen serves s over loopback gRPC, with the ADS port's limits, until
// the test ends; it returns the address.
func listen(t *testing.T, s *Server) string {
	t.Helper()
	g := grpc.NewServer(grpc.MaxRecvMsgSize(MaxRequestBytes), grpc.MaxConcurrentStreams(MaxStreamsPerConnection))
	s.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

// dial opens a connection of its own to addr, as another pod would.
func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// names returns n resource names starting with prefix.
func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d.service.prod.ddsd:80", prefix, i)
	}
	return out
}

// sotwEnd sends each request on a new state-of-the-world stream and
// returns the error the stream ends with.
func sotwEnd(ctx context.Context, conn *grpc.ClientConn, reqs ...*discoveryv3.DiscoveryRequest) error {
	s, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	for _, r := range reqs {
		if err := s.Send(r); err != nil {
			break // the status comes from Recv
		}
	}
	for {
		if _, err := s.Recv(); err != nil {
			return err
		}
	}
}

// deltaEnd is sotwEnd for a delta stream.
func deltaEnd(ctx context.Context, conn *grpc.ClientConn, reqs ...*discoveryv3.DeltaDiscoveryRequest) error {
	s, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		return err
	}
	for _, r := range reqs {
		if err := s.Send(r); err != nil {
			break
		}
	}
	for {
		if _, err := s.Recv(); err != nil {
			return err
		}
	}
}

var hostileNode = &corev3.Node{Id: "x-1.ns", Cluster: "x.service.prod.ddsd"}

func sub(names ...[]string) *discoveryv3.DeltaDiscoveryRequest {
	r := &discoveryv3.DeltaDiscoveryRequest{Node: hostileNode, TypeUrl: resourcev3.EndpointType}
	if len(names) > 0 {
		r.ResourceNamesSubscribe = names[0]
	}
	if len(names) > 1 {
		r.ResourceNamesUnsubscribe = names[1]
	}
	return r
}

// TestHostileClientsAreRefused: each hostile client over real gRPC ends
// with ResourceExhausted and a message naming the limit, while a
// well-behaved sidecar connected before keeps being served: after the
// hostile client is refused, a change reaches it.
func TestHostileClientsAreRefused(t *testing.T) {
	huge := strings.Repeat("x", MaxRequestBytes+1)
	tests := []struct {
		name    string
		opts    Options
		hostile func(t *testing.T, ctx context.Context, addr string) error
		want    []string // in the status message
		limit   string   // counted in inzone_xds_limit_refusals_total; "" for gRPC's own
	}{
		{
			name: "one stream more than MaxStreams, the well-behaved one and two held open counting",
			opts: Options{MaxStreams: 3},
			hostile: func(t *testing.T, ctx context.Context, addr string) error {
				for range 2 {
					c := openClient(t, ctx, dial(t, addr), "sotw", hostileNode)
					c.subscribe(t)
					c.recv(t) // admitted
				}
				return sotwEnd(ctx, dial(t, addr), &discoveryv3.DiscoveryRequest{Node: hostileNode, TypeUrl: resourcev3.ClusterType})
			},
			want:  []string{"at most 3 ADS streams", "--max-streams"},
			limit: limitStreams,
		},
		{
			name: "a state-of-the-world request naming more than MaxNamesPerType",
			opts: Options{MaxNamesPerType: 1000},
			hostile: func(t *testing.T, ctx context.Context, addr string) error {
				return sotwEnd(ctx, dial(t, addr), &discoveryv3.DiscoveryRequest{Node: hostileNode, TypeUrl: resourcev3.EndpointType, ResourceNames: names("n", 1001)})
			},
			want:  []string{"at most 1000 resource names per type", "1001 of " + resourcev3.EndpointType},
			limit: limitNames,
		},
		{
			name: "one delta request subscribing to more than MaxNamesPerType",
			opts: Options{MaxNamesPerType: 1000},
			hostile: func(t *testing.T, ctx context.Context, addr string) error {
				return deltaEnd(ctx, dial(t, addr), sub(names("n", 1001)))
			},
			want:  []string{"at most 1000 resource names per type", "1001 of " + resourcev3.EndpointType},
			limit: limitNames,
		},
		{
			name: "delta subscriptions accumulating past MaxNamesPerType, none over it alone",
			opts: Options{MaxNamesPerType: 1000},
			hostile: func(t *testing.T, ctx context.Context, addr string) error {
				return deltaEnd(ctx, dial(t, addr), sub(names("a", 400)), sub(names("b", 400)), sub(names("c", 400)))
			},
			want:  []string{"at most 1000 resource names per type", "1200 of " + resourcev3.EndpointType},
			limit: limitNames,
		},
		{
			name: "unsubscribing names never subscribed makes no room",
			opts: Options{MaxNamesPerType: 1000},
			hostile: func(t *testing.T, ctx context.Context, addr string) error {
				return deltaEnd(ctx, dial(t, addr), sub(names("a", 600)), sub(nil, names("never", 600)), sub(names("b", 600)))
			},
			want:  []string{"at most 1000 resource names per type", "1200 of " + resourcev3.EndpointType},
			limit: limitNames,
		},
		{
			name: "delta subscriptions of long names accumulating past MaxRequestBytes of one type, none over it alone",
			hostile: func(t *testing.T, ctx context.Context, addr string) error {
				var reqs []*discoveryv3.DeltaDiscoveryRequest
				for i := range 5 {
					long := names(fmt.Sprint(i, strings.Repeat("x", 1000)), 1000)
					reqs = append(reqs, sub(long))
				}
				return deltaEnd(ctx, dial(t, addr), reqs...)
			},
			want:  []string{fmt.Sprintf("at most %d bytes of resource names per type", MaxRequestBytes), resourcev3.EndpointType},
			limit: limitNameBytes,
		},
		{
			name: "a state-of-the-world request naming more than MaxNamesOtherType of a type not served",
			hostile: func(t *testing.T, ctx context.Context, addr string) error {
				return sotwEnd(ctx, dial(t, addr), &discoveryv3.DiscoveryRequest{Node: hostileNode, TypeUrl: resourcev3.SecretType, ResourceNames: names("s", MaxNamesOtherType+1)})
			},
			want:  []string{fmt.Sprintf("at most %d resource names per type; %d of %s", MaxNamesOtherType, MaxNamesOtherType+1, resourcev3.SecretType)},
			limit: limitNames,
		},
		{
			name: "delta subscriptions of a type not served accumulating past MaxNamesOtherType",
			hostile: func(t *testing.T, ctx context.Context, addr string) error {
				r := func(prefix string) *discoveryv3.DeltaDiscoveryRequest {
					return &discoveryv3.DeltaDiscoveryRequest{Node: hostileNode, TypeUrl: resourcev3.SecretType, ResourceNamesSubscribe: names(prefix, 600)}
				}
				return deltaEnd(ctx, dial(t, addr), r("a"), r("b"))
			},
			want:  []string{fmt.Sprintf("at most %d resource names per type; 1200 of %s", MaxNamesOtherType, resourcev3.SecretType)},
			limit: limitNames,
		},
		{
			name: "a state-of-the-world stream asking for one type more than MaxTypesPerStream",
			hostile: func(t *testing.T, ctx context.Context, addr string) error {
				var reqs []*discoveryv3.DiscoveryRequest
				for i := range MaxTypesPerStream + 1 {
					reqs = append(reqs, &discoveryv3.DiscoveryRequest{Node: hostileNode, TypeUrl: fmt.Sprintf("type.googleapis.com/x.T%d", i)})
				}
				return sotwEnd(ctx, dial(t, addr), reqs...)
			},
			want:  []string{fmt.Sprintf("at most %d resource types", MaxTypesPerStream), fmt.Sprintf("x.T%d is one more", MaxTypesPerStream)},
			limit: limitTypes,
		},
		{
			name: "a delta request with a type URL over MaxTypeURLBytes",
			hostile: func(t *testing.T, ctx context.Context, addr string) error {
				return deltaEnd(ctx, dial(t, addr), &discoveryv3.DeltaDiscoveryRequest{Node: hostileNode, TypeUrl: "type.googleapis.com/" + strings.Repeat("x", MaxTypeURLBytes)})
			},
			want:  []string{fmt.Sprintf("a type URL has at most %d bytes", MaxTypeURLBytes)},
			limit: limitTypes,
		},
		{
			name: "a state-of-the-world request over MaxRequestBytes",
			hostile: func(t *testing.T, ctx context.Context, addr string) error {
				return sotwEnd(ctx, dial(t, addr), &discoveryv3.DiscoveryRequest{Node: hostileNode, TypeUrl: resourcev3.EndpointType, ResourceNames: []string{huge}})
			},
			want: []string{fmt.Sprint(MaxRequestBytes)},
		},
		{
			name: "a delta request over MaxRequestBytes, in many small names",
			hostile: func(t *testing.T, ctx context.Context, addr string) error {
				return deltaEnd(ctx, dial(t, addr), sub(names("n", MaxRequestBytes/20)))
			},
			want: []string{fmt.Sprint(MaxRequestBytes)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := translate.New(mutate.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			s := New(context.Background(), tr, tt.opts)
			r := objects()
			s.build(context.Background(), []Reader{r})
			addr := listen(t, s)
			// A failure deadline: a limit that does not hold leaves the
			// hostile stream open.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			good := openClient(t, ctx, dial(t, addr), "sotw", &corev3.Node{Id: "a-1.ns", Cluster: "a.service.prod.ddsd"})
			good.subscribe(t)
			good.ack(t, good.recv(t))

			err = tt.hostile(t, ctx, addr)
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("the hostile stream ended with %v, want ResourceExhausted", err)
			}
			for _, w := range tt.want {
				if msg := status.Convert(err).Message(); !strings.Contains(msg, w) {
					t.Errorf("status message %q does not name %q", msg, w)
				}
			}
			if tt.limit != "" {
				if n := testutil.ToFloat64(s.metrics.refusals.WithLabelValues(tt.limit)); n != 1 {
					t.Errorf("inzone_xds_limit_refusals_total{limit=%q} %v, want 1", tt.limit, n)
				}
			}

			r.src.Services = append(r.src.Services, r.src.Services[0].DeepCopy())
			r.src.Services[1].Name = "users"
			s.build(context.Background(), []Reader{r})
			resp, err := good.sotw.Recv()
			if err != nil {
				t.Fatalf("the well-behaved stream: %v", err)
			}
			if !hasResource(resp.Resources, "users.service.prod.ddsd:80") {
				t.Errorf("the well-behaved stream was not sent the new cluster: %d resources", len(resp.Resources))
			}
		})
	}
}

func hasResource(rs []*anypb.Any, name string) bool {
	for _, r := range rs {
		if strings.Contains(string(r.GetValue()), name) {
			return true
		}
	}
	return false
}

// TestSubscriptionsWithinTheCapAreServed: a delta stream that subscribes
// and unsubscribes many more names over its life than the cap, never
// holding more than it, is still served.
func TestSubscriptionsWithinTheCapAreServed(t *testing.T) {
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := New(context.Background(), tr, Options{MaxNamesPerType: 1000})
	s.build(context.Background(), []Reader{objects()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(dial(t, listen(t, s))).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		n := names(fmt.Sprint(i), 900)
		for _, r := range []*discoveryv3.DeltaDiscoveryRequest{sub(n), sub(nil, n)} {
			if err := stream.Send(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := stream.Send(sub([]string{"orders.service.prod.ddsd:80"})); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("after 4,500 names subscribed and unsubscribed: %v", err)
	}
	if len(resp.Resources) != 1 || resp.Resources[0].Name != "orders.service.prod.ddsd:80" {
		t.Errorf("got %d resources, want orders.service.prod.ddsd:80", len(resp.Resources))
	}
}

// TestStreamSlotsComeBack: a stream refused at the cap is admitted once
// another ends.
func TestStreamSlotsComeBack(t *testing.T) {
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := New(context.Background(), tr, Options{MaxStreams: 1})
	s.build(context.Background(), []Reader{objects()})
	addr := listen(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, cancelFirst := context.WithCancel(ctx)
	c := openClient(t, first, dial(t, addr), "delta", hostileNode)
	c.subscribe(t)
	c.recv(t)
	req := &discoveryv3.DiscoveryRequest{Node: hostileNode, TypeUrl: resourcev3.ClusterType}
	if err := sotwEnd(ctx, dial(t, addr), req); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a second stream: %v, want ResourceExhausted", err)
	}
	cancelFirst()
	conn := dial(t, addr)
	eventually(t, "a stream is admitted once the first ended", func() bool {
		sctx, scancel := context.WithCancel(ctx)
		defer scancel()
		st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(sctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Send(req); err != nil {
			return false
		}
		resp, err := st.Recv()
		if status.Code(err) == codes.ResourceExhausted {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.Resources) > 0
	})
}

// TestLimitEndsAStreamWaitingForBudget: a stream whose response waits for
// send budget, held by a client that does not acknowledge, still ends at
// once with ResourceExhausted when its next request breaks a limit.
func TestLimitEndsAStreamWaitingForBudget(t *testing.T) {
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := New(context.Background(), tr, Options{SendBudget: 1, AckTimeout: time.Hour, MaxNamesPerType: 10})
	s.build(context.Background(), []Reader{objects()})
	addr := listen(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a failure deadline
	defer cancel()
	holder := openClient(t, ctx, dial(t, addr), "sotw", hostileNode)
	holder.subscribe(t)
	holder.recv(t) // never acknowledged: it holds the whole budget

	waiter := openClient(t, ctx, dial(t, addr), "delta", hostileNode)
	waiter.subscribe(t)
	eventually(t, "the second stream waits for budget", func() bool {
		return testutil.ToFloat64(s.metrics.budgetWait) == 1
	})
	if err := waiter.delta.Send(sub(names("n", 11))); err != nil {
		t.Fatal(err)
	}
	_, err = waiter.delta.Recv()
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("the waiting stream ended with %v, want ResourceExhausted", err)
	}
	eventually(t, "nothing waits once the stream ended", func() bool {
		return testutil.ToFloat64(s.metrics.budgetWait) == 0
	})
}

// remembered reports whether s keeps an entry for proxy p from addr,
// expired or not.
func remembered(s *suspects, addr string, p proxyID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byAddr[addr][p]
	return ok
}

// TestUnresponsiveAddressOverGRPC: over real gRPC, the send budget
// remembers the proxy whose response timed out: its address (here
// 127.0.0.2) with the node id of its first request, not the address
// alone, nor another address (TestSuspectsShareAnAddress has what a new
// stream then starts as).
func TestUnresponsiveAddressOverGRPC(t *testing.T) {
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := New(context.Background(), tr, Options{AckTimeout: time.Millisecond})
	s.build(context.Background(), []Reader{objects()})
	addr := listen(t, s)
	from := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) { return from.DialContext(ctx, "tcp", a) }))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := openClient(t, ctx, conn, "sotw", hostileNode)
	c.subscribe(t)
	c.recv(t) // never acknowledged
	b := s.xds.(*budgetedADS).budget
	// The entries are read as kept, not as live: with a 1 ms ACK timeout
	// they stop counting 6 ms after being made.
	silent := proxyOf(hostileNode.GetId())
	eventually(t, "the unacknowledged response times out", func() bool { return remembered(b.suspects, "127.0.0.2", silent) })
	b.suspects.mu.Lock()
	defer b.suspects.mu.Unlock()
	if n := len(b.suspects.byAddr["127.0.0.2"]); n != 1 {
		t.Errorf("127.0.0.2 has %d proxies remembered, want 1 (the node id of the silent client)", n)
	}
	if _, ok := b.suspects.byAddr["127.0.0.1"]; ok {
		t.Error("an address that sent nothing is remembered")
	}
}
