package translate

import (
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
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
func apiListeners(callees *calleeSet) []*listenerv3.Listener {
	var out []*listenerv3.Listener
	callees.eachPort(func(name, cluster string, isDefault bool) {
		out = append(out, apiListener(cluster, cluster))
		if isDefault {
			out = append(out, apiListener(name, cluster))
		}
	})
	sortByName(out, (*listenerv3.Listener).GetName)
	return out
}

// apiListener routes every call to target (the authority gRPC matches
// virtual hosts against is the dialed name, the listener's own) to cluster.
func apiListener(target, cluster string) *listenerv3.Listener {
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix: "inzone_grpc",
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
			Name: target,
			VirtualHosts: []*routev3.VirtualHost{{
				Name:    target,
				Domains: []string{target},
				Routes: []*routev3.Route{{
					Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
					Action: &routev3.Route_Route{Route: &routev3.RouteAction{
						ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster},
					}},
				}},
			}},
		}},
		HttpFilters: []*hcmv3.HttpFilter{{
			Name:       "envoy.filters.http.router",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})},
		}},
	}
	return &listenerv3.Listener{
		Name:        target,
		ApiListener: &listenerv3.ApiListener{ApiListener: mustAny(hcm)},
	}
}
