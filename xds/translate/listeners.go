package translate

import (
	"cmp"
	"slices"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	httpinspectorv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/http_inspector/v3"
	originaldstv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/original_dst/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// listeners are the sidecar's two: outbound, where the app's calls arrive
// (captured, or as an explicit proxy), and inbound, where calls to the app
// arrive. Both bind every address; the ports are the shared config's.
func (t *Translator) listeners() []*listenerv3.Listener {
	return []*listenerv3.Listener{
		t.inboundListener(),
		t.outboundListener(),
	}
}

// outboundListener restores the original destination (original_dst), then
// tells HTTP from anything else (http_inspector): HTTP/1.1 and h2c (so gRPC)
// go through the HTTP connection manager, routed by :authority/Host to the
// DDSD clusters; other TCP passes through to where it was going.
func (t *Translator) outboundListener() *listenerv3.Listener {
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix: "inzone_outbound",
		CodecType:  hcmv3.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource:    adsConfigSource(),
			RouteConfigName: OutboundRoute,
		}},
		HttpFilters: t.parts.routerFilters,
		// Explicit-proxy clients (HTTP_PROXY): CONNECT tunnels and
		// absolute-form requests ("GET http://name:port/path").
		UpgradeConfigs:       []*hcmv3.HttpConnectionManager_UpgradeConfig{{UpgradeType: "CONNECT"}},
		HttpProtocolOptions:  &corev3.Http1ProtocolOptions{AllowAbsoluteUrl: wrapperspb.Bool(true)},
		Http2ProtocolOptions: &corev3.Http2ProtocolOptions{AllowConnect: true},
	}
	return &listenerv3.Listener{
		Name:    OutboundListener,
		Address: socketAddress("0.0.0.0", uint32(t.cfg.Sidecar.OutboundPort)),
		ListenerFilters: []*listenerv3.ListenerFilter{
			listenerFilter("envoy.filters.listener.original_dst", &originaldstv3.OriginalDst{}),
			listenerFilter("envoy.filters.listener.http_inspector", &httpinspectorv3.HttpInspector{}),
		},
		FilterChains: []*listenerv3.FilterChain{{
			Name:             "http",
			FilterChainMatch: &listenerv3.FilterChainMatch{ApplicationProtocols: []string{"http/1.1", "h2c"}},
			Filters:          []*listenerv3.Filter{networkFilter("envoy.filters.network.http_connection_manager", hcm)},
		}},
		DefaultFilterChain: tcpChain("passthrough", "inzone_passthrough", PassthroughCluster),
	}
}

// inboundListener forwards every connection to the app, at the address and
// port it was sent to.
func (t *Translator) inboundListener() *listenerv3.Listener {
	return &listenerv3.Listener{
		Name:    InboundListener,
		Address: socketAddress("0.0.0.0", uint32(t.cfg.Sidecar.InboundPort)),
		ListenerFilters: []*listenerv3.ListenerFilter{
			listenerFilter("envoy.filters.listener.original_dst", &originaldstv3.OriginalDst{}),
		},
		DefaultFilterChain: tcpChain("inbound", "inzone_inbound", InboundCluster),
	}
}

func tcpChain(name, stat, cluster string) *listenerv3.FilterChain {
	return &listenerv3.FilterChain{
		Name: name,
		Filters: []*listenerv3.Filter{networkFilter("envoy.filters.network.tcp_proxy", &tcpproxyv3.TcpProxy{
			StatPrefix:       stat,
			ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: cluster},
		})},
	}
}

func listenerFilter(name string, cfg proto.Message) *listenerv3.ListenerFilter {
	return &listenerv3.ListenerFilter{Name: name, ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: mustAny(cfg)}}
}

func networkFilter(name string, cfg proto.Message) *listenerv3.Filter {
	return &listenerv3.Filter{Name: name, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(cfg)}}
}

// mustAny packs a message whose type is compiled in; it cannot fail.
func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}

func sortByName[T any](s []T, name func(T) string) {
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(name(a), name(b)) })
}
