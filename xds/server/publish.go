package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	gcplog "github.com/envoyproxy/go-control-plane/pkg/log"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

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
type caches struct {
	linear map[string]*cachev3.LinearCache // type URL -> its cache
	mux    *cachev3.MuxCache
}

// otherTypes answers requests for a type inzone-xds does not serve (SDS,
// RTDS...): an empty snapshot cache holds the watch without answering, as
// Envoy expects of a type the server has nothing for, instead of failing
// the whole ADS stream. Every proxy has the one key: nothing per proxy.
const otherTypes = "other"

type oneKey struct{}

func (oneKey) ID(*corev3.Node) string { return "" }

func newCaches(log gcplog.Logger) *caches {
	c := &caches{linear: map[string]*cachev3.LinearCache{}}
	all := map[string]cachev3.Cache{otherTypes: cachev3.NewSnapshotCache(true, oneKey{}, log)}
	for _, key := range served {
		c.linear[key] = cachev3.NewLinearCache(typeURL(key), cachev3.WithLogger(log))
		all[key] = c.linear[key]
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
func contentsOf(out *translate.Output) (contents, error) {
	lists := map[string][]types.Resource{
		resourcev3.ClusterType:  resources(out.Clusters),
		resourcev3.EndpointType: append(resources(out.Endpoints), resources(out.Local)...),
		resourcev3.ListenerType: resources(out.Listeners),
		resourcev3.RouteType:    resources(out.Routes),
		grpcListeners:           resources(out.APIListeners),
	}
	c := make(contents, len(lists))
	for url, items := range lists {
		byName := make(map[string]versioned, len(items))
		for _, r := range items {
			v, err := resourceVersion(r)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", url, cachev3.GetResourceName(r), err)
			}
			byName[cachev3.GetResourceName(r)] = versioned{r, v}
		}
		c[url] = byName
	}
	return c, nil
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
// clients get nothing. It returns how many resources changed.
func apply(stores map[string]store, old, next contents) (int, error) {
	changes := make(map[string]change, len(served))
	n := 0
	for _, url := range served {
		changes[url] = diff(old[url], next[url])
		n += len(changes[url].update) + len(changes[url].remove)
	}
	for _, url := range served {
		if len(changes[url].update) > 0 {
			if err := stores[url].UpdateResources(changes[url].update, nil); err != nil {
				return n, fmt.Errorf("updating %s: %w", url, err)
			}
		}
	}
	for i := len(served) - 1; i >= 0; i-- {
		url := served[i]
		if len(changes[url].remove) > 0 {
			if err := stores[url].UpdateResources(nil, changes[url].remove); err != nil {
				return n, fmt.Errorf("removing %s: %w", url, err)
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
