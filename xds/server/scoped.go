package server

import (
	"context"
	"errors"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	gcplog "github.com/envoyproxy/go-control-plane/pkg/log"
)

// scopedCache serves one type (clusters or route tables) whose content
// depends on the proxy's identity: the node cluster its sidecar announces,
// which is its local cluster name. An identity that declares its callees
// has a LinearCache of its own (its view); every other proxy, and every
// proxyless client, is served by the shared cache. It implements
// go-control-plane's cachev3.Cache, so the MuxCache routes to it like to
// any cache, and go-control-plane keeps the protocol: this only picks the
// cache each watch goes to.
//
// An identity starts or stops declaring while its proxies are connected
// (a rollout), so the cache a watch was created in can stop being the
// right one. scopedCache records each open watch and, when an identity's
// view appears or goes, moves its watches: the watch is cancelled in the
// old cache and created again in the new one with the same request and
// subscription, so the new cache answers with whatever the proxy's view
// lacks or has too much (go-control-plane computes it from the resources
// the stream was sent). A watch already answered is not moved: the
// proxy's next request finds the right cache, so its view converges.
//
// A stream's responses share one channel that go-control-plane sizes for
// one answer per type, and a client that stops reading stops draining it.
// A cache sends to a watch's channel while holding its lock, so a move
// answered into a full channel would stall every update of that cache,
// and publishing with it. So no watch the scoped cache opens is handed
// the stream's channel: the cache answers into the watch's own (room for
// one), and the scoped cache passes that answer on to the stream once,
// without blocking, right after the call that produced it (a move, an
// update, a new watch). One answer per watch, as go-control-plane
// expects of any cache, keeps the stream's channel from filling; the
// order of the answers is the order of the updates, as before.
type scopedCache struct {
	typeURL string
	shared  *cachev3.LinearCache
	log     gcplog.Logger

	mu      sync.Mutex
	views   map[string]*view               // identity -> its view, routed or not
	watches map[string]map[*watch]struct{} // identity -> its streams' open watches

	wrapView func(id string, st store) store // tests: records a view's updates
}

// view is one identity's cache. It is filled before it is routed, so that
// no proxy is sent a view half built.
type view struct {
	cache  *cachev3.LinearCache
	routed bool
}

// watch is one open watch of a stream, state-of-the-world or delta, with
// what it takes to create it again in another cache. Its fields are
// s.mu's.
type watch struct {
	identity  string
	req       *cachev3.Request
	sub       cachev3.Subscription
	value     chan cachev3.Response // the stream's
	in        chan cachev3.Response // the cache answers here
	dreq      *cachev3.DeltaRequest
	dvalue    chan cachev3.DeltaResponse // the stream's
	din       chan cachev3.DeltaResponse // the cache answers here
	cancel    func()                     // the cache's, while open there
	answered  bool                       // the stream was handed an answer
	done      chan struct{}              // closed when the stream cancels it
	cancelled bool
}

// viewVersionPrefix marks the versions of the views' caches, so that a
// state-of-the-world proxy whose version comes from another cache is
// always answered with its whole view.
const viewVersionPrefix = "view-"

func newScopedCache(typeURL string, shared *cachev3.LinearCache, log gcplog.Logger) *scopedCache {
	return &scopedCache{
		typeURL: typeURL, shared: shared, log: log,
		views:   map[string]*view{},
		watches: map[string]map[*watch]struct{}{},
	}
}

// identity is the view key of a node: a sidecar's node cluster. Proxyless
// clients ask by name for what they use and always get the shared cache.
func identity(n *corev3.Node) string {
	if isProxyless(n) {
		return ""
	}
	return n.GetCluster()
}

// cacheFor is the cache serving id now; s.mu is held.
func (s *scopedCache) cacheFor(id string) *cachev3.LinearCache {
	if v := s.views[id]; v != nil && v.routed {
		return v.cache
	}
	return s.shared
}

func (s *scopedCache) CreateWatch(req *cachev3.Request, sub cachev3.Subscription, value chan cachev3.Response) (func(), error) {
	id := identity(req.GetNode())
	if id == "" { // never moves: the cache answers it as any other
		return s.shared.CreateWatch(req, sub, value)
	}
	w := &watch{identity: id, req: req, sub: sub, value: value, in: make(chan cachev3.Response, 1), done: make(chan struct{})}
	return s.track(w)
}

func (s *scopedCache) CreateDeltaWatch(req *cachev3.DeltaRequest, sub cachev3.Subscription, value chan cachev3.DeltaResponse) (func(), error) {
	id := identity(req.GetNode())
	if id == "" {
		return s.shared.CreateDeltaWatch(req, sub, value)
	}
	w := &watch{identity: id, dreq: req, sub: sub, dvalue: value, din: make(chan cachev3.DeltaResponse, 1), done: make(chan struct{})}
	return s.track(w)
}

// Fetch (REST xDS) is not served: inzone-xds registers only ADS.
func (s *scopedCache) Fetch(context.Context, *cachev3.Request) (cachev3.Response, error) {
	return nil, errors.New("fetch is not supported")
}

