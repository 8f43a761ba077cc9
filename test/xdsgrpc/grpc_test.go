package xdsgrpc

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	_ "google.golang.org/grpc/xds" // registers the xds:/// resolver and its balancers

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/server"
	"github.com/inzone-io/inzone/xds/translate"
)

// waitTimeout bounds every wait; it is a failure deadline, not a measure.
const waitTimeout = 60 * time.Second

// backend is a real gRPC server with the health service, counting the
// calls it answers.
type backend struct {
	zone  string
	port  int32
	calls atomic.Int64
}

func startBackend(t *testing.T, zone string) *backend {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{zone: zone, port: int32(lis.Addr().(*net.TCPAddr).Port)}
	g := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		b.calls.Add(1)
		return h(ctx, req)
	}))
	healthpb.RegisterHealthServer(g, health.NewServer())
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return b
}

// objects is a Reader whose Source the test changes.
type objects struct {
	mu  sync.Mutex
	src translate.Source
}

func (o *objects) Read() translate.Source {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.src
}

func (o *objects) set(src translate.Source) {
	o.mu.Lock()
	o.src = src
	o.mu.Unlock()
}

// source is Service orders (port 50051, so orders.service.prod.ddsd:50051)
// with one EndpointSlice per backend, each naming its own port: the
// backends all listen on 127.0.0.1. A second Service, payments, is served
// too, so the client's named requests are answered among other resources.
func source(backends []*backend) translate.Source {
	src := translate.Source{Name: "test"}
	for _, name := range []string{"orders", "payments"} {
		src.Services = append(src.Services, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "grpc", Port: 50051}}},
		})
	}
	src.EndpointSlices = append(src.EndpointSlices, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "payments-0", Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "payments"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("grpc"), Port: ptr.To[int32](9)}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.9"}, Zone: ptr.To("z1")}},
	})
	for i, b := range backends {
		src.EndpointSlices = append(src.EndpointSlices, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "orders-" + strconv.Itoa(i), Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "orders"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("grpc"), Port: ptr.To(b.port)}},
			Endpoints: []discoveryv1.Endpoint{{
				Addresses:  []string{"127.0.0.1"},
				Zone:       ptr.To(b.zone),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			}},
		})
	}
	return src
}

// xdsAddr is where the xDS server listens, the same for every run in the
// process: gRPC reads its bootstrap once per process, so a later run
// (-count) must serve where the first did.
var xdsAddr = "127.0.0.1:0"

// startXDS runs inzone-xds's server (plaintext, loopback) over objs and
// writes gRPC's bootstrap naming it.
func startXDS(t *testing.T, objs *objects) *server.Server {
	t.Helper()
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := server.New(ctx, tr, server.Options{Quiet: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond})
	g := grpc.NewServer(grpc.MaxRecvMsgSize(server.MaxRequestBytes), grpc.MaxConcurrentStreams(server.MaxStreamsPerConnection))
	s.Register(g)
	lis, err := net.Listen("tcp", xdsAddr)
	if err != nil {
		t.Fatal(err)
	}
	xdsAddr = lis.Addr().String()
	go g.Serve(lis)
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx, []server.Reader{objs}) }()
	t.Cleanup(func() { cancel(); g.Stop(); <-done })

	// What a proxyless client's bootstrap holds: the ADS server, and a
	// node that says where it runs (gRPC adds its user agent and
	// client features itself).
	boot := map[string]any{
		"xds_servers": []any{map[string]any{
			"server_uri":      lis.Addr().String(),
			"channel_creds":   []any{map[string]any{"type": "insecure"}},
			"server_features": []string{"xds_v3"},
		}},
		"node": map[string]any{
			"id":       "checkout-7d9f.shop",
			"cluster":  "checkout.service.prod.ddsd",
			"locality": map[string]any{"zone": "z1"},
		},
	}
	data, err := json.Marshal(boot)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv(bootstrapEnv), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// callsReach makes n health checks and returns how many each backend got.
func callsReach(ctx context.Context, t *testing.T, client healthpb.HealthClient, backends []*backend, n int) ([]int64, error) {
	t.Helper()
	before := make([]int64, len(backends))
	for i, b := range backends {
		before[i] = b.calls.Load()
	}
	for range n {
		// WaitForReady: a call waits for the xDS resources and a
		// connection (bounded by ctx) instead of failing fast.
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		if err != nil {
			return nil, err
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return nil, fmt.Errorf("health status %v", resp.GetStatus())
		}
	}
	got := make([]int64, len(backends))
	var sum int64
	for i, b := range backends {
		got[i] = b.calls.Load() - before[i]
		sum += got[i]
	}
	if sum != int64(n) {
		return got, fmt.Errorf("%d calls made, %d reached a backend", n, sum)
	}
	return got, nil
}

// TestProxylessGRPC: gRPC's xDS client dials a DDSD name through
// inzone-xds, its calls reach every endpoint (round robin over all zones:
// gRPC has no zone-aware routing), and once an endpoint is removed its
// calls stop reaching it.
func TestProxylessGRPC(t *testing.T) {
	backends := []*backend{startBackend(t, "z1"), startBackend(t, "z2"), startBackend(t, "z3")}
	objs := &objects{src: source(backends)}
	s := startXDS(t, objs)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for _, target := range []string{"xds:///orders.service.prod.ddsd:50051", "xds:///orders.service.prod.ddsd"} {
		t.Run(target, func(t *testing.T) {
			conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			client := healthpb.NewHealthClient(conn)
			// The first call waits for the listener, cluster and
			// endpoints; the localities become ready one by one, so
			// calls reach every backend only after a while.
			total := make([]int64, len(backends))
			for {
				got, err := callsReach(ctx, t, client, backends, 30)
				if err != nil {
					t.Fatalf("RPCs through %s: %v", target, err)
				}
				all := true
				for i, n := range got {
					total[i] += n
					all = all && total[i] > 0
				}
				if all {
					return
				}
				if ctx.Err() != nil {
					t.Fatalf("after %v, calls per backend %v: each must get some", waitTimeout, total)
				}
			}
		})
	}
	if t.Failed() {
		return
	}

	conn, err := grpc.NewClient("xds:///orders.service.prod.ddsd:50051", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	if _, err := callsReach(ctx, t, client, backends, 3); err != nil {
		t.Fatal(err)
	}
	// Remove the z2 endpoint: calls must stop reaching it and, once its
	// balancer settled on the new endpoints, reach both others (while it
	// rebuilds, it may use one locality only).
	objs.set(source([]*backend{backends[0], backends[2]}))
	s.Changed()
	// The removal counts as seen after three batches in a row without z2:
	// while gRPC swaps its balancers one batch may miss z2 by chance and
	// the next still reach it through the old picker.
	without := 0
	for {
		got, err := callsReach(ctx, t, client, backends, 30)
		if err != nil {
			t.Fatalf("RPCs after the removal: %v", err)
		}
		switch {
		case got[1] > 0 && without >= 3:
			t.Fatalf("calls reached the removed endpoint again after %d batches without it: %v", without, got)
		case got[1] > 0:
			without = 0
		default:
			without++
			if without >= 3 && got[0] > 0 && got[2] > 0 {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("after %v, calls per backend %v: the removed one (z2) must get none, the others some", waitTimeout, got)
		}
	}
}
