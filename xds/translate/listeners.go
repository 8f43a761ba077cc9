package translate

import (
	"cmp"
	"net/netip"
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

	"github.com/inzone-io/inzone/mutate"
)

// listeners are the sidecar's two: outbound, where the app's calls arrive
// (captured, or as an explicit proxy), and inbound, where calls to the app
// arrive. Both bind every IPv4 address and, when the cluster has IPv6
// (ipv6), every IPv6 address too; the ports are the shared config's.
func (t *Translator) listeners(ipv6 bool) []*listenerv3.Listener {
	return []*listenerv3.Listener{
		t.inboundListener(ipv6),
		t.outboundListener(ipv6),
	}
}

// loopback are the addresses an app that uses the outbound listener
// itself (proxy-env, capture mode none) connects to: capture never
// redirects loopback, so a connection to them on the outbound port was
// meant for the proxy.
func loopback() []*corev3.CidrRange {
	return []*corev3.CidrRange{
		{AddressPrefix: "127.0.0.0", PrefixLen: wrapperspb.UInt32(8)},
		{AddressPrefix: "::1", PrefixLen: wrapperspb.UInt32(128)},
	}
}

// httpProtocols are what http_inspector reports for plain HTTP: HTTP/1.x,
// and HTTP/2 with prior knowledge (h2c, so gRPC).
var httpProtocols = []string{"http/1.1", "h2c"}

// outboundListener restores the original destination (original_dst), then
// tells HTTP from anything else (http_inspector): HTTP/1.1 and h2c (so gRPC)
// go through the HTTP connection manager, routed by :authority/Host to the
// DDSD clusters; other TCP passes through to where it was going.
//
// Envoy picks a filter chain by destination port first, then destination
// address, then application protocol, and falls back to the default chain
// only when no chain of the most specific port and address matches. A
// connection whose original destination is the outbound port itself was
// not redirected (capture leaves the proxy's ports alone): passed through,
// it would reach this listener again, and again. Those go to the
// blackhole, as Istio does, except HTTP to loopback, which is an
// explicit-proxy client (HTTP_PROXY=http://127.0.0.1:<port>) talking to
// the proxy: its connection manager is explicitProxyHCM.
func (t *Translator) outboundListener(ipv6 bool) *listenerv3.Listener {
	port := uint32(t.cfg.Sidecar.OutboundPort)
	hcm := networkFilter("envoy.filters.network.http_connection_manager", t.outboundHCM())
	address, additional := bindAddresses(port, ipv6)
	return &listenerv3.Listener{
		Name:                OutboundListener,
		Address:             address,
		AdditionalAddresses: additional,
		ListenerFilters: []*listenerv3.ListenerFilter{
			listenerFilter("envoy.filters.listener.original_dst", &originaldstv3.OriginalDst{}),
			listenerFilter("envoy.filters.listener.http_inspector", &httpinspectorv3.HttpInspector{}),
		},
		FilterChains: []*listenerv3.FilterChain{
			{
				Name:             "http",
				FilterChainMatch: &listenerv3.FilterChainMatch{ApplicationProtocols: httpProtocols},
				Filters:          []*listenerv3.Filter{hcm},
			},
			{
				Name: "explicit-proxy",
				FilterChainMatch: &listenerv3.FilterChainMatch{
					DestinationPort:      wrapperspb.UInt32(port),
					PrefixRanges:         loopback(),
					ApplicationProtocols: httpProtocols,
				},
				Filters: []*listenerv3.Filter{networkFilter("envoy.filters.network.http_connection_manager", t.explicitProxyHCM())},
			},
			blackholeChain("explicit-proxy-not-http", &listenerv3.FilterChainMatch{
				DestinationPort: wrapperspb.UInt32(port),
				PrefixRanges:    loopback(),
			}),
			blackholeChain("self", &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(port)}),
		},
		DefaultFilterChain: tcpChain("passthrough", "inzone_passthrough", PassthroughCluster),
	}
}