func (s *scopedCache) track(w *watch) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := w.open(s.cacheFor(w.identity)); err != nil {
		return nil, err
	}
	ws := s.watches[w.identity]
	if ws == nil {
		ws = map[*watch]struct{}{}
		s.watches[w.identity] = ws
	}
	ws[w] = struct{}{}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.close()
		if !w.cancelled {
			w.cancelled = true
			close(w.done)
		}
		if ws := s.watches[w.identity]; ws != nil {
			delete(ws, w)
			if len(ws) == 0 {
				delete(s.watches, w.identity)
			}
		}
	}, nil
}

// open creates w in c and passes on an answer given at once.
func (w *watch) open(c *cachev3.LinearCache) error {
	var err error
	if w.dreq != nil {
		w.cancel, err = c.CreateDeltaWatch(w.dreq, w.sub, w.din)
	} else {
		w.cancel, err = c.CreateWatch(w.req, w.sub, w.in)
	}
	w.pass()
	return err
}

// close cancels w in its cache; an answer not passed on is dropped (the
// stream never had it, so its subscription does not count it).
func (w *watch) close() {
	if w.cancel != nil {
		w.cancel()
		w.cancel = nil
	}
	select {
	case <-w.in:
	case <-w.din:
	default:
	}
}

// pass hands the stream the answer its cache gave w, if any.
func (w *watch) pass() {
	if w.dreq != nil {
		w.answered = pass(w.din, w.dvalue, w.done) || w.answered
	} else {
		w.answered = pass(w.in, w.value, w.done) || w.answered
	}
}

// pass moves a response from in to out without blocking. out has room
// for it: go-control-plane sizes a stream's channel for one answer per
// type, and each watch gives one. Should it not (a stream that stopped
// reading, with a channel filled some other way), a goroutine waits to
// deliver it, until the stream cancels the watch, rather than the cache
// lock.
func pass[R any](in <-chan R, out chan<- R, done <-chan struct{}) bool {
	select {
	case r := <-in:
		select {
		case out <- r:
		default:
			go func() {
				select {
				case out <- r:
				case <-done:
				}
			}()
		}
		return true
	default:
		return false
	}
}

// view is identity id's store, created empty and not routed when it does
// not exist: publish fills it before route sends proxies to it.
func (s *scopedCache) view(id string) store {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.views[id]
	if v == nil {
		v = &view{cache: cachev3.NewLinearCache(s.typeURL, cachev3.WithLogger(s.log), cachev3.WithVersionPrefix(viewVersionPrefix))}
		s.views[id] = v
	}
	st := store(viewStore{s, v.cache, id})
	if s.wrapView != nil {
		return s.wrapView(id, st)
	}
	return st
}

// viewStore is one identity's view as publish updates it.
type viewStore struct {
	s  *scopedCache
	c  *cachev3.LinearCache
	id string
}

// UpdateResources updates the view and passes on the answers it gave to
// the identity's watches open in it.
func (v viewStore) UpdateResources(toUpdate map[string]types.Resource, toDelete []string) error {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	err := v.c.UpdateResources(toUpdate, toDelete)
	for w := range v.s.watches[v.id] {
		w.pass()
	}
	return err
}

// sharedStore is the shared cache as publish updates it.
type sharedStore struct{ s *scopedCache }

// UpdateResources updates the shared cache and passes on the answers it
// gave to the watches open in it (the proxyless ones it answers itself).
func (sh sharedStore) UpdateResources(toUpdate map[string]types.Resource, toDelete []string) error {
	s := sh.s
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.shared.UpdateResources(toUpdate, toDelete)
	for _, ws := range s.watches {
		for w := range ws {
			w.pass()
		}
	}
	return err
}

// routeIn serves the identities in ids from their views (which view
// created and publish filled), moving the open watches of those that were
// served by the shared cache. Called before the shared cache changes, so
// that a proxy whose identity starts declaring is not sent the new full
// view on its way to its own.
func (s *scopedCache) routeIn(ids map[string]bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for id, v := range s.views {
		if ids[id] && !v.routed {
			v.routed = true
			errs = append(errs, s.move(id, v.cache))
		}
	}
	return errors.Join(errs...)
}

// routeOut serves every identity not in ids from the shared cache, moving
// their open watches, and drops their views. Called after the shared cache
// changed, so that they move to the new full view.
func (s *scopedCache) routeOut(ids map[string]bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for id, v := range s.views {
		if !ids[id] {
			if v.routed {
				errs = append(errs, s.move(id, s.shared))
			}
			delete(s.views, id)
		}
	}
	return errors.Join(errs...)
}

// move creates id's open watches again in c; s.mu is held. A watch
// already answered stays: the stream's next request opens the next one
// in c.
func (s *scopedCache) move(id string, c *cachev3.LinearCache) error {
	var errs []error
	for w := range s.watches[id] {
		if w.answered {
			continue
		}
		w.close()
		if err := w.open(c); err != nil {
			// The stream keeps no watch for this type: its next
			// request (a resubscription, a reconnect) opens one.
			delete(s.watches[id], w)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// numViews is how many identities have a view, routed or not.
func (s *scopedCache) numViews() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.views)
}
