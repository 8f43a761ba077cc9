package translate

import (
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// apiListeners are what proxyless gRPC clients (google.golang.org/grpc/xds
// and the other gRPC xDS clients) ask for: one LDS resource per target they
// dial. "xds:///<name>:<port>" asks for the listener "<name>:<port>", and
// "xds:///<name>" for "<name>", which means the same default port as the
// bare name does in the sidecar's routes. Each holds an HTTP connection
// manager with its one route inline (no RDS round trip) to the callee
// cluster of that port, and the router filter gRPC requires last.
//
// They are not sidecar listeners: Envoy takes an api_listener only from its
// bootstrap, so they are served apart (Output.APIListeners).
func (t *Translator) apiListeners(callees *calleeSet) []*listenerv3.Listener {
	var out []*listenerv3.Listener
	b := t.parts.newAPIListenerBuilder()
	callees.eachPort(func(name, cluster string, isDefault bool) {
		out = append(out, b.listener(cluster, cluster))
		if isDefault {
			out = append(out, b.listener(name, cluster))
		}
	})
	sortByName(out, (*listenerv3.Listener).GetName)
	return out
}

// apiListenerBuilder builds API listeners from one HTTP connection manager
// that it fills in for each and marshals into the listener's Any: the
// listeners keep only their bytes, so a message tree built for each would
// be thrown away at once (2 per Service port, each build). Not for
// concurrent use: one per translation.
type apiListenerBuilder struct {
	typeURL string
	hcm     *hcmv3.HttpConnectionManager
	rc      *routev3.RouteConfiguration
	vh      *routev3.VirtualHost
	action  *routev3.RouteAction_Cluster
}

func (p *parts) newAPIListenerBuilder() *apiListenerBuilder {
	action := &routev3.RouteAction_Cluster{}
	vh := &routev3.VirtualHost{
		Domains: []string{""},
		Routes: []*routev3.Route{{
			Match:  p.prefixMatch,
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: action}},
		}},
	}
	rc := &routev3.RouteConfiguration{VirtualHosts: []*routev3.VirtualHost{vh}}
	return &apiListenerBuilder{
		typeURL: p.hcmTypeURL,
		hcm: &hcmv3.HttpConnectionManager{
			StatPrefix:     "inzone_grpc",
			RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: rc},
			HttpFilters:    p.routerFilters,
		},
		rc: rc, vh: vh, action: action,
	}
}

// listener routes every call to target (the authority gRPC matches
// virtual hosts against is the dialed name, the listener's own) to cluster.
func (b *apiListenerBuilder) listener(target, cluster string) *listenerv3.Listener {
	b.rc.Name, b.vh.Name, b.vh.Domains[0], b.action.Cluster = target, target, target, cluster
	// As anypb.New marshals: the same options, so the same bytes.
	value, err := proto.MarshalOptions{}.Marshal(b.hcm)
	if err != nil {
		panic(err) // compiled-in types and valid UTF-8 names: cannot fail
	}
	return &listenerv3.Listener{
		Name:        target,
		ApiListener: &listenerv3.ApiListener{ApiListener: &anypb.Any{TypeUrl: b.typeURL, Value: value}},
	}
}
