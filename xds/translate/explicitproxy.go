package translate

import (
	"regexp"
	"strconv"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	mutationrulesv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	dfpclusterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/clusters/dynamic_forward_proxy/v3"
	dfpcommonv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/dynamic_forward_proxy/v3"
	dfpfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/dynamic_forward_proxy/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	earlymutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/early_header_mutation/header_mutation/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// An explicit-proxy client (HTTP_PROXY=http://127.0.0.1:<outbound port>:
// capture mode proxy-env, or an app configured so) connects to the proxy
// itself, so a request for a host inzone does not serve has no original
// destination to pass through to but the proxy. Its requests go through
// their own HTTP connection manager (the outbound listener's
// explicit-proxy chain), which marks each one with ExplicitProxyHeader
// before routing (early header mutation); the shared route table sends a
// marked request for an unserved host to Envoy's dynamic forward proxy,
// which resolves the requested host by DNS and connects to it (CONNECT
// tunnels to host:port included), and an unmarked one (captured) to its
// original destination. The captured connection manager removes the
// header, so an app cannot mark its own requests, and the route table
// removes it before any request leaves the proxy.
const (
	ExplicitProxyHeader  = "x-inzone-explicit-proxy"
	ExplicitProxyCluster = "inzone-explicit-proxy" // dynamic forward proxy
	explicitProxyDNS     = "inzone_explicit_proxy"
	// explicitProxyMaxHosts bounds the DNS cache: the hosts an app may
	// ask for through the proxy are the app's choice.
	explicitProxyMaxHosts = 1024
)

// explicitProxyHCM is the outbound connection manager for explicit-proxy
// clients: the captured one, marking every request, with the dynamic
// forward proxy filter before the router.
func (t *Translator) explicitProxyHCM() *hcmv3.HttpConnectionManager {
	hcm := t.outboundHCM()
	hcm.StatPrefix = "inzone_explicit_proxy"
	hcm.EarlyHeaderMutationExtensions = []*corev3.TypedExtensionConfig{markExplicitProxy(true)}
	hcm.HttpFilters = []*hcmv3.HttpFilter{
		{
			Name: "envoy.filters.http.dynamic_forward_proxy",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&dfpfilterv3.FilterConfig{
				ImplementationSpecifier: &dfpfilterv3.FilterConfig_DnsCacheConfig{DnsCacheConfig: explicitProxyDNSCache()},
			})},
		},
		{
			Name:       "envoy.filters.http.router",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})},
		},
	}
	return hcm
}

// markExplicitProxy sets ExplicitProxyHeader (mark) or removes it, before
// the request is routed.
func markExplicitProxy(mark bool) *corev3.TypedExtensionConfig {
	m := &mutationrulesv3.HeaderMutation{Action: &mutationrulesv3.HeaderMutation_Remove{Remove: ExplicitProxyHeader}}
	name := "inzone-unmark-explicit-proxy"
	if mark {
		name = "inzone-mark-explicit-proxy"
		m.Action = &mutationrulesv3.HeaderMutation_Append{Append: &corev3.HeaderValueOption{
			Header:       &corev3.HeaderValue{Key: ExplicitProxyHeader, Value: "1"},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		}}
	}
	return &corev3.TypedExtensionConfig{
		Name:        name,
		TypedConfig: mustAny(&earlymutationv3.HeaderMutation{Mutations: []*mutationrulesv3.HeaderMutation{m}}),
	}
}

// explicitProxyDNSCache is shared by the filter and the cluster: Envoy
// requires the two to be the same.
func explicitProxyDNSCache() *dfpcommonv3.DnsCacheConfig {
	return &dfpcommonv3.DnsCacheConfig{
		Name:            explicitProxyDNS,
		DnsLookupFamily: clusterv3.Cluster_V4_PREFERRED,
		MaxHosts:        wrapperspb.UInt32(explicitProxyMaxHosts),
	}
}

// explicitProxyCluster connects to whatever host the dynamic forward proxy
// resolved for the request.
func explicitProxyCluster() *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name: ExplicitProxyCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_ClusterType{ClusterType: &clusterv3.Cluster_CustomClusterType{
			Name: "envoy.clusters.dynamic_forward_proxy",
			TypedConfig: mustAny(&dfpclusterv3.ClusterConfig{
				ClusterImplementationSpecifier: &dfpclusterv3.ClusterConfig_DnsCacheConfig{DnsCacheConfig: explicitProxyDNSCache()},
			}),
		}},
		LbPolicy:                      clusterv3.Cluster_CLUSTER_PROVIDED,
		ConnectTimeout:                durationpb.New(connectTimeout),
		TypedExtensionProtocolOptions: downstreamProtocol(),
	}
}

// unservedRoutes are the routes of the catch-all virtual host, for every
// authority inzone does not serve. An explicit-proxy request for loopback
// or for the outbound port anywhere is refused (403): loopback is the
// pod's own, reached without the proxy (NO_PROXY lists it), and the
// outbound port would bring the request back to this listener. Other
// explicit-proxy requests, CONNECT or not, go to the dynamic forward
// proxy; captured ones to their original destination.
func (p *parts) unservedRoutes(outboundPort uint32) []*routev3.Route {
	marked := &routev3.HeaderMatcher{Name: ExplicitProxyHeader, HeaderMatchSpecifier: &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}}
	forbidden := &routev3.HeaderMatcher{Name: ":authority", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{
		MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: forbiddenAuthority(outboundPort)}},
	}}}
	connect := func(headers ...*routev3.HeaderMatcher) *routev3.RouteMatch {
		return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_ConnectMatcher_{ConnectMatcher: &routev3.RouteMatch_ConnectMatcher{}}, Headers: headers}
	}
	prefix := func(headers ...*routev3.HeaderMatcher) *routev3.RouteMatch {
		return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}, Headers: headers}
	}
	refuse := &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
		Status: 403,
		Body:   &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "inzone: the proxy does not forward to loopback or to its own port\n"}},
	}}
	tunnel := p.routeTo(ExplicitProxyCluster, p.connectUpgrade)
	return []*routev3.Route{
		{Name: "explicit-proxy-refused-connect", Match: connect(marked, forbidden), Action: refuse},
		{Name: "explicit-proxy-refused", Match: prefix(marked, forbidden), Action: refuse},
		{Name: "explicit-proxy-connect", Match: connect(marked), Action: tunnel},
		{Name: "explicit-proxy", Match: prefix(marked), Action: p.routeTo(ExplicitProxyCluster, nil)},
		{Name: "passthrough", Match: prefix(), Action: p.routeTo(PassthroughCluster, nil)},
	}
}

// forbiddenAuthority matches an authority (host, host:port) that is
// loopback, or any host on the outbound port. RE2, matched against the
// whole value.
func forbiddenAuthority(outboundPort uint32) string {
	return `(?i)(localhost|localhost\.|127\.[0-9]+\.[0-9]+\.[0-9]+|\[(0*:)*:?0*1\]|\[::ffff:127\.[0-9]+\.[0-9]+\.[0-9]+\])(:[0-9]+)?|.*:` +
		regexp.QuoteMeta(strconv.FormatUint(uint64(outboundPort), 10))
}
