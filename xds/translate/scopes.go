package translate

import (
	"slices"
	"strconv"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
	corev1 "k8s.io/api/core/v1"
)

// MaxScopes bounds how many identities get a view of their own; the
// identities after it, in name order, get the full view (and a Problem),
// which is always safe: scoping only saves memory.
const MaxScopes = 10000

// Scope is the view of one service identity whose pods all declare their
// callees (mutate.AnnotationCalls): the clusters and the outbound route
// table its sidecars are sent instead of the full ones. Endpoints and
// listeners are the shared ones. The resources are the full view's own
// (the same messages, not copies), so a Scope costs a few pointers.
type Scope struct {
	// Identity is the local cluster name of the identity's pods, the node
	// cluster their sidecars announce.
	Identity string
	// Calls are the DDSD names declared, sorted: the union over the
	// identity's pods, so that during a rollout nothing either version
	// calls disappears. A name not served is listed but has no cluster.
	Calls []string
	// Clusters are the callee clusters of Calls and the listeners'
	// ORIGINAL_DST clusters, sorted by name. The identity's local cluster
	// is not among them: each sidecar's bootstrap declares it statically;
	// a service that calls itself declares its own name.
	Clusters []*clusterv3.Cluster
	// Route is the outbound route table: the full one's fields (its name,
	// the headers it removes) with the virtual hosts of Calls only; any
	// other authority falls to the passthrough host: to its original
	// destination, without zone-aware routing.
	Route *routev3.RouteConfiguration
}

// declared is what one identity's pods declare they call.
type declared struct {
	all   bool // some pod calls everything, or its declaration was ignored
	names map[string]struct{}
}

// collectCalls adds one injected pod's declaration to its identity's. A
// value that does not parse (the webhook refuses it, but a pod may predate
// the webhook or come another way) is ignored: that identity gets the
// full view, which is what the pod would have had without the annotation.
func (t *Translator) collectCalls(src *Source, pod *corev1.Pod, identity string, locals *localSet, out *Output) {
	d := locals.calls[identity]
	if d == nil {
		d = &declared{names: map[string]struct{}{}}
		locals.calls[identity] = d
	}
	names, all, err := t.engine.Callees(pod)
	if err != nil {
		out.IgnoredCalls++
		out.Problems = append(out.Problems, Problem{src.Name, "Pod", pod.Namespace, pod.Name,
			"ignored, its identity gets the full view: " + err.Error()})
		all = true
	}
	if all {
		d.all = true
		d.names = nil
		return
	}
	if d.all {
		return
	}
	for _, n := range names {
		d.names[n] = struct{}{}
	}
}

// scopes builds a Scope for every identity that declares its callees,
// from the full view's clusters and routes.
func scopes(locals *localSet, callees *calleeSet, clusters []*clusterv3.Cluster, full *routev3.RouteConfiguration, out *Output) []Scope {
	ids := make([]string, 0, len(locals.calls))
	for id, d := range locals.calls {
		if !d.all {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	if len(ids) > MaxScopes {
		for _, id := range ids[MaxScopes:] {
			out.Problems = append(out.Problems, Problem{Kind: "Identity", Name: id,
				Message: "more than " + strconv.Itoa(MaxScopes) + " identities declare their callees: this one gets the full view"})
		}
		ids = ids[:MaxScopes]
	}
	byName := make(map[string]*clusterv3.Cluster, len(clusters))
	for _, c := range clusters {
		byName[c.GetName()] = c
	}
	views := make([]Scope, 0, len(ids))
	for _, id := range ids {
		calls := make([]string, 0, len(locals.calls[id].names))
		for n := range locals.calls[id].names {
			calls = append(calls, n)
		}
		slices.Sort(calls)
		s := Scope{Identity: id, Calls: calls, Route: withoutVirtualHosts(full)}
		for _, name := range ListenerClusters {
			s.Clusters = append(s.Clusters, byName[name])
		}
		want := map[string]bool{PassthroughCluster: true}
		for _, name := range calls {
			for _, p := range callees.sortedPorts(name) {
				cn := ClusterName(name, p)
				want[cn] = true
				if c := byName[cn]; c != nil {
					s.Clusters = append(s.Clusters, c)
				}
			}
		}
		sortByName(s.Clusters, (*clusterv3.Cluster).GetName)
		// The full table filtered, in its order (by name, passthrough
		// last): each virtual host is the full table's own message.
		for _, vh := range full.GetVirtualHosts() {
			if want[vh.GetName()] {
				s.Route.VirtualHosts = append(s.Route.VirtualHosts, vh)
			}
		}
		views = append(views, s)
	}
	return views
}

// withoutVirtualHosts is a new table holding every field of full but its
// virtual hosts: a scoped table must differ from the full one only in
// those (e.g. it keeps request_headers_to_remove), including in any field
// set on the full table later. The values are full's own (messages and
// lists shared, not copied): resources are read-only once translated.
func withoutVirtualHosts(full *routev3.RouteConfiguration) *routev3.RouteConfiguration {
	rc := &routev3.RouteConfiguration{}
	dst := rc.ProtoReflect()
	full.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Number() != virtualHostsField {
			dst.Set(fd, v)
		}
		return true
	})
	return rc
}

// virtualHostsField is RouteConfiguration.virtual_hosts's field number.
var virtualHostsField = (&routev3.RouteConfiguration{}).ProtoReflect().Descriptor().Fields().ByName("virtual_hosts").Number()
