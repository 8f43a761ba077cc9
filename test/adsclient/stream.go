package adsclient

import (
	"slices"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
)

// response is one response of either protocol.
type response struct {
	typeURL, version, nonce string
	resources               []*anypb.Any
	removed                 []string // delta only
	incremental             bool     // delta: what is left out is unchanged
}

// stream is the protocol's side of a client: how it receives and how it
// words a subscription, an ACK and a NACK.
type stream interface {
	recv() (response, error)
	// subscribe asks for names of typ instead of prev, both sorted (nil
	// names on the first request of a wildcard type).
	subscribe(typ string, names, prev []string) error
	// ack accepts r; names are what the client asks for of r's type.
	ack(r response, names []string) error
	// nack refuses r for err.
	nack(r response, names []string, err error) error
}

// sotwStream speaks state-of-the-world: every request repeats the names
// of its type, the version last accepted and the nonce last received.
type sotwStream struct {
	s    discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node *corev3.Node
	acks map[string]ack // by type URL
}

type ack struct{ version, nonce string }

func (s *sotwStream) recv() (response, error) {
	r, err := s.s.Recv()
	if err != nil {
		return response{}, err
	}
	return response{typeURL: r.GetTypeUrl(), version: r.GetVersionInfo(), nonce: r.GetNonce(), resources: r.GetResources()}, nil
}

func (s *sotwStream) send(typ string, names []string, errDetail error) error {
	a := s.acks[typ]
	req := &discoveryv3.DiscoveryRequest{Node: s.node, TypeUrl: typ, ResourceNames: names, VersionInfo: a.version, ResponseNonce: a.nonce}
	if errDetail != nil {
		req.ErrorDetail = status.New(codes.InvalidArgument, errDetail.Error()).Proto()
	}
	return s.s.Send(req)
}

func (s *sotwStream) subscribe(typ string, names, _ []string) error { return s.send(typ, names, nil) }

func (s *sotwStream) ack(r response, names []string) error {
	s.acks[r.typeURL] = ack{version: r.version, nonce: r.nonce}
	return s.send(r.typeURL, names, nil)
}

func (s *sotwStream) nack(r response, names []string, err error) error {
	a := s.acks[r.typeURL]
	a.nonce = r.nonce // the version stays the last accepted one
	s.acks[r.typeURL] = a
	return s.send(r.typeURL, names, err)
}

// deltaStream speaks incremental ADS: requests carry what changes in the
// subscription, and an ACK or NACK names the response's nonce alone.
type deltaStream struct {
	s    discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesClient
	node *corev3.Node
}

func (s *deltaStream) recv() (response, error) {
	r, err := s.s.Recv()
	if err != nil {
		return response{}, err
	}
	out := response{typeURL: r.GetTypeUrl(), version: r.GetSystemVersionInfo(), nonce: r.GetNonce(), removed: r.GetRemovedResources(), incremental: true}
	for _, res := range r.GetResources() {
		if res.GetResource() != nil {
			out.resources = append(out.resources, res.GetResource())
		}
	}
	return out, nil
}

func (s *deltaStream) subscribe(typ string, names, prev []string) error {
	req := &discoveryv3.DeltaDiscoveryRequest{Node: s.node, TypeUrl: typ}
	// Both lists are sorted.
	for _, n := range names {
		if _, ok := slices.BinarySearch(prev, n); !ok {
			req.ResourceNamesSubscribe = append(req.ResourceNamesSubscribe, n)
		}
	}
	for _, n := range prev {
		if _, ok := slices.BinarySearch(names, n); !ok {
			req.ResourceNamesUnsubscribe = append(req.ResourceNamesUnsubscribe, n)
		}
	}
	return s.s.Send(req)
}

func (s *deltaStream) ack(r response, _ []string) error {
	return s.s.Send(&discoveryv3.DeltaDiscoveryRequest{Node: s.node, TypeUrl: r.typeURL, ResponseNonce: r.nonce})
}

func (s *deltaStream) nack(r response, _ []string, err error) error {
	return s.s.Send(&discoveryv3.DeltaDiscoveryRequest{Node: s.node, TypeUrl: r.typeURL, ResponseNonce: r.nonce,
		ErrorDetail: status.New(codes.InvalidArgument, err.Error()).Proto()})
}
