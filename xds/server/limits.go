package server

import (
	"context"
	"net"
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

	defaultMaxStreams       = 20_000
	defaultMaxNamesPerType  = 100_000
	streamsExhaustedMessage = "inzone-xds serves at most %d ADS streams at once (--max-streams); this one is refused"
)

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
		return status.Errorf(codes.ResourceExhausted, streamsExhaustedMessage, s.max)
	}
	return nil
}

func (s *streamSlots) give() { s.open.Add(-1) }

// tooManyNames is the status ending a stream that subscribes to more
// than max names of one type.
func tooManyNames(typeURL string, n, max int) error {
	return status.Errorf(codes.ResourceExhausted,
		"a stream subscribes to at most %d resource names per type; %d of %s", max, n, typeURL)
}

// namesCappedCache is the cache go-control-plane's server watches, with
// the cap on a delta stream's running subscription: go-control-plane adds
// each request's subscribes to the stream's set and removes its
// unsubscribes (names never subscribed remove nothing), then asks for a
// watch; a set over the cap refuses the watch, which ends the stream with
// that status. One request's own names are checked before they reach
// go-control-plane (limitedRecv), so the set grows at most one request
// past the cap before the stream ends.
type namesCappedCache struct {
	cachev3.Cache
	max int
}

func (c namesCappedCache) CreateDeltaWatch(r *cachev3.DeltaRequest, sub cachev3.Subscription, out chan cachev3.DeltaResponse) (func(), error) {
	if n := len(sub.SubscribedResources()); n > c.max {
		return nil, tooManyNames(r.GetTypeUrl(), n, c.max)
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
