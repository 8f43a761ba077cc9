package server

import (
	"context"
	"unique"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
)

// budgetedADS is the ADS service inzone-xds registers: go-control-plane's
// server, each stream admitted under the stream cap, counted in the
// connected-streams gauge, and wrapped so that its responses draw on the
// shared sendBudget and its requests, paced (throttle.go), stay within the
// limits (limits.go). The protocol stays go-control-plane's: the wrappers
// only watch requests and nonces go by.
type budgetedADS struct {
	inner    discoveryv3.AggregatedDiscoveryServiceServer
	budget   *sendBudget
	slots    *streamSlots
	maxNames int
	metrics  *metrics
}

func (a *budgetedADS) StreamAggregatedResources(s discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	g, done, err := a.guard(s.Context(), "sotw")
	if err != nil {
		return err
	}
	defer done()
	return a.metrics.refused(g.end.or(a.inner.StreamAggregatedResources(&sotwStream{s, g})))
}

func (a *budgetedADS) DeltaAggregatedResources(s discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	g, done, err := a.guard(s.Context(), "delta")
	if err != nil {
		return err
	}
	defer done()
	return a.metrics.refused(g.end.or(a.inner.DeltaAggregatedResources(&deltaStream{s, g})))
}

// guard admits a stream under the stream cap and opens what watches it:
// its ledger in the send budget, its place in the connected-streams gauge,
// its request pacing and the context a limit cancels. done releases them.
func (a *budgetedADS) guard(ctx context.Context, protocol string) (g *streamGuard, done func(), err error) {
	if err := a.slots.take(); err != nil {
		return nil, nil, a.metrics.refused(err)
	}
	l := a.budget.ledger(peerOf(ctx))
	c := a.metrics.connect(protocol)
	ctx, cancel := context.WithCancel(ctx)
	g = &streamGuard{ctx: ctx, l: l, c: c, maxNames: a.maxNames, throttle: newRequestThrottle(), end: streamEnd{cancel: cancel}}
	return g, func() {
		cancel()
		c.close()
		l.close()
		a.slots.give()
	}, nil
}

// streamGuard is what both kinds of stream wrapper do around
// go-control-plane's handling.
type streamGuard struct {
	ctx      context.Context // the stream's, ended early when a limit ends the stream
	l        *ledger
	c        *connection
	maxNames int
	types    typesSeen
	throttle requestThrottle
	end      streamEnd
}

// send sends a response once the budget has room for it; a response that
// was not sent holds nothing.
func (g *streamGuard) send(typeURL, nonce string, size int, send func() error) error {
	if err := g.l.acquire(g.ctx, typeURL, nonce, size); err != nil {
		return err
	}
	err := send()
	if err != nil {
		g.l.ack(typeURL, nonce)
	}
	return err
}

// admit lets a request through to go-control-plane, unless it asks for
// one type more than a stream may or names more resources (names, the
// most of any of its lists) than a stream may subscribe to: then the
// stream ends with ResourceExhausted, before go-control-plane records any
// of them. It first waits for the stream's pace (paced: the names that
// cost go-control-plane work), then releases what the request
// acknowledges.
func (g *streamGuard) admit(typeURL, responseNonce string, node *corev3.Node, names, paced int) error {
	if err := g.types.admit(typeURL); err != nil {
		return g.end.set(err)
	}
	if limit := namesCap(typeURL, g.maxNames); names > limit {
		return g.end.set(tooManyNames(typeURL, names, limit))
	}
	if err := g.c.paced(g.throttle.wait(g.ctx, paced)); err != nil {
		return err
	}
	g.c.identify(node)
	g.l.identify(node.GetId())
	g.l.ack(typeURL, responseNonce)
	return nil
}

// sotwStream is a state-of-the-world ADS stream whose responses hold
// budget until acknowledged.
type sotwStream struct {
	discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer
	*streamGuard
}

func (s *sotwStream) Context() context.Context { return s.ctx }

func (s *sotwStream) Send(r *discoveryv3.DiscoveryResponse) error {
	return s.send(r.GetTypeUrl(), r.GetNonce(), proto.Size(r), func() error {
		return s.AggregatedDiscoveryService_StreamAggregatedResourcesServer.Send(r)
	})
}

// Recv hands go-control-plane the next request, if the limits admit it.
func (s *sotwStream) Recv() (*discoveryv3.DiscoveryRequest, error) {
	r, err := s.AggregatedDiscoveryService_StreamAggregatedResourcesServer.Recv()
	if err != nil {
		return r, err
	}
	n := len(r.GetResourceNames())
	if err := s.admit(r.GetTypeUrl(), r.GetResponseNonce(), r.GetNode(), n, n); err != nil {
		return nil, err
	}
	intern(r.ResourceNames)
	return r, nil
}

// deltaStream is a delta ADS stream whose responses hold budget until
// acknowledged.
type deltaStream struct {
	discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesServer
	*streamGuard
}

func (s *deltaStream) Context() context.Context { return s.ctx }

func (s *deltaStream) Send(r *discoveryv3.DeltaDiscoveryResponse) error {
	return s.send(r.GetTypeUrl(), r.GetNonce(), proto.Size(r), func() error {
		return s.AggregatedDiscoveryService_DeltaAggregatedResourcesServer.Send(r)
	})
}

// Recv hands go-control-plane the next request, if the limits admit it:
// each of its lists alone is held to the cap on names; the running
// subscription is capped where go-control-plane keeps it
// (namesCappedCache).
func (s *deltaStream) Recv() (*discoveryv3.DeltaDiscoveryRequest, error) {
	r, err := s.AggregatedDiscoveryService_DeltaAggregatedResourcesServer.Recv()
	if err != nil {
		return r, err
	}
	sub, unsub := len(r.GetResourceNamesSubscribe()), len(r.GetResourceNamesUnsubscribe())
	n := max(sub, unsub, len(r.GetInitialResourceVersions()))
	if err := s.admit(r.GetTypeUrl(), r.GetResponseNonce(), r.GetNode(), n, sub+unsub); err != nil {
		return nil, err
	}
	intern(r.ResourceNamesSubscribe)
	intern(r.ResourceNamesUnsubscribe)
	return r, nil
}

// intern replaces each name by the one copy of its string the process
// keeps (package unique), so that go-control-plane's per-stream records of
// subscribed and sent names (maps keyed by them, kept for as long as the
// stream lives) share one copy of each name across streams instead of
// holding each request's own: a state-of-the-world sidecar repeats all of
// its names in every request.
func intern(names []string) {
	for i, n := range names {
		names[i] = unique.Make(n).Value()
	}
}