// outboundHCM is the outbound HTTP connection manager of captured
// connections: routes from RDS, HTTP/1.1 and HTTP/2 as the caller speaks.
// It removes ExplicitProxyHeader before routing: only the explicit-proxy
// chain's connection manager may set it (explicitproxy.go).
func (t *Translator) outboundHCM() *hcmv3.HttpConnectionManager {
	return &hcmv3.HttpConnectionManager{
		StatPrefix:                    "inzone_outbound",
		EarlyHeaderMutationExtensions: []*corev3.TypedExtensionConfig{markExplicitProxy(false)},
		CodecType:                     hcmv3.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource:    adsConfigSource(),
			RouteConfigName: OutboundRoute,
		}},
		HttpFilters: t.parts.routerFilters,
		// Explicit-proxy clients (HTTP_PROXY): CONNECT tunnels and
		// absolute-form requests ("GET http://name:port/path"); captured
		// clients may send them too.
		UpgradeConfigs:       []*hcmv3.HttpConnectionManager_UpgradeConfig{{UpgradeType: "CONNECT"}},
		HttpProtocolOptions:  &corev3.Http1ProtocolOptions{AllowAbsoluteUrl: wrapperspb.Bool(true)},
		Http2ProtocolOptions: &corev3.Http2ProtocolOptions{AllowConnect: true},
	}
}

// inboundListener forwards every connection to the app, at the address and
// port it was sent to, but one sent to the inbound port itself (capture
// does not redirect it, so it would be forwarded back here, again and
// again): that one goes to the blackhole.
func (t *Translator) inboundListener(ipv6 bool) *listenerv3.Listener {
	port := uint32(t.cfg.Sidecar.InboundPort)
	address, additional := bindAddresses(port, ipv6)
	return &listenerv3.Listener{
		Name:                InboundListener,
		Address:             address,
		AdditionalAddresses: additional,
		ListenerFilters: []*listenerv3.ListenerFilter{
			listenerFilter("envoy.filters.listener.original_dst", &originaldstv3.OriginalDst{}),
		},
		FilterChains: []*listenerv3.FilterChain{
			blackholeChain("self", &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(port)}),
		},
		DefaultFilterChain: tcpChain("inbound", "inzone_inbound", InboundCluster),
	}
}

// bindAddresses are a listener's: 0.0.0.0, and :: beside it when the
// cluster has IPv6 (capture redirects IPv6 to the same ports). Two sockets,
// the IPv6 one IPv6-only (no ipv4_compat), as Istio binds dual-stack
// listeners: each family keeps its own addresses for original_dst and the
// filter chain match. :: is left out in an IPv4-only cluster because Envoy
// rejects the whole listener when one address fails to bind, which it does
// on a node whose kernel has IPv6 disabled.
func bindAddresses(port uint32, ipv6 bool) (*corev3.Address, []*listenerv3.AdditionalAddress) {
	if !ipv6 {
		return socketAddress("0.0.0.0", port), nil
	}
	return socketAddress("0.0.0.0", port), []*listenerv3.AdditionalAddress{{Address: socketAddress("::", port)}}
}

// hasIPv6 says whether the cluster carries IPv6, from what only the
// platform sets: a node's spec.podCIDRs (the node IPAM's) or an injected
// pod's status.podIPs (the kubelet's), ready or not (readiness flapping
// must not rebind the listeners). EndpointSlices are not read: anyone who
// may create one in any namespace could otherwise make every sidecar bind
// ::, which fails the whole listener on a node with IPv6 off, and
// redrain every sidecar by deleting it again. Only the Local Source counts,
// the cluster the sidecars run in: a dual-stack remote cluster would
// otherwise make every sidecar of an IPv4-only local cluster bind ::, which
// fails on its nodes with IPv6 off. No Local Source: IPv4 only.
func hasIPv6(in Input) bool {
	for _, src := range in.Sources {
		if !src.Local {
			continue
		}
		for _, n := range src.Nodes {
			for _, c := range n.Spec.PodCIDRs {
				if p, err := netip.ParsePrefix(c); err == nil && isIPv6(p.Addr()) {
					return true
				}
			}
		}
		for _, p := range src.Pods {
			if !mutate.HasSidecar(p) {
				continue
			}
			for _, ip := range p.Status.PodIPs {
				if a, err := netip.ParseAddr(ip.IP); err == nil && isIPv6(a) {
					return true
				}
			}
		}
	}
	return false
}

func isIPv6(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }

// blackholeChain closes every connection it matches: its tcp_proxy's
// cluster has no endpoints.
func blackholeChain(name string, match *listenerv3.FilterChainMatch) *listenerv3.FilterChain {
	c := tcpChain(name, "inzone_blackhole", BlackholeCluster)
	c.FilterChainMatch = match
	return c
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
