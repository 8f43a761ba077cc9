package server

import (
	"context"
	"unique"

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
	if err := a.slots.take(); err != nil {
		return a.metrics.refused(err)
	}
	defer a.slots.give()
	l := a.budget.ledger(peerOf(s.Context()))
	defer l.close()
	c := a.metrics.connect("sotw")
	defer c.close()
	ctx, cancel := context.WithCancel(s.Context())
	defer cancel()
	w := &sotwStream{AggregatedDiscoveryService_StreamAggregatedResourcesServer: s, ctx: ctx, l: l, c: c, maxNames: a.maxNames,
		throttle: newRequestThrottle(), end: streamEnd{cancel: cancel}}
	return a.metrics.refused(w.end.or(a.inner.StreamAggregatedResources(w)))
}

func (a *budgetedADS) DeltaAggregatedResources(s discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	if err := a.slots.take(); err != nil {
		return a.metrics.refused(err)
	}
	defer a.slots.give()
	l := a.budget.ledger(peerOf(s.Context()))
	defer l.close()
	c := a.metrics.connect("delta")
	defer c.close()
	ctx, cancel := context.WithCancel(s.Context())
	defer cancel()
	w := &deltaStream{AggregatedDiscoveryService_DeltaAggregatedResourcesServer: s, ctx: ctx, l: l, c: c, maxNames: a.maxNames,
		throttle: newRequestThrottle(), end: streamEnd{cancel: cancel}}
	return a.metrics.refused(w.end.or(a.inner.DeltaAggregatedResources(w)))
}

// sotwStream is a state-of-the-world ADS stream whose responses hold
// budget until acknowledged.
type sotwStream struct {
	discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer
	ctx      context.Context // the stream's, ended early when a limit ends the stream
	l        *ledger
	c        *connection
	maxNames int
	types    typesSeen
	throttle requestThrottle
	end      streamEnd
}

func (s *sotwStream) Context() context.Context { return s.ctx }

func (s *sotwStream) Send(r *discoveryv3.DiscoveryResponse) error {
	if err := s.l.acquire(s.Context(), r.GetTypeUrl(), r.GetNonce(), proto.Size(r)); err != nil {
		return err
	}
	err := s.AggregatedDiscoveryService_StreamAggregatedResourcesServer.Send(r)
	if err != nil {
		s.l.ack(r.GetTypeUrl(), r.GetNonce())
	}
	return err
}

// Recv hands go-control-plane the next request, unless it names more
// resources than a stream may subscribe to, or one type more than a
// stream may ask for: then the stream ends with ResourceExhausted, before
// go-control-plane records any of them.
func (s *sotwStream) Recv() (*discoveryv3.DiscoveryRequest, error) {
	r, err := s.AggregatedDiscoveryService_StreamAggregatedResourcesServer.Recv()
	if err != nil {
		return r, err
	}
	if err := s.types.admit(r.GetTypeUrl()); err != nil {
		return nil, s.end.set(err)
	}
	if n, limit := len(r.GetResourceNames()), namesCap(r.GetTypeUrl(), s.maxNames); n > limit {
		return nil, s.end.set(tooManyNames(r.GetTypeUrl(), n, limit))
	}
	if err := s.c.paced(s.throttle.wait(s.ctx, len(r.GetResourceNames()))); err != nil {
		return nil, err
	}
	s.c.identify(r.GetNode())
	s.l.identify(r.GetNode().GetId())
	s.l.ack(r.GetTypeUrl(), r.GetResponseNonce())
	intern(r.ResourceNames)
	return r, nil
}

// deltaStream is a delta ADS stream whose responses hold budget until
// acknowledged.
type deltaStream struct {
	discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesServer
	ctx      context.Context // the stream's, ended early when a limit ends the stream
	l        *ledger
	c        *connection
	maxNames int
	types    typesSeen
	throttle requestThrottle
	end      streamEnd
}

func (s *deltaStream) Context() context.Context { return s.ctx }

func (s *deltaStream) Send(r *discoveryv3.DeltaDiscoveryResponse) error {
	if err := s.l.acquire(s.Context(), r.GetTypeUrl(), r.GetNonce(), proto.Size(r)); err != nil {
		return err
	}
	err := s.AggregatedDiscoveryService_DeltaAggregatedResourcesServer.Send(r)
	if err != nil {
		s.l.ack(r.GetTypeUrl(), r.GetNonce())
	}
	return err
}

// Recv hands go-control-plane the next request, unless it alone
// subscribes to or unsubscribes from more names than a stream may hold,
// or asks for one type more than a stream may: then the stream ends with
// ResourceExhausted. The running subscription
// is capped where go-control-plane keeps it (namesCappedCache).
func (s *deltaStream) Recv() (*discoveryv3.DeltaDiscoveryRequest, error) {
	r, err := s.AggregatedDiscoveryService_DeltaAggregatedResourcesServer.Recv()
	if err != nil {
		return r, err
	}
	if err := s.types.admit(r.GetTypeUrl()); err != nil {
		return nil, s.end.set(err)
	}
	n := max(len(r.GetResourceNamesSubscribe()), len(r.GetResourceNamesUnsubscribe()), len(r.GetInitialResourceVersions()))
	if limit := namesCap(r.GetTypeUrl(), s.maxNames); n > limit {
		return nil, s.end.set(tooManyNames(r.GetTypeUrl(), n, limit))
	}
	if err := s.c.paced(s.throttle.wait(s.ctx, len(r.GetResourceNamesSubscribe())+len(r.GetResourceNamesUnsubscribe()))); err != nil {
		return nil, err
	}
	s.c.identify(r.GetNode())
	s.l.identify(r.GetNode().GetId())
	s.l.ack(r.GetTypeUrl(), r.GetResponseNonce())
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
