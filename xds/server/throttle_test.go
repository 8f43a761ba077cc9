package server

import (
	"context"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRequestThrottle: at one instant, a stream's requests pass until the
// bucket is empty, then each waits for its tokens; names cost a token per
// thousand; a proxy's start and its acknowledgements never wait.
func TestRequestThrottle(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		names     []int // each request's names, all at t0
		lastDelay time.Duration
	}{
		{"a sidecar's start: four types, then its acknowledgements, 1,001 endpoint names each time", []int{0, 0, 1001, 1, 0, 0, 1001, 1}, 0},
		{"200 requests of one name empty the bucket", repeat(200, 1), 0},
		{"the 201st waits for one token", repeat(201, 1), 10 * time.Millisecond},
		{"a request of 95,000 names takes 96 tokens", []int{95_000}, 0},
		{"a second one passes: 104 tokens are left", []int{95_000, 95_000}, 0},
		{"a third waits for 88 tokens", []int{95_000, 95_000, 95_000}, 880 * time.Millisecond},
		{"a request of more names than the bucket holds costs the whole bucket", []int{1_000_000, 1}, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newRequestThrottle()
			var d time.Duration
			for i, n := range tt.names {
				d = th.delay(t0, n)
				if i < len(tt.names)-1 && tt.lastDelay == 0 && d != 0 {
					t.Fatalf("request %d (%d names) waits %v", i, n, d)
				}
			}
			if d != tt.lastDelay {
				t.Errorf("the last request waits %v, want %v", d, tt.lastDelay)
			}
		})
	}
}

func repeat(n, v int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// fakeSotw hands out the same request forever.
type fakeSotw struct {
	discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer
	req *discoveryv3.DiscoveryRequest
}

func (f fakeSotw) Recv() (*discoveryv3.DiscoveryRequest, error) { return f.req, nil }

// TestStreamIsThrottled: a stream's Recv paces its requests through the
// stream's bucket and counts the one that waited; the clock is stopped,
// so the 201st request of one name is the first to wait.
func TestStreamIsThrottled(t *testing.T) {
	m := newMetrics(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	frozen := time.Now()
	th := newRequestThrottle()
	th.now = func() time.Time { return frozen }
	s := &sotwStream{
		AggregatedDiscoveryService_StreamAggregatedResourcesServer: fakeSotw{req: &discoveryv3.DiscoveryRequest{Node: hostileNode, TypeUrl: resourcev3.ClusterType, ResourceNames: []string{"a"}}},
		streamGuard: &streamGuard{ctx: ctx, l: newSendBudget(100, 100, time.Hour, nil).ledger(""), c: m.connect("sotw"), maxNames: 10, throttle: th},
	}
	for i := range requestBurst + 1 {
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		want := 0.0
		if i == requestBurst {
			want = 1
		}
		if got := testutil.ToFloat64(m.throttled); got != want {
			t.Fatalf("after request %d: %v throttled, want %v", i+1, got, want)
		}
	}
}
