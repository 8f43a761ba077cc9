package server

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	gcplog "github.com/envoyproxy/go-control-plane/pkg/log"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/stream/v3"

	"github.com/inzone-io/inzone/mutate"
)

func clusters(names ...string) map[string]types.Resource {
	out := map[string]types.Resource{}
	for _, n := range names {
		out[n] = &clusterv3.Cluster{Name: n}
	}
	return out
}

// TestScopedCacheMovesWatches: a delta watch of an identity waits in the
// shared cache; when the identity's view is routed the watch moves and is
// answered with what the view lacks and what it must drop; when the view
// goes, the next watch moves back and gets the full view again. Another
// identity's watch never moves.
func TestScopedCacheMovesWatches(t *testing.T) {
	shared := cachev3.NewLinearCache(resourcev3.ClusterType)
	if err := shared.UpdateResources(clusters("a", "b", "c"), nil); err != nil {
		t.Fatal(err)
	}
	sc := newScopedCache(resourcev3.ClusterType, shared, gcplog.NewDefaultLogger())
	node := &corev3.Node{Id: "p-1.ns", Cluster: "web.service.prod.ddsd"}
	other := &corev3.Node{Id: "q-1.ns", Cluster: "batch.service.prod.ddsd"}

	// Both streams hold the full view, acknowledged: their watches wait.
	open := func(n *corev3.Node) (chan cachev3.DeltaResponse, func(), *stream.Subscription) {
		sub := stream.NewDeltaSubscription(nil, nil, nil, true)
		sub.SetReturnedResources(versionsOf(t, shared))
		ch := make(chan cachev3.DeltaResponse, 2)
		cancel, err := sc.CreateDeltaWatch(&cachev3.DeltaRequest{Node: n, TypeUrl: resourcev3.ClusterType, ResponseNonce: "1"}, &sub, ch)
		if err != nil {
			t.Fatal(err)
		}
		return ch, cancel, &sub
	}
	ch, cancel, sub := open(node)
	otherCh, otherCancel, _ := open(other)
	defer otherCancel()
	if len(ch) != 0 || len(otherCh) != 0 {
		t.Fatal("a stream that holds the view was answered")
	}

	// The view is filled, not routed: nothing moves.
	if err := sc.view(node.Cluster).UpdateResources(clusters("a"), nil); err != nil {
		t.Fatal(err)
	}
	if len(ch) != 0 {
		t.Fatal("answered from a view not routed yet")
	}
	if err := sc.routeIn(map[string]bool{node.Cluster: true}); err != nil {
		t.Fatal(err)
	}
	resp := recvDelta(t, ch)
	if got := resp.GetRemovedResources(); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"b", "c"}) {
		t.Errorf("moving to the view removed %v, want [b c]", got)
	}
	if len(otherCh) != 0 {
		t.Error("another identity's watch moved")
	}
	sub.SetReturnedResources(versionsOf(t, sc.views[node.Cluster].cache))
	cancel()

	// Acknowledged; the next watch is in the view. The view goes: the
	// watch moves back and gets what the full view has more.
	ch, cancel, _ = func() (chan cachev3.DeltaResponse, func(), *stream.Subscription) {
		c := make(chan cachev3.DeltaResponse, 2)
		cl, err := sc.CreateDeltaWatch(&cachev3.DeltaRequest{Node: node, TypeUrl: resourcev3.ClusterType, ResponseNonce: "2"}, sub, c)
		if err != nil {
			t.Fatal(err)
		}
		return c, cl, sub
	}()
	defer cancel()
	if len(ch) != 0 {
		t.Fatal("answered although the stream holds its view")
	}
	if err := sc.routeOut(map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	resp = recvDelta(t, ch)
	var names []string
	for _, r := range resp.GetResources() {
		names = append(names, r.GetName())
	}
	if slices.Sort(names); !slices.Equal(names, []string{"b", "c"}) {
		t.Errorf("moving back sent %v, want [b c]", names)
	}
	if sc.numViews() != 0 {
		t.Errorf("%d views left, want 0", sc.numViews())
	}
	if n := len(sc.watches[node.Cluster]); n != 1 {
		t.Errorf("%d watches recorded for the identity, want the one open", n)
	}
	cancel()
	if _, ok := sc.watches[node.Cluster]; ok {
		t.Error("a cancelled watch is still recorded")
	}
}

