package adsclient

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
)

// Inconsistency is a view the client held after accepting a response
// that Envoy would not hold consistently (see the package doc).
type Inconsistency struct {
	// Response is the accepted response's place among those the client
	// accepted, from 1.
	Response int
	// TypeURL and Version are the response's.
	TypeURL, Version string
	// Versions are the last accepted version of each type then, by type
	// URL.
	Versions map[string]string
	// Problems say what was wrong, at most maxListed of them.
	Problems []string
}

func (i *Inconsistency) Error() string {
	var held []string
	for _, typ := range known {
		if v, ok := i.Versions[typ]; ok {
			held = append(held, typeName(typ)+" "+short(v))
		}
	}
	return fmt.Sprintf("the view after accepted response %d (%s version %s; versions held: %s): %s",
		i.Response, typeName(i.TypeURL), short(i.Version), strings.Join(held, ", "), strings.Join(i.Problems, "; "))
}

// history is what a client remembers of the views it held: how many,
// how many were inconsistent, and the first that was. Its size does not
// grow with the stream.
type history struct {
	views, inconsistent int
	first               *Inconsistency
	versions            map[string]string // last accepted, by type URL
	// arrived is, by named type, the names received since they were last
	// subscribed to: one subscribed and not arrived is warming, one
	// arrived and no longer held was removed.
	arrived map[string]map[string]bool
}

// Consistency is nil if every view the client held was consistent, else
// an error naming the first inconsistent view (the response that made it,
// the versions then held, what was wrong) and how many of how many views
// were inconsistent. A view is recorded after every response the client
// accepted.
func (c *Client) Consistency() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := &c.history
	if h.first == nil {
		return nil
	}
	return fmt.Errorf("%s client: %d of %d views inconsistent; the first: %w", c.protocol, h.inconsistent, h.views, h.first)
}

// Views is how many views the client held: one per response it accepted.
func (c *Client) Views() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.history.views
}

// arrive notes that named resources of a named type arrived. c.mu is held.
func (h *history) arrive(typ, name string) {
	if h.arrived[typ] == nil {
		h.arrived[typ] = map[string]bool{}
	}
	h.arrived[typ][name] = true
}

// unsubscribed forgets that what is no longer asked for of typ arrived:
// asked for again, it warms again. c.mu is held.
func (h *history) unsubscribed(typ string, sub *subscriptions) {
	for name := range h.arrived[typ] {
		if !sub.wants(typ, name) {
			delete(h.arrived[typ], name)
		}
	}
}

// record checks the view after an accepted response and remembers it.
// c.mu is held.
func (c *Client) record(r response) {
	h := &c.history
	h.views++
	h.versions[r.typeURL] = r.version
	found := inconsistencies(c.held, c.sub, h.arrived, c.local)
	if len(found) == 0 {
		return
	}
	h.inconsistent++
	if h.first == nil {
		h.first = &Inconsistency{Response: h.views, TypeURL: r.typeURL, Version: r.version, Versions: maps.Clone(h.versions), Problems: found}
	}
}

// inconsistencies lists what makes the held resources a view Envoy would
// not hold (the package doc's rules), at most maxListed entries. local
// is the bootstrap's static local cluster.
func inconsistencies(held map[string]map[string]proto.Message, sub *subscriptions, arrived map[string]map[string]bool, local string) []string {
	var out []string
	add := func(format string, a ...any) {
		if len(out) < maxListed {
			out = append(out, fmt.Sprintf(format, a...))
		}
	}
	clusters := held[resourcev3.ClusterType]
	exists := func(name string) bool {
		_, ok := clusters[name]
		return ok || (name != "" && name == local)
	}
	// 1. Whatever names a cluster names one CDS delivered.
	for _, name := range sortedNames(held[resourcev3.RouteType]) {
		for _, miss := range missingInRoutes(held[resourcev3.RouteType][name].(*routev3.RouteConfiguration), exists) {
			add("route table %s %s, which CDS does not hold", short(name), miss)
		}
	}
	for _, name := range sortedNames(held[resourcev3.ListenerType]) {
		for _, miss := range missingInListener(held[resourcev3.ListenerType][name].(*listenerv3.Listener), exists) {
			add("listener %s %s, which CDS does not hold", short(name), miss)
		}
	}
	for _, typ := range []string{resourcev3.EndpointType, resourcev3.RouteType} {
		// 2. What arrived stays while something reads it: removing it
		// first leaves a cluster without endpoints or a listener without
		// routes (a warming one, never arrived, is fine).
		for _, name := range sub.names(typ) {
			if _, ok := held[typ][name]; !ok && arrived[typ][name] {
				add("%s %s was removed while %s still reads it", typeName(typ), short(name), reader(typ, name, held, local))
			}
		}
		// 3. Nothing is held that nothing reads: it would be stale when a
		// cluster or listener of the same name comes back.
		for _, name := range sortedNames(held[typ]) {
			if !sub.wants(typ, name) {
				add("%s %s is held though nothing reads it (stale)", typeName(typ), short(name))
			}
		}
	}
	return out
}

