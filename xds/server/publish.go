package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	gcplog "github.com/envoyproxy/go-control-plane/pkg/log"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"

	"github.com/inzone-io/inzone/xds/translate"
)

// store is the part of go-control-plane's LinearCache publish uses: one
// atomic update of one type's resources.
type store interface {
	UpdateResources(toUpdate map[string]types.Resource, toDelete []string) error
}

// served lists the types inzone-xds serves, in the order their additions
// and changes are applied: a resource is in place before anything naming
// it (endpoints before the clusters that use them, clusters before the
// routes, routes before the listeners). Removals go in the reverse order:
// nothing is removed while a resource still names it.
var served = []string{resourcev3.EndpointType, resourcev3.ClusterType, resourcev3.RouteType, resourcev3.ListenerType, grpcListeners}

// grpcListeners keys the API listeners proxyless gRPC clients ask for
// (proxyless.go): listeners, in a cache of their own, so that sidecars are
// never sent them and gRPC clients never get the sidecars' listeners.
const grpcListeners = resourcev3.ListenerType + "#grpc"

// typeURL is the xDS type of a key of served.
func typeURL(key string) string {
	if key == grpcListeners {
		return resourcev3.ListenerType
	}
	return key
}

// caches are the one go-control-plane cache of each served type, shared
// by every proxy: a LinearCache marshals a resource once per change and
// serves it to every stream that asks for it, state-of-the-world clients
// their named subset (a sidecar asks for its own local cluster among the
// endpoints), delta clients what changed. Nothing is kept per proxy but
// go-control-plane's watch of each stream (with a version per name sent)
// and the send budget's ledger.
//
// Clusters and route tables also have a view per identity that declares
// its callees (scoped.go): the shared LinearCache serves every other proxy.
type caches struct {
	linear map[string]*cachev3.LinearCache // type URL -> its cache
	scoped map[string]*scopedCache         // type URL -> its views, for the scoped types
	mux    *cachev3.MuxCache
}

// scopedTypes are the types whose content depends on the proxy's
// identity: endpoints and listeners are the same for every proxy.
var scopedTypes = []string{resourcev3.ClusterType, resourcev3.RouteType}

// otherTypes answers requests for a type inzone-xds does not serve (SDS,
// RTDS...): an empty snapshot cache holds the watch without answering, as
// Envoy expects of a type the server has nothing for, instead of failing
// the whole ADS stream. Every proxy has the one key: nothing per proxy.
const otherTypes = "other"

type oneKey struct{}

func (oneKey) ID(*corev3.Node) string { return "" }

func newCaches(log gcplog.Logger) *caches {
	c := &caches{linear: map[string]*cachev3.LinearCache{}, scoped: map[string]*scopedCache{}}
	all := map[string]cachev3.Cache{otherTypes: cachev3.NewSnapshotCache(true, oneKey{}, log)}
	for _, key := range served {
		c.linear[key] = cachev3.NewLinearCache(typeURL(key), cachev3.WithLogger(log))
		all[key] = c.linear[key]
	}
	for _, url := range scopedTypes {
		c.scoped[url] = newScopedCache(url, c.linear[url], log)
		all[url] = c.scoped[url]
	}
	classify := func(url string, node *corev3.Node) string {
		if url == resourcev3.ListenerType && isProxyless(node) {
			return grpcListeners
		}
		if _, ok := c.linear[url]; ok {
			return url
		}
		return otherTypes
	}
	c.mux = &cachev3.MuxCache{
		Classify:      func(r *cachev3.Request) string { return classify(r.GetTypeUrl(), r.GetNode()) },
		ClassifyDelta: func(r *cachev3.DeltaRequest) string { return classify(r.GetTypeUrl(), r.GetNode()) },
		Caches:        all,
	}
	return c
}

// stores gives each served type's cache as a store.
func (c *caches) stores() map[string]store {
	out := make(map[string]store, len(c.linear))
	for url, l := range c.linear {
		out[url] = l
		if sc := c.scoped[url]; sc != nil {
			out[url] = sharedStore{sc}
		}
	}
	return out
}

// contents are the resources of one translation by type URL and name,
// each with its content version.
type contents map[string]map[string]versioned

type versioned struct {
	res     types.Resource
	version string
}