func versionsOf(t *testing.T, c *cachev3.LinearCache) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, r := range c.GetResources() {
		v, err := resourceVersion(r)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = v
	}
	return maps.Clone(out)
}

func recvDelta(t *testing.T, ch chan cachev3.DeltaResponse) *discoveryv3.DeltaDiscoveryResponse {
	t.Helper()
	select {
	case r := <-ch:
		resp, err := r.GetDeltaDiscoveryResponse()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	default:
		t.Fatal("no response")
		return nil
	}
}

// TestViewsFollowBuilds: a build gives an identity that declares its
// callees a view of clusters and routes holding only those; a Service it
// does not call changes the shared caches and leaves the view untouched;
// when it stops declaring the view is dropped. Two servers building the
// same state hold the same versions.
func TestViewsFollowBuilds(t *testing.T) {
	s := newTestServer(t)
	r := objects()
	r.src.Pods[0].Annotations = map[string]string{mutate.AnnotationCalls: "orders"}
	s.build(context.Background(), []Reader{r})
	id := "a.service.prod.ddsd"
	v := s.caches.scoped[resourcev3.ClusterType].views[id]
	if v == nil || !v.routed {
		t.Fatalf("no routed cluster view for %s", id)
	}
	if got := keys(v.cache.GetResources()); !slices.Equal(got, []string{"inzone-blackhole", "inzone-explicit-proxy", "inzone-inbound", "inzone-passthrough", "orders.service.prod.ddsd:80"}) {
		t.Errorf("view clusters %v", got)
	}
	rv := s.caches.scoped[resourcev3.RouteType].views[id]
	rc, _ := rv.cache.GetResources()["inzone-outbound"].(*routev3.RouteConfiguration)
	if n := len(rc.GetVirtualHosts()); n != 2 {
		t.Errorf("view route table has %d virtual hosts, want orders and passthrough", n)
	}
	if s.caches.scoped[resourcev3.ClusterType].views["b.service.prod.ddsd"] != nil {
		t.Error("an identity that declares nothing has a view")
	}
	other := newTestServer(t)
	other.build(context.Background(), []Reader{r})
	for key := range s.published {
		if typeVersion(s.published[key]) != typeVersion(other.published[key]) {
			t.Errorf("%s: versions differ between two servers", key)
		}
	}

	// A Service a does not call: its view is not written.
	rec := record(s)
	users := r.src.Services[0].DeepCopy()
	users.Name = "users"
	r.src.Services = append(r.src.Services, users)
	before := v.cache.GetResources()
	s.build(context.Background(), []Reader{r})
	if !maps.Equal(before, v.cache.GetResources()) {
		t.Error("a Service the identity does not call changed its view")
	}
	if !slices.Contains(*rec, "update Cluster users.service.prod.ddsd:80") {
		t.Errorf("shared updates %q lack the new cluster", *rec)
	}

	delete(r.src.Pods[0].Annotations, mutate.AnnotationCalls)
	s.build(context.Background(), []Reader{r})
	for _, url := range scopedTypes {
		if n := s.caches.scoped[url].numViews(); n != 0 {
			t.Errorf("%s: %d views left after the identity stopped declaring", url, n)
		}
	}
}