// reader names what reads a named resource, for a message.
func reader(typ, name string, held map[string]map[string]proto.Message, local string) string {
	if typ == resourcev3.EndpointType && name == local {
		return "the bootstrap's local cluster"
	}
	for _, from := range []string{resourcev3.ClusterType, resourcev3.ListenerType} {
		for _, n := range sortedNames(held[from]) {
			var reads []string
			switch r := held[from][n].(type) {
			case *clusterv3.Cluster:
				if r.GetType() == clusterv3.Cluster_EDS {
					reads = []string{edsName(r)}
				}
			case *listenerv3.Listener:
				reads = routeNames(r)
			}
			if follows[from] == typ && slices.Contains(reads, name) {
				return typeName(from) + " " + short(n)
			}
		}
	}
	return "a fixed subscription (Options.Names)"
}

// missingInRoutes says which routes of a table name a cluster that does
// not exist (a route's cluster, or one of its weighted clusters; a
// cluster picked from a header at request time is not checked).
func missingInRoutes(rc *routev3.RouteConfiguration, exists func(string) bool) []string {
	var out []string
	for _, vh := range rc.GetVirtualHosts() {
		for i, rt := range vh.GetRoutes() {
			for _, cl := range routeClusters(rt.GetRoute()) {
				if !exists(cl) {
					out = append(out, fmt.Sprintf("virtual host %s route %d names cluster %s", short(vh.GetName()), i, short(cl)))
				}
			}
		}
	}
	return out
}

func routeClusters(a *routev3.RouteAction) []string {
	if a == nil {
		return nil
	}
	if n := a.GetCluster(); n != "" {
		return []string{n}
	}
	var out []string
	for _, w := range a.GetWeightedClusters().GetClusters() {
		out = append(out, w.GetName())
	}
	return out
}

// missingInListener says which filters of a listener name a cluster that
// does not exist: a TCP proxy's cluster or weighted clusters, and the
// routes of an HTTP connection manager's inline route table.
func missingInListener(l *listenerv3.Listener, exists func(string) bool) []string {
	var out []string
	chains := append(slices.Clone(l.GetFilterChains()), l.GetDefaultFilterChain())
	for ci, fc := range chains {
		chain := fc.GetName()
		if chain == "" {
			chain = fmt.Sprint(ci)
		}
		for _, f := range fc.GetFilters() {
			tc := f.GetTypedConfig()
			tp, hcm := &tcpproxyv3.TcpProxy{}, &hcmv3.HttpConnectionManager{}
			switch {
			case tc.MessageIs(tp) && tc.UnmarshalTo(tp) == nil:
				names := []string{tp.GetCluster()}
				if tp.GetCluster() == "" {
					names = nil
					for _, w := range tp.GetWeightedClusters().GetClusters() {
						names = append(names, w.GetName())
					}
				}
				for _, n := range names {
					if !exists(n) {
						out = append(out, fmt.Sprintf("filter chain %s: TCP proxy names cluster %s", short(chain), short(n)))
					}
				}
			case tc.MessageIs(hcm) && tc.UnmarshalTo(hcm) == nil && hcm.GetRouteConfig() != nil:
				for _, m := range missingInRoutes(hcm.GetRouteConfig(), exists) {
					out = append(out, fmt.Sprintf("filter chain %s: inline routes: %s", short(chain), m))
				}
			}
		}
	}
	return out
}

func sortedNames(m map[string]proto.Message) []string { return slices.Sorted(maps.Keys(m)) }