// contentsOf versions every resource of a translation. It marshals each
// once; an error (a resource that does not marshal) comes before anything
// is applied.
//
// A resource whose version is the one published (old) is the same
// content: out then takes the published message in place of its own, so
// that the Server keeps one copy of each resource, the caches', and the
// rest of the translation is garbage at once. (Otherwise every rebuild
// would keep a second copy of what did not change: the caches hold the
// message they were given when it changed.)
func contentsOf(out *translate.Output, old contents) (contents, error) {
	c := make(contents, len(served)+2*len(out.Scopes))
	var v versioner
	var err error
	c[resourcev3.ClusterType], err = canonical(&v, resourcev3.ClusterType, out.Clusters, old[resourcev3.ClusterType], nil)
	if err == nil {
		c[resourcev3.EndpointType], err = canonical(&v, resourcev3.EndpointType, out.Endpoints, old[resourcev3.EndpointType], nil)
	}
	if err == nil {
		_, err = canonical(&v, resourcev3.EndpointType, out.Local, old[resourcev3.EndpointType], c[resourcev3.EndpointType])
	}
	if err == nil {
		c[resourcev3.ListenerType], err = canonical(&v, resourcev3.ListenerType, out.Listeners, old[resourcev3.ListenerType], nil)
	}
	if err == nil {
		c[resourcev3.RouteType], err = canonical(&v, resourcev3.RouteType, out.Routes, old[resourcev3.RouteType], nil)
	}
	if err == nil {
		c[grpcListeners], err = canonical(&v, grpcListeners, out.APIListeners, old[grpcListeners], nil)
	}
	if err != nil {
		return nil, err
	}
	for i := range out.Scopes {
		sc := &out.Scopes[i]
		// A view's clusters are the full view's messages: their versions
		// are known. Its route table is its own.
		clusters := make(map[string]versioned, len(sc.Clusters))
		for j, r := range sc.Clusters {
			full := c[resourcev3.ClusterType][r.GetName()]
			clusters[r.GetName()] = full
			if same, ok := full.res.(*clusterv3.Cluster); ok {
				sc.Clusters[j] = same
			}
		}
		c[viewKey(resourcev3.ClusterType, sc.Identity)] = clusters
		key := viewKey(resourcev3.RouteType, sc.Identity)
		routes, err := canonical(&v, resourcev3.RouteType, []*routev3.RouteConfiguration{sc.Route}, old[key], nil)
		if err != nil {
			return nil, fmt.Errorf("%w of %s", err, sc.Identity)
		}
		if same, ok := routes[sc.Route.GetName()].res.(*routev3.RouteConfiguration); ok {
			sc.Route = same
		}
		c[key] = routes
	}
	return c, nil
}

// canonical versions items of url into byName (a new map when nil) and replaces
// each item whose version is its published one's with the published
// message (see contentsOf).
func canonical[T types.Resource](v *versioner, url string, items []T, published, byName map[string]versioned) (map[string]versioned, error) {
	if byName == nil {
		byName = make(map[string]versioned, len(items))
	}
	for i, r := range items {
		name := cachev3.GetResourceName(r)
		version, err := v.version(r)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", typeURL(url), name, err)
		}
		if p, ok := published[name]; ok && p.version == version {
			if same, ok := p.res.(T); ok {
				items[i] = same
			}
		}
		byName[name] = versioned{items[i], version}
	}
	return byName, nil
}

// viewKey is the contents key of one identity's view of a scoped type.
func viewKey(url, identity string) string { return url + "@" + identity }

