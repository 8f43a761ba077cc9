package server

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	gcplog "github.com/envoyproxy/go-control-plane/pkg/log"
	sotwv3 "github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"k8s.io/utils/clock"

	"github.com/inzone-io/inzone/xds/translate"
)

// Reader gives the current objects of one Kubernetes cluster. Kube
// implements it over informers; it must not block on the network.
type Reader interface {
	Read() translate.Source
}

// Options of a Server; zero values take the documented defaults.
type Options struct {
	// Log gets structured logs. Default: discard.
	Log logr.Logger
	// Registry gets the metrics. Default: none registered.
	Registry prometheus.Registerer
	// Quiet is how long no change must arrive before a burst is published.
	// Default: 100ms.
	Quiet time.Duration
	// MaxDelay bounds how long a steady stream of changes can hold a
	// snapshot back. Default: 1s.
	MaxDelay time.Duration
	// SendBudget bounds the bytes of responses sent to proxies and not
	// yet acknowledged, across all streams (budget.go); a response larger
	// than it is sent alone. One stream holds at most an eighth of it.
	// Default: 16 MiB.
	SendBudget int64
	// AckTimeout is how long an unacknowledged response holds its part of
	// SendBudget. Default: 10s.
	AckTimeout time.Duration
	// MaxStreams bounds the ADS streams open at once; one more is refused
	// with ResourceExhausted (limits.go). Default: 20,000.
	MaxStreams int
	// MaxNamesPerType bounds the resource names one stream subscribes to
	// per type; beyond, the stream ends with ResourceExhausted.
	// Default: 100,000.
	MaxNamesPerType int
	// Clock times the coalescing of changes (Quiet, MaxDelay) and the push
	// latency; tests give a fake one. Default: the real clock.
	Clock clock.Clock
}

// DefaultQuiet and DefaultMaxDelay are Options.Quiet and MaxDelay when
// unset.
const (
	DefaultQuiet    = 100 * time.Millisecond
	DefaultMaxDelay = time.Second
)

const (
	defaultSendBudget = 16 << 20
	defaultAckTimeout = 10 * time.Second
)

// Server computes snapshots from its Readers and serves them over ADS.
type Server struct {
	tr      *translate.Translator
	opts    Options
	log     logr.Logger
	metrics *metrics
	caches  *caches
	stores  map[string]store // the caches' update side; tests record it
	xds     discoveryv3.AggregatedDiscoveryServiceServer

	changed chan struct{} // one pending signal: a change happened since the last build
	mu      sync.Mutex
	first   time.Time // first change of the pending burst; zero: none pending
	last    time.Time // last change of the pending burst

	current   atomic.Pointer[translate.Output]
	published contents // what the caches hold
	ready     atomic.Bool
	seen      map[string]bool // unzoned endpoints and problems already logged

	// validate is Output.Validate; tests make it fail.
	validate func(*translate.Output) error
}

// New builds a Server; ctx bounds the xDS streams.
func New(ctx context.Context, tr *translate.Translator, opts Options) *Server {
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	if opts.Quiet <= 0 {
		opts.Quiet = DefaultQuiet
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	if opts.SendBudget <= 0 {
		opts.SendBudget = defaultSendBudget
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = defaultAckTimeout
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = defaultMaxStreams
	}
	if opts.MaxNamesPerType <= 0 {
		opts.MaxNamesPerType = defaultMaxNamesPerType
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	s := &Server{
		tr: tr, opts: opts, log: opts.Log,
		metrics: newMetrics(opts.Registry),
		changed: make(chan struct{}, 1),
		seen:    map[string]bool{},
	}
	s.validate = (*translate.Output).Validate
	s.caches = newCaches(logAdapter(opts.Log.WithName("cache")))
	s.stores = s.caches.stores()
	s.xds = &budgetedADS{
		// Ordered: a state-of-the-world stream sends responses in the
		// order the caches produce them (apply's), not in whichever order
		// its per-type watches happen to be selected, which let a route
		// table arrive before the cluster it names (test/xds,
		// TestScopedViews, through adsclient's consistency check).
		inner:    serverv3.NewServer(ctx, namesCappedCache{s.caches.mux, opts.MaxNamesPerType}, s.metrics.callbacks(), sotwv3.WithOrderedADS()),
		budget:   newSendBudget(opts.SendBudget, opts.SendBudget/8, opts.AckTimeout, s.metrics),
		slots:    &streamSlots{max: int64(opts.MaxStreams)},
		maxNames: opts.MaxNamesPerType,
		metrics:  s.metrics,
	}
	return s
}

// Register adds the aggregated discovery service (ADS, state-of-the-world
// and delta) to a gRPC server: go-control-plane's, its responses bounded
// by the send budget, its streams and their names by MaxStreams and
// MaxNamesPerType. Create g with grpc.MaxConcurrentStreams
// (MaxStreamsPerConnection) and grpc.MaxRecvMsgSize (MaxRequestBytes).
func (s *Server) Register(g *grpc.Server) {
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, s.xds)
}

// Changed tells the Server that an object changed; informer handlers call
// it. It never blocks: changes pending for the next build coalesce.
func (s *Server) Changed() {
	now := s.opts.Clock.Now()
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Ready reports whether a snapshot was published whole: a first build
// that fails validation or publishing leaves it false until one succeeds.
// Run is called once the informers synced, so Ready also means that.
func (s *Server) Ready() bool { return s.ready.Load() }

// Current is the translation last served (nil before the first); it must
// not be modified.
func (s *Server) Current() *translate.Output { return s.current.Load() }

// LookupDDSD answers a DDSD name from the served state: a Service's ready
// endpoints, or an identity's ready pods. ok is false for a name not served.
func (s *Server) LookupDDSD(name string) (addrs []netip.Addr, ok bool) {
	out := s.current.Load()
	if out == nil {
		return nil, false
	}
	return out.LookupDDSD(name)
}

// Run publishes a first snapshot, then one per burst of changes, until ctx
// ends. It reads from readers (one per Kubernetes cluster); call it after
// their informers synced. The Server is Ready from the first build
// published whole; a failed build is retried at the next change.
func (s *Server) Run(ctx context.Context, readers []Reader) error {
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return nil
			case <-s.changed:
			}
			if !s.pending() {
				// The signal of a change the last build already read.
				continue
			}
			s.coalesce(ctx)
		}
		if s.build(ctx, readers) {
			s.ready.Store(true)
		}
	}
}

