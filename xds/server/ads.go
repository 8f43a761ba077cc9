package server

import (
	"unique"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
)

// budgetedADS is the ADS service inzone-xds registers: go-control-plane's
// server, each stream wrapped so that its responses draw on the shared
// sendBudget. The protocol stays go-control-plane's: the wrappers only
// watch nonces go by.
type budgetedADS struct {
	inner  discoveryv3.AggregatedDiscoveryServiceServer
	budget *sendBudget
}

func (a *budgetedADS) StreamAggregatedResources(s discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	l := a.budget.ledger()
	defer l.close()
	return a.inner.StreamAggregatedResources(&sotwStream{s, l})
}

func (a *budgetedADS) DeltaAggregatedResources(s discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	l := a.budget.ledger()
	defer l.close()
	return a.inner.DeltaAggregatedResources(&deltaStream{s, l})
}

// sotwStream is a state-of-the-world ADS stream whose responses hold
// budget until acknowledged.
type sotwStream struct {
	discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer
	l *ledger
}

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

func (s *sotwStream) Recv() (*discoveryv3.DiscoveryRequest, error) {
	r, err := s.AggregatedDiscoveryService_StreamAggregatedResourcesServer.Recv()
	if err == nil {
		s.l.ack(r.GetTypeUrl(), r.GetResponseNonce())
		intern(r.ResourceNames)
	}
	return r, err
}

// deltaStream is a delta ADS stream whose responses hold budget until
// acknowledged.
type deltaStream struct {
	discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesServer
	l *ledger
}

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

func (s *deltaStream) Recv() (*discoveryv3.DeltaDiscoveryRequest, error) {
	r, err := s.AggregatedDiscoveryService_DeltaAggregatedResourcesServer.Recv()
	if err == nil {
		s.l.ack(r.GetTypeUrl(), r.GetResponseNonce())
		intern(r.ResourceNamesSubscribe)
		intern(r.ResourceNamesUnsubscribe)
	}
	return r, err
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