// views lists the identities with a view of url in c, sorted.
func (c contents) views(url string) []string {
	var ids []string
	for key := range c {
		if u, id, ok := strings.Cut(key, "@"); ok && u == url {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// change is what one type needs to go from one contents to the next.
type change struct {
	update map[string]types.Resource
	remove []string
}

func diff(old, next map[string]versioned) change {
	c := change{update: map[string]types.Resource{}}
	for name, r := range next {
		if o, ok := old[name]; !ok || o.version != r.version {
			c.update[name] = r.res
		}
	}
	for name := range old {
		if _, ok := next[name]; !ok {
			c.remove = append(c.remove, name)
		}
	}
	return c
}

// apply brings the stores from old to next in the order of served, so
// that a proxy never holds a resource naming one it cannot have: every
// addition and change (endpoints first, listeners last), then every
// removal (listeners first, endpoints last). Each type's step is atomic
// in its cache; a type that did not change is not touched, so its
// clients get nothing. The endpoints come first, then the views'
// additions (a view's clusters after their endpoints); the proxies of an
// identity that starts declaring move to its view before the shared
// clusters change (routes before clusters: a narrowing), those of one
// that stops move back after each shared type changed (clusters before
// routes: a widening), and the views no longer in next are dropped rather
// than emptied. It returns how many resources changed.
func apply(stores map[string]store, scoped map[string]*scopedCache, old, next contents) (int, error) {
	type step struct {
		key string
		st  store
		change
	}
	steps := make(map[string][]step, len(served))
	n := 0
	for _, url := range served {
		c := diff(old[url], next[url])
		n += len(c.update) + len(c.remove)
		steps[url] = append(steps[url], step{url, stores[url], c})
		if scoped[url] == nil {
			continue
		}
		for _, id := range next.views(url) {
			key := viewKey(url, id)
			c := diff(old[key], next[key])
			n += len(c.update) + len(c.remove)
			steps[url] = append(steps[url], step{key, scoped[url].view(id), c})
		}
		for _, id := range old.views(url) {
			if _, ok := next[viewKey(url, id)]; !ok {
				n += len(old[viewKey(url, id)])
			}
		}
	}
	idsOf := func(url string) map[string]bool {
		ids := map[string]bool{}
		for _, id := range next.views(url) {
			ids[id] = true
		}
		return ids
	}
	update := func(s step) error {
		if len(s.update) == 0 {
			return nil
		}
		if err := s.st.UpdateResources(s.update, nil); err != nil {
			return fmt.Errorf("updating %s: %w", s.key, err)
		}
		return nil
	}
	// The shared endpoints go first: EDS has no views, and a view's new
	// cluster sent before its endpoints would warm, its requests failing
	// where they went to their original destination before.
	if err := update(steps[resourcev3.EndpointType][0]); err != nil {
		return n, err
	}
	// Then the views are filled (clusters before routes), each proxy
	// staying where it is.
	for _, url := range served {
		for _, s := range steps[url][1:] { // the shared step is first
			if err := update(s); err != nil {
				return n, err
			}
		}
	}
	for _, url := range served {
		if url == resourcev3.EndpointType {
			continue // in place
		}
		if url == resourcev3.ClusterType {
			// The proxies whose identity starts declaring move to their
			// view before the shared cache changes (a response of it in
			// flight would be missed by the moved watch), routes first:
			// a narrowing, their old routes name clusters their view
			// lacks. (Only a cluster new in this very build, named by the
			// view, is briefly routed to before it arrives.)
			for _, u := range []string{resourcev3.RouteType, resourcev3.ClusterType} {
				if err := scoped[u].routeIn(idsOf(u)); err != nil {
					return n, fmt.Errorf("routing %s: %w", u, err)
				}
			}
		}
		if err := update(steps[url][0]); err != nil {
			return n, err
		}
		// The identities that stop declaring move to the shared cache
		// once it changed: clusters widen before routes.
		if sc := scoped[url]; sc != nil {
			if err := sc.routeOut(idsOf(url)); err != nil {
				return n, fmt.Errorf("routing %s: %w", url, err)
			}
		}
	}
	for i := len(served) - 1; i >= 0; i-- {
		for _, s := range steps[served[i]] {
			if len(s.remove) > 0 {
				if err := s.st.UpdateResources(nil, s.remove); err != nil {
					return n, fmt.Errorf("removing %s: %w", s.key, err)
				}
			}
		}
	}
	return n, nil
}

// unknown is what the caches may hold after a failed apply from old to
// next: any resource of either, at no version that a diff would match.
func unknown(old, next contents) contents {
	out := make(contents, len(served))
	for _, c := range []contents{old, next} {
		for url, byName := range c {
			if out[url] == nil {
				out[url] = map[string]versioned{}
			}
			for name := range byName {
				out[url][name] = versioned{}
			}
		}
	}
	return out
}

func resources[T types.Resource](in []T) []types.Resource {
	out := make([]types.Resource, len(in))
	for i, r := range in {
		out[i] = r
	}
	return out
}

// resourceVersion is go-control-plane's own per-resource hash, the
// version delta clients get for it: the same content has the same version
// on every replica and after a restart.
func resourceVersion(r types.Resource) (string, error) {
	b, err := cachev3.MarshalResource(r)
	if err != nil {
		return "", err
	}
	return cachev3.HashResource(b), nil
}

// versioner computes resourceVersion, marshaling every resource of a build
// into one buffer instead of a new one each: a build versions every
// resource, and most did not change.
type versioner struct{ buf []byte }

func (v *versioner) version(r types.Resource) (string, error) {
	// cachev3.MarshalResource's options: the same bytes.
	b, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(v.buf[:0], r)
	if err != nil {
		return "", err
	}
	v.buf = b
	return cachev3.HashResource(b), nil
}

// typeVersion hashes the versions of one type's resources in name order:
// the content version of the whole type, for logs and tests.
func typeVersion(byName map[string]versioned) string {
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write([]byte(byName[n].version))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
