package server

import (
	"context"
	"testing"
	"time"
	"unsafe"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/translate"
)

// eventually polls cond until it holds; the minute is a failure deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSendBudgetOverGRPC: with a budget smaller than one response, a
// second stream's first response (state-of-the-world, then delta) waits
// over real gRPC until the first stream's client acknowledges its own,
// and what a stream holds is released when it ends.
func TestSendBudgetOverGRPC(t *testing.T) {
	for _, protocol := range []string{"sotw", "delta"} {
		t.Run(protocol, func(t *testing.T) {
			tr, err := translate.New(mutate.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			s := New(context.Background(), tr, Options{Registry: reg, SendBudget: 1, AckTimeout: time.Hour})
			s.build(context.Background(), []Reader{objects()})
			conn := serve(t, s)
			node := &corev3.Node{Id: "a-1.ns", Cluster: "a.service.prod.ddsd"}

			ctxA, cancelA := context.WithCancel(context.Background())
			defer cancelA()
			a := openClient(t, ctxA, conn, protocol, node)
			a.subscribe(t)
			nonceA := a.recv(t)
			if got := testutil.ToFloat64(s.metrics.budgetHeld); got != 1 {
				t.Fatalf("%v bytes held after the first response, want the whole budget (1)", got)
			}

			ctxB, cancelB := context.WithCancel(context.Background())
			defer cancelB()
			b := openClient(t, ctxB, conn, protocol, node)
			b.subscribe(t)
			got := make(chan string, 1)
			go func() { got <- b.recv(t) }()
			eventually(t, "the second stream waits for budget", func() bool {
				return testutil.ToFloat64(s.metrics.budgetWait) == 1
			})
			select {
			case <-got:
				t.Fatal("the second stream got its response while the first held the budget")
			default:
			}
			a.ack(t, nonceA)
			select {
			case <-got:
			case <-time.After(time.Minute):
				t.Fatal("the second stream never got its response after the first was acknowledged")
			}
			if w := testutil.ToFloat64(s.metrics.budgetWait); w != 0 {
				t.Errorf("%v streams waiting, want 0", w)
			}
			// b never acknowledges; its stream's end releases what it holds.
			cancelB()
			eventually(t, "the budget is released when the stream ends", func() bool {
				return testutil.ToFloat64(s.metrics.budgetHeld) == 0
			})
		})
	}
}

// adsClient is one ADS stream of either protocol, asking for clusters.
type adsClient struct {
	node    *corev3.Node
	version string // of the last state-of-the-world response, which its ACK repeats
	sotw    discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	delta   discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesClient
}

func openClient(t *testing.T, ctx context.Context, conn *grpc.ClientConn, protocol string, node *corev3.Node) *adsClient {
	t.Helper()
	c := &adsClient{node: node}
	ads := discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
	var err error
	if protocol == "delta" {
		c.delta, err = ads.DeltaAggregatedResources(ctx)
	} else {
		c.sotw, err = ads.StreamAggregatedResources(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *adsClient) subscribe(t *testing.T) { c.ack(t, "") }

// ack sends a clusters request carrying nonce (none: the first request).
func (c *adsClient) ack(t *testing.T, nonce string) {
	t.Helper()
	var err error
	if c.delta != nil {
		err = c.delta.Send(&discoveryv3.DeltaDiscoveryRequest{Node: c.node, TypeUrl: resourcev3.ClusterType, ResponseNonce: nonce})
	} else {
		err = c.sotw.Send(&discoveryv3.DiscoveryRequest{Node: c.node, TypeUrl: resourcev3.ClusterType, ResponseNonce: nonce, VersionInfo: c.version})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// recv returns the nonce of the next response; it must hold clusters.
func (c *adsClient) recv(t *testing.T) string {
	if c.delta != nil {
		r, err := c.delta.Recv()
		if err != nil || len(r.Resources) == 0 {
			t.Errorf("delta response: %v, %d resources", err, len(r.GetResources()))
		}
		return r.GetNonce()
	}
	r, err := c.sotw.Recv()
	if err != nil || len(r.Resources) == 0 {
		t.Errorf("response: %v, %d resources", err, len(r.GetResources()))
	}
	c.version = r.GetVersionInfo()
	return r.GetNonce()
}

// TestInternSharesNames: the same name received on two streams is one
// string after intern, whatever buffer each request was decoded from.
func TestInternSharesNames(t *testing.T) {
	a := []string{string([]byte("orders.service.prod.ddsd:80")), "x"}
	b := []string{string([]byte("orders.service.prod.ddsd:80"))}
	if unsafe.StringData(a[0]) == unsafe.StringData(b[0]) {
		t.Fatal("the test's two names already share their bytes")
	}
	intern(a)
	intern(b)
	if unsafe.StringData(a[0]) != unsafe.StringData(b[0]) || a[0] != "orders.service.prod.ddsd:80" || a[1] != "x" {
		t.Errorf("after intern: %q and %q do not share one copy", a[0], b[0])
	}
}
