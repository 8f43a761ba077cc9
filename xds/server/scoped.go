package server

import (
	"context"
	"errors"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
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
// the stream was sent). A response the old cache had already sent before
// the move is followed by the new cache's; the proxy's next request then
// finds the right cache, so its view converges.
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

// watch is one open watch, state-of-the-world or delta, with what it
// takes to create it again in another cache.
type watch struct {
	identity string
	req      *cachev3.Request
	sub      cachev3.Subscription
	value    chan cachev3.Response
	dreq     *cachev3.DeltaRequest
	dvalue   chan cachev3.DeltaResponse
	cancel   func() // nil when the cache answered at once
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
	w := &watch{identity: identity(req.GetNode()), req: req, sub: sub, value: value}
	return s.track(w)
}

func (s *scopedCache) CreateDeltaWatch(req *cachev3.DeltaRequest, sub cachev3.Subscription, value chan cachev3.DeltaResponse) (func(), error) {
	w := &watch{identity: identity(req.GetNode()), dreq: req, sub: sub, dvalue: value}
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
	if w.identity == "" {
		return w.close, nil // never moves: nothing to record
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
		if ws := s.watches[w.identity]; ws != nil {
			delete(ws, w)
			if len(ws) == 0 {
				delete(s.watches, w.identity)
			}
		}
	}, nil
}

func (w *watch) open(c *cachev3.LinearCache) error {
	var err error
	if w.dreq != nil {
		w.cancel, err = c.CreateDeltaWatch(w.dreq, w.sub, w.dvalue)
	} else {
		w.cancel, err = c.CreateWatch(w.req, w.sub, w.value)
	}
	return err
}

func (w *watch) close() {
	if w.cancel != nil {
		w.cancel()
		w.cancel = nil
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
	if s.wrapView != nil {
		return s.wrapView(id, v.cache)
	}
	return v.cache
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

// move creates id's open watches again in c; s.mu is held.
func (s *scopedCache) move(id string, c *cachev3.LinearCache) error {
	var errs []error
	for w := range s.watches[id] {
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
