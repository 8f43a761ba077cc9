package translate

import (
	"fmt"
	"net/netip"
	"sort"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/inzone-io/inzone/mutate"
)

// Source is what one Kubernetes cluster holds. Node names are only unique
// within a Source, so an endpoint's node is looked up in its own Source.
type Source struct {
	// Name identifies the cluster in problems and logs (e.g. the kubeconfig
	// context); it is not part of any Envoy name.
	Name string
	// Local says the sidecars run in this cluster: only its nodes and pods
	// decide whether the listeners bind IPv6 (see hasIPv6). inzone-xds
	// marks the cluster it runs in, else its first --kubeconfig.
	Local          bool
	Services       []*corev1.Service
	EndpointSlices []*discoveryv1.EndpointSlice
	Pods           []*corev1.Pod
	Nodes          []*corev1.Node
}

// Input is every cluster inzone-xds reads. Endpoints of one DDSD name are
// merged across Sources, each keeping its zone.
type Input struct {
	Sources []Source
}

// Output is one consistent view: every cluster's endpoints, every route's
// cluster, every listener's route table are in it. Each list is sorted by
// name, so the same Input always gives the same Output.
type Output struct {
	Clusters []*clusterv3.Cluster
	// Endpoints are the callee clusters' endpoints, one per cluster.
	Endpoints []*endpointv3.ClusterLoadAssignment
	// Local are the local clusters' endpoints, one per service identity
	// with an injected pod: each sidecar asks only for its own.
	Local     []*endpointv3.ClusterLoadAssignment
	Listeners []*listenerv3.Listener
	// APIListeners are the proxyless gRPC clients' listeners, one per
	// target name; sidecars are not sent them.
	APIListeners []*listenerv3.Listener
	Routes       []*routev3.RouteConfiguration
	// Scopes are the views of the identities that declare their callees,
	// sorted by identity; every other sidecar gets Clusters and Routes.
	Scopes []Scope
	// IgnoredCalls counts the pods whose mutate.AnnotationCalls did not
	// parse and was ignored (each is also a Problem).
	IgnoredCalls int
	// Addrs maps a DDSD name to the addresses DNS answers for it, sorted.
	Addrs map[string][]netip.Addr
	// Unzoned lists the endpoints served with an empty locality because
	// neither they nor their node carry a zone: Envoy cannot route them by
	// zone.
	Unzoned []UnzonedEndpoint
	// Problems are objects left out, each with the reason.
	Problems []Problem
}

// UnzonedEndpoint is an endpoint without a zone.
type UnzonedEndpoint struct {
	Source    string
	Namespace string
	Object    string // "EndpointSlice/<name>" or "Pod/<name>"
	Address   string
	Node      string // "" when the endpoint names none
	Cluster   string // the Envoy cluster (or local cluster) it is served in
}

func (u UnzonedEndpoint) String() string {
	return fmt.Sprintf("%s %s/%s address %s (node %q) in %s has no zone", u.Source, u.Namespace, u.Object, u.Address, u.Node, u.Cluster)
}

// Problem is an object, or part of one, that is not served.
type Problem struct {
	Source    string
	Kind      string
	Namespace string
	Name      string
	Message   string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s %s %s/%s: %s", p.Source, p.Kind, p.Namespace, p.Name, p.Message)
}

// Translator holds the parsed config. It is safe for concurrent use.
type Translator struct {
	engine *mutate.Engine
	cfg    *mutate.Config
	parts  *parts // read-only: shared by the resources of every translation
}

// New builds a Translator from the shared config, defaulted and validated
// the same way the webhook does it.
func New(cfg *mutate.Config) (*Translator, error) {
	e, err := mutate.NewEngine(cfg, mutate.Options{})
	if err != nil {
		return nil, err
	}
	c := e.Config()
	return &Translator{engine: e, cfg: c, parts: newParts(uint64(c.XDS.MinClusterSize))}, nil
}

// Translate computes the resources for the whole Input.
func (t *Translator) Translate(in Input) *Output {
	out := &Output{Addrs: map[string][]netip.Addr{}}
	callees := newCalleeSet()
	locals := newLocalSet()
	for i := range in.Sources {
		src := &in.Sources[i]
		nodes := indexNodes(src.Nodes)
		// One owner per DDSD name in this cluster, whether Services or
		// injected pods claim it: the pods' claims first, so that the
		// Services are judged against them.
		own := owners{}
		members := t.injectedPods(src, nodes, own, locals, out)
		t.collectCallees(src, nodes, own, callees, out)
		t.collectLocals(src, nodes, members, own, locals, out)
	}
	out.Clusters = t.clusters(callees)
	out.Endpoints = callees.loadAssignments()
	out.Local = locals.loadAssignments()
	out.Routes = []*routev3.RouteConfiguration{t.outboundRoutes(callees, uint32(t.cfg.Sidecar.OutboundPort))}
	out.Scopes = scopes(locals, callees, out.Clusters, out.Routes[0], out)
	out.Listeners = t.listeners(hasIPv6(in))
	out.APIListeners = t.apiListeners(callees)
	out.Addrs = dnsAddrs(callees, locals)
	sort.Slice(out.Unzoned, func(i, j int) bool { return out.Unzoned[i].String() < out.Unzoned[j].String() })
	sort.Slice(out.Problems, func(i, j int) bool { return out.Problems[i].String() < out.Problems[j].String() })
	return out
}

func indexNodes(nodes []*corev1.Node) map[string]*corev1.Node {
	m := make(map[string]*corev1.Node, len(nodes))
	for _, n := range nodes {
		m[n.Name] = n
	}
	return m
}
