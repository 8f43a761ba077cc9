package server

import (
	"context"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// The limits on what one ADS client can take from the server. Any pod
// that reaches the port can open streams and subscribe to names, and
// go-control-plane keeps a record per stream and per subscribed name for
// as long as the stream lives: without these, one pod could exhaust the
// server's memory.

const (
	// MaxStreamsPerConnection is gRPC's MaxConcurrentStreams for the ADS
	// port. Envoy opens one ADS stream per connection; gRPC's xDS client
	// one ADS stream per xDS server (and an LRS stream, which inzone-xds
	// does not serve). A client that opens more on one connection waits
	// for one to end (HTTP/2 flow, not an error).
	MaxStreamsPerConnection = 4
	// MaxRequestBytes bounds one request (gRPC's MaxRecvMsgSize): a
	// larger one ends its stream with ResourceExhausted before it is
	// decoded. A sidecar's largest request, the names of every endpoint
	// resource it subscribes to, takes about 40 bytes a name.
	MaxRequestBytes = 4 << 20
	// MaxTypesPerStream bounds the resource types one stream asks for:
	// go-control-plane keeps a watch and a subscription per type, so
	// without it one stream could make it keep any number. Envoy asks for
	// at most a dozen (CDS, EDS, LDS, RDS, SDS, RTDS, ECDS...); inzone's
	// sidecars and gRPC's clients for four.
	MaxTypesPerStream = 16
	// MaxTypeURLBytes bounds a type URL
	// ("type.googleapis.com/envoy.config.cluster.v3.Cluster" is 51).
	MaxTypeURLBytes = 256
	// MaxNamesOtherType bounds the names a stream subscribes to of a type
	// inzone-xds does not serve (SDS, RTDS...): go-control-plane holds the
	// watch and its names all the same, and nothing is ever sent for them.
	// Without it, a stream naming 100,000 resources of each of 16 types
	// made go-control-plane hold 200 MB (README).
	MaxNamesOtherType = 1024

	defaultMaxStreams       = 20_000
	defaultMaxNamesPerType  = 100_000
	streamsExhaustedMessage = "inzone-xds serves at most %d ADS streams at once (--max-streams); this one is refused"
)

// The limits, as the refusals metric names them.
const (
	limitStreams   = "streams"
	limitTypes     = "types"
	limitNames     = "names"
	limitNameBytes = "name_bytes"
)

// limitError is a stream refused or ended by one of the limits: gRPC
// sends its status (ResourceExhausted), the metrics count its limit.
type limitError struct {
	limit string
	s     *status.Status
}

func refuse(limit, format string, a ...any) error {
	return &limitError{limit, status.Newf(codes.ResourceExhausted, format, a...)}
}

func (e *limitError) Error() string              { return e.s.Err().Error() }
func (e *limitError) GRPCStatus() *status.Status { return e.s }

// streamSlots caps the ADS streams open at once across the server.
type streamSlots struct {
	open atomic.Int64
	max  int64
}

// take claims a slot; beyond the cap it fails with ResourceExhausted
// naming the limit, and claims nothing.
func (s *streamSlots) take() error {
	if s.open.Add(1) > s.max {
		s.open.Add(-1)
		return refuse(limitStreams, streamsExhaustedMessage, s.max)
	}
	return nil
}

func (s *streamSlots) give() { s.open.Add(-1) }

// tooManyTypes is the status ending a stream that asks for more than
// MaxTypesPerStream types, or for a type URL over MaxTypeURLBytes.
func tooManyTypes(typeURL string) error {
	if len(typeURL) > MaxTypeURLBytes {
		return refuse(limitTypes, "a type URL has at most %d bytes; %d", MaxTypeURLBytes, len(typeURL))
	}
	return refuse(limitTypes, "a stream asks for at most %d resource types; %s is one more", MaxTypesPerStream, typeURL)
}

// typesSeen are the type URLs a stream asked for; its requests' type
// URLs go through admit.
type typesSeen []string

func (t *typesSeen) admit(typeURL string) error {
	if slices.Contains(*t, typeURL) {
		return nil
	}
	if len(*t) >= MaxTypesPerStream || len(typeURL) > MaxTypeURLBytes {
		return tooManyTypes(typeURL)
	}
	*t = append(*t, typeURL)
	return nil
}

// namesCap is the cap on the names of typeURL one stream subscribes to:
// max for the types inzone-xds serves, MaxNamesOtherType for the others.
func namesCap(typeURL string, max int) int {
	if typeURL != grpcListeners && slices.Contains(served, typeURL) {
		return max
	}
	return min(max, MaxNamesOtherType)
}

// tooManyNames is the status ending a stream that subscribes to more
// than max names of one type.
func tooManyNames(typeURL string, n, max int) error {
	return refuse(limitNames, "a stream subscribes to at most %d resource names per type; %d of %s", max, n, typeURL)
}

// namesCappedCache is the cache go-control-plane's server watches, with
// the cap on a delta stream's running subscription (namesCap): go-control-plane adds
// each request's subscribes to the stream's set and removes its
// unsubscribes (names never subscribed remove nothing), then asks for a
// watch; a set over the cap refuses the watch, which ends the stream with
// that status. The cap is on names, and on their bytes: a delta
// subscription of a type carries at most what one state-of-the-world
// request could (MaxRequestBytes). One request's own names are checked
// before they reach go-control-plane (deltaStream.Recv), so the set grows
// at most one request past the cap before the stream ends.
type namesCappedCache struct {
	cachev3.Cache
	max int
}

func (c namesCappedCache) CreateDeltaWatch(r *cachev3.DeltaRequest, sub cachev3.Subscription, out chan cachev3.DeltaResponse) (func(), error) {
	names := sub.SubscribedResources()
	if n, limit := len(names), namesCap(r.GetTypeUrl(), c.max); n > limit {
		return nil, tooManyNames(r.GetTypeUrl(), n, limit)
	}
	size := 0
	for name := range names {
		size += len(name)
	}
	if size > MaxRequestBytes {
		return nil, refuse(limitNameBytes, "a stream subscribes to at most %d bytes of resource names per type; %d of %s", MaxRequestBytes, size, r.GetTypeUrl())
	}
	return c.Cache.CreateDeltaWatch(r, sub, out)
}

// streamEnd holds the status a stream's wrapper decided to end it with.
// go-control-plane ends a stream whose Recv fails with no error of its
// own (it reads requests in a goroutine that just stops), so the wrapper
// returns this status once go-control-plane's handler returned. Setting
// it cancels the stream's context, so that a Send waiting for budget does
// not keep the stream.
type streamEnd struct {
	cancel func()
	mu     sync.Mutex
	err    error
}

func (e *streamEnd) set(err error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		e.err = err
		e.cancel()
	}
	return e.err
}

// or returns the status set, else err.
func (e *streamEnd) or(err error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return e.err
	}
	return err
}

// peerOf is the address of a stream's client without its port: what the
// send budget remembers of a client that does not acknowledge.
func peerOf(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if a, ok := p.Addr.(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return p.Addr.String()
}