// pending says whether a change arrived since the last build read the
// objects.
func (s *Server) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.first.IsZero()
}

// coalesce waits until changes stop for Quiet, or MaxDelay after the
// first: until min(last+Quiet, first+MaxDelay), computed again whenever
// the timer fires, as Changed moves last.
func (s *Server) coalesce(ctx context.Context) {
	for {
		s.mu.Lock()
		due := s.last.Add(s.opts.Quiet)
		if limit := s.first.Add(s.opts.MaxDelay); limit.Before(due) {
			due = limit
		}
		s.mu.Unlock()
		wait := due.Sub(s.opts.Clock.Now())
		if wait <= 0 {
			return
		}
		t := s.opts.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// build translates the current objects and publishes the snapshot if it
// changed; it reports whether the caches now hold that snapshot whole. A
// translation that fails validation is not served: the proxies keep the
// last good one.
func (s *Server) build(ctx context.Context, readers []Reader) bool {
	s.mu.Lock()
	first := s.first
	s.first = time.Time{}
	s.mu.Unlock()

	in := translate.Input{Sources: make([]translate.Source, len(readers))}
	for i, r := range readers {
		in.Sources[i] = r.Read()
	}
	out := s.tr.Translate(in)
	if err := s.validate(out); err != nil {
		s.metrics.rejected.Inc()
		s.log.Error(err, "translation failed validation; keeping the last snapshot")
		return false
	}
	s.report(out)
	// publish first: it replaces out's unchanged resources with the
	// published ones, which current must not see done.
	changed, err := s.publish(ctx, out)
	if err != nil {
		// DNS keeps answering from the last build published whole.
		s.log.Error(err, "publishing resources")
		return false
	}
	s.current.Store(out)
	if changed == 0 {
		return true
	}
	s.metrics.snapshots.Inc()
	s.metrics.views.Set(float64(len(out.Scopes)))
	if !first.IsZero() {
		s.metrics.pushLatency.Observe(s.opts.Clock.Since(first).Seconds())
	}
	s.metrics.resources.WithLabelValues("Cluster").Set(float64(len(out.Clusters)))
	s.metrics.resources.WithLabelValues("ClusterLoadAssignment").Set(float64(len(out.Endpoints) + len(out.Local)))
	s.metrics.resources.WithLabelValues("Listener").Set(float64(len(out.Listeners)))
	s.metrics.resources.WithLabelValues("RouteConfiguration").Set(float64(len(out.Routes)))
	s.log.V(1).Info("resources published", "changed", changed, "clusters", len(out.Clusters), "endpoints", len(out.Endpoints), "local", len(out.Local), "views", len(out.Scopes))
	return true
}

// publish brings the caches to a translation: only the resources whose
// content changed are updated, in an order that keeps every proxy's view
// consistent (see apply). It returns how many resources changed.
func (s *Server) publish(_ context.Context, out *translate.Output) (int, error) {
	next, err := contentsOf(out, s.published)
	if err != nil {
		return 0, err
	}
	n, err := apply(s.stores, s.caches.scoped, s.published, next)
	if err != nil {
		// The caches hold part of next: the next build sets every
		// resource again and removes whatever either state had.
		s.published = unknown(s.published, next)
		return n, err
	}
	s.published = next
	return n, nil
}

// report logs each endpoint without a zone and each object left out once,
// when it first appears, and keeps the gauges current.
func (s *Server) report(out *translate.Output) {
	s.metrics.unzoned.Set(float64(len(out.Unzoned)))
	s.metrics.problems.Set(float64(len(out.Problems)))
	s.metrics.badCalls.Set(float64(out.IgnoredCalls))
	now := make(map[string]bool, len(out.Unzoned)+len(out.Problems))
	for _, u := range out.Unzoned {
		k := u.String()
		now[k] = true
		if !s.seen[k] {
			s.log.Info("endpoint without a zone: Envoy cannot route it by zone", "source", u.Source, "namespace", u.Namespace,
				"object", u.Object, "address", u.Address, "node", u.Node, "cluster", u.Cluster)
		}
	}
	for _, p := range out.Problems {
		k := p.String()
		now[k] = true
		if !s.seen[k] {
			s.log.Info("not served", "source", p.Source, "kind", p.Kind, "namespace", p.Namespace, "name", p.Name, "reason", p.Message)
		}
	}
	s.seen = now
}

// logAdapter sends go-control-plane's logs to logr; its debug lines are
// per request, so they go to a high verbosity.
func logAdapter(l logr.Logger) gcplog.Logger {
	return gcplog.LoggerFuncs{
		DebugFunc: func(f string, a ...any) {
			if d := l.V(4); d.Enabled() {
				d.Info(sprintf(f, a...))
			}
		},
		InfoFunc: func(f string, a ...any) {
			if d := l.V(1); d.Enabled() {
				d.Info(sprintf(f, a...))
			}
		},
		WarnFunc:  func(f string, a ...any) { l.Info(sprintf(f, a...)) },
		ErrorFunc: func(f string, a ...any) { l.Error(nil, sprintf(f, a...)) },
	}
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }
