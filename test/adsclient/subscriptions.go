package adsclient

import (
	"fmt"
	"slices"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// subscriptions are what a client asks for. The client's mutex guards
// them once Dial returned.
type subscriptions struct {
	wildcard map[string]bool
	fixed    map[string][]string        // asked for whatever CDS and LDS say
	want     map[string][]string        // asked for now, sorted, by type URL
	asked    map[string]map[string]bool // ever asked for on this stream
}

func newSubscriptions(o Options) *subscriptions {
	s := &subscriptions{wildcard: map[string]bool{}, fixed: map[string][]string{}, want: map[string][]string{}, asked: map[string]map[string]bool{}}
	for _, typ := range o.Wildcard {
		s.wildcard[typ] = true
	}
	for typ, names := range o.Names {
		s.fixed[typ] = append(s.fixed[typ], names...)
	}
	if o.LocalCluster != "" {
		s.fixed[resourcev3.EndpointType] = append(s.fixed[resourcev3.EndpointType], o.LocalCluster)
	}
	for typ, names := range s.fixed {
		s.set(typ, names)
	}
	return s
}

// names are what the client asks for of a named type now.
func (s *subscriptions) names(typ string) []string { return s.want[typ] }

// wants says whether the client asks for name of a named type now.
func (s *subscriptions) wants(typ, name string) bool {
	_, ok := slices.BinarySearch(s.want[typ], name)
	return ok
}

func (s *subscriptions) everAsked(typ, name string) bool { return s.asked[typ][name] }

// set makes names (in any order, repeats allowed) the subscription of typ
// and says what it was and whether it changed.
func (s *subscriptions) set(typ string, names []string) (prev []string, changed bool) {
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	prev = s.want[typ]
	if slices.Equal(prev, names) {
		return prev, false
	}
	s.want[typ] = names
	if s.asked[typ] == nil {
		s.asked[typ] = map[string]bool{}
	}
	for _, n := range names {
		s.asked[typ][n] = true
	}
	return prev, true
}

// derive is what the held resources of a wildcard type make the client
// ask for of the type that follows it, besides the fixed names: the EDS
// resource of every EDS cluster, the route table of every HTTP connection
// manager that reads it over RDS.
func (s *subscriptions) derive(typ string, held map[string]proto.Message) []string {
	dep := follows[typ]
	out := slices.Clone(s.fixed[dep])
	for _, m := range held {
		switch r := m.(type) {
		case *clusterv3.Cluster:
			if r.GetType() == clusterv3.Cluster_EDS {
				out = append(out, edsName(r))
			}
		case *listenerv3.Listener:
			out = append(out, routeNames(r)...)
		}
	}
	return out
}

// edsName is the EDS resource an EDS cluster reads: its service_name, or
// else its own name.
func edsName(c *clusterv3.Cluster) string {
	if n := c.GetEdsClusterConfig().GetServiceName(); n != "" {
		return n
	}
	return c.GetName()
}

// routeNames are the route tables a listener's HTTP connection managers
// read over RDS.
func routeNames(l *listenerv3.Listener) []string {
	var out []string
	chains := append(slices.Clone(l.GetFilterChains()), l.GetDefaultFilterChain())
	for _, fc := range chains {
		for _, f := range fc.GetFilters() {
			hcm := &hcmv3.HttpConnectionManager{}
			if f.GetTypedConfig().MessageIs(hcm) && f.GetTypedConfig().UnmarshalTo(hcm) == nil {
				if n := hcm.GetRds().GetRouteConfigName(); n != "" {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// decode unmarshals a response's resources by name; every one must be of
// the response's type.
func decode(typeURL string, anys []*anypb.Any) (map[string]proto.Message, error) {
	out := make(map[string]proto.Message, len(anys))
	for i, a := range anys {
		if a.GetTypeUrl() != typeURL {
			return nil, fmt.Errorf("%s response: resource %d is a %s", typeName(typeURL), i, a.GetTypeUrl())
		}
		m, err := a.UnmarshalNew()
		if err != nil {
			return nil, fmt.Errorf("%s response: resource %d: %w", typeName(typeURL), i, err)
		}
		name := resourceName(m)
		if name == "" {
			return nil, fmt.Errorf("%s response: resource %d has no name", typeName(typeURL), i)
		}
		out[name] = m
	}
	return out, nil
}

func resourceName(m proto.Message) string {
	switch r := m.(type) {
	case *endpointv3.ClusterLoadAssignment:
		return r.GetClusterName()
	case *clusterv3.Cluster:
		return r.GetName()
	case *listenerv3.Listener:
		return r.GetName()
	case *routev3.RouteConfiguration:
		return r.GetName()
	}
	return ""
}

// typeName is a type URL's short name for messages: "Cluster".
func typeName(typeURL string) string {
	for i := len(typeURL) - 1; i >= 0; i-- {
		if typeURL[i] == '.' {
			return typeURL[i+1:]
		}
	}
	return typeURL
}