// TestStalledStreamDoesNotStallPublishing: a client that claims an
// identity and stops reading, while that identity's view appears and
// goes many more times than its stream's channel holds, neither blocks
// the flips nor keeps another client from its update; and it is handed
// one answer, not one per flip. Before the fix each move answered into
// the stream's channel under the locks, and the flip after the channel
// filled hung.
func TestStalledStreamDoesNotStallPublishing(t *testing.T) {
	for _, delta := range []bool{false, true} {
		t.Run(map[bool]string{false: "sotw", true: "delta"}[delta], func(t *testing.T) {
			shared := cachev3.NewLinearCache(resourcev3.ClusterType)
			if err := shared.UpdateResources(clusters("a", "b", "c"), nil); err != nil {
				t.Fatal(err)
			}
			sc := newScopedCache(resourcev3.ClusterType, shared, gcplog.NewDefaultLogger())
			full := versionsOf(t, shared)
			const id = "web.service.prod.ddsd"
			stalled := &corev3.Node{Id: "p-1.ns", Cluster: id}

			// The stalled stream holds the full view; its channel is
			// go-control-plane's size and nothing reads it.
			// Cancelled at the end, not deferred: after a stall they
			// would wait for the lock the stalled flip holds.
			var cancels []func()
			var queued func() int
			if delta {
				sub := stream.NewDeltaSubscription(nil, nil, nil, true)
				sub.SetReturnedResources(full)
				ch := make(chan cachev3.DeltaResponse, 2*types.UnknownType)
				cancel, err := sc.CreateDeltaWatch(&cachev3.DeltaRequest{Node: stalled, TypeUrl: resourcev3.ClusterType, ResponseNonce: "1"}, &sub, ch)
				if err != nil {
					t.Fatal(err)
				}
				cancels = append(cancels, cancel)
				queued = func() int { return len(ch) }
			} else {
				sub := stream.NewSotwSubscription(nil, true)
				sub.SetReturnedResources(full)
				ch := make(chan cachev3.Response, types.UnknownType)
				cancel, err := sc.CreateWatch(&cachev3.Request{Node: stalled, TypeUrl: resourcev3.ClusterType, VersionInfo: "1", ResponseNonce: "1"}, &sub, ch)
				if err != nil {
					t.Fatal(err)
				}
				cancels = append(cancels, cancel)
				queued = func() int { return len(ch) }
			}
			// (A state-of-the-world watch is answered at once, as a new
			// stream's is: then it must not be answered again.)
			if delta && queued() != 0 {
				t.Fatal("a stream that holds the view was answered")
			}

			// Another identity's stream, read.
			sub := stream.NewDeltaSubscription(nil, nil, nil, true)
			sub.SetReturnedResources(full)
			otherCh := make(chan cachev3.DeltaResponse, 2*types.UnknownType)
			otherCancel, err := sc.CreateDeltaWatch(&cachev3.DeltaRequest{Node: &corev3.Node{Id: "q-1.ns", Cluster: "batch.service.prod.ddsd"}, TypeUrl: resourcev3.ClusterType, ResponseNonce: "1"}, &sub, otherCh)
			if err != nil {
				t.Fatal(err)
			}
			cancels = append(cancels, otherCancel)

			flips := 3 * int(types.UnknownType)
			published := make(chan error, 1)
			go func() {
				for range flips {
					if err := sc.view(id).UpdateResources(clusters("a"), nil); err != nil {
						published <- err
						return
					}
					if err := sc.routeIn(map[string]bool{id: true}); err != nil {
						published <- err
						return
					}
					if err := sc.routeOut(map[string]bool{}); err != nil {
						published <- err
						return
					}
				}
				published <- sharedStore{sc}.UpdateResources(clusters("d"), nil)
			}()
			bound := time.NewTimer(30 * time.Second)
			defer bound.Stop()
			select {
			case err := <-published:
				if err != nil {
					t.Fatal(err)
				}
			case <-bound.C:
				t.Fatalf("%d view flips of a stream that does not read stalled publishing (%d responses queued)", flips, queued())
			}
			select {
			case r := <-otherCh:
				resp, err := r.GetDeltaDiscoveryResponse()
				if err != nil {
					t.Fatal(err)
				}
				if n := resp.GetResources(); len(n) != 1 || n[0].GetName() != "d" {
					t.Errorf("the other client got %v, want d", n)
				}
			case <-bound.C:
				t.Fatal("the other client's update was not delivered")
			}
			if n := queued(); n != 1 {
				t.Errorf("the stalled stream has %d answers queued, want the one its watch gives", n)
			}
			for _, cancel := range cancels {
				cancel()
			}
		})
	}
}
