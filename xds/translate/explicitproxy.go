package translate

import (
	"regexp"
	"strconv"

	xdscorev3 "github.com/cncf/xds/go/xds/core/v3"
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
	// ExplicitProxyVia is the Via value the explicit-proxy connection
	// manager appends to each request before routing it: a request that
	// already carried it has been through this proxy and came back.
	ExplicitProxyVia = "inzone-explicit-proxy"
	explicitProxyDNS = "inzone_explicit_proxy"
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
	hcm.Via = ExplicitProxyVia
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
// requires the two to be the same. Its resolved_address_filter drops
// loopback and unspecified addresses from what a name resolves to, so a
// name that resolves to the pod's own loopback (localtest.me) is not
// connected to: the route saw only the name. The field is in Envoy's API
// from 1.39 on; an older Envoy (the default image is 1.36) ignores it, an
// unknown field of dynamic config, and connects (README).
func explicitProxyDNSCache() *dfpcommonv3.DnsCacheConfig {
	return &dfpcommonv3.DnsCacheConfig{
		Name:                  explicitProxyDNS,
		DnsLookupFamily:       clusterv3.Cluster_V4_PREFERRED,
		MaxHosts:              wrapperspb.UInt32(explicitProxyMaxHosts),
		ResolvedAddressFilter: &matcherv3.AddressMatcher{Ranges: explicitProxyRefusedRanges()},
	}
}

// explicitProxyRefusedRanges are the addresses the explicit proxy never
// connects to: the pod's own (loopback; 0.0.0.0/8 and :: reach it too).
// Envoy matches a range only against an address of its own family, so
// the IPv4-mapped IPv6 forms are listed apart.
func explicitProxyRefusedRanges() []*xdscorev3.CidrRange {
	cidr := func(prefix string, length uint32) *xdscorev3.CidrRange {
		return &xdscorev3.CidrRange{AddressPrefix: prefix, PrefixLen: wrapperspb.UInt32(length)}
	}
	return []*xdscorev3.CidrRange{
		cidr("127.0.0.0", 8),
		cidr("0.0.0.0", 8),
		cidr("::1", 128),
		cidr("::", 128),
		cidr("::ffff:127.0.0.0", 104),
		cidr("::ffff:0.0.0.0", 104),
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
// authority inzone does not serve. An explicit-proxy request is refused
// (403) when it already carries ExplicitProxyVia (it came back: a loop
// however its authority was spelled), when it names loopback (the pod's
// own, reached without the proxy: NO_PROXY lists it), or the outbound
// port anywhere (it would come back to this listener). Other
// explicit-proxy requests, CONNECT or not, go to the dynamic forward
// proxy; captured ones to their original destination.
func (p *parts) unservedRoutes(outboundPort uint32) []*routev3.Route {
	marked := &routev3.HeaderMatcher{Name: ExplicitProxyHeader, HeaderMatchSpecifier: &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}}
	regex := func(header, re string) *routev3.HeaderMatcher {
		return &routev3.HeaderMatcher{Name: header, HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{
			MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: re}},
		}}}
	}
	looped := regex("via", loopedVia())
	connect := func(headers ...*routev3.HeaderMatcher) *routev3.RouteMatch {
		return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_ConnectMatcher_{ConnectMatcher: &routev3.RouteMatch_ConnectMatcher{}}, Headers: headers}
	}
	prefix := func(headers ...*routev3.HeaderMatcher) *routev3.RouteMatch {
		return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}, Headers: headers}
	}
	refuse := func(why string) *routev3.Route_DirectResponse {
		return &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
			Status: 403,
			Body:   &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "inzone: " + why + "\n"}},
		}}
	}
	refused := refuse("the proxy does not forward to loopback or to its own port")
	loop := refuse("the request came back to the proxy (Via " + ExplicitProxyVia + ")")
	tunnel := p.routeTo(ExplicitProxyCluster, p.connectUpgrade)
	routes := []*routev3.Route{
		{Name: "explicit-proxy-loop-connect", Match: connect(marked, looped), Action: loop},
		{Name: "explicit-proxy-loop", Match: prefix(marked, looped), Action: loop},
	}
	for _, f := range forbiddenAuthorities(outboundPort) {
		forbidden := regex(":authority", "(?i)"+f.regex)
		routes = append(routes,
			&routev3.Route{Name: "explicit-proxy-refused-" + f.name + "-connect", Match: connect(marked, forbidden), Action: refused},
			&routev3.Route{Name: "explicit-proxy-refused-" + f.name, Match: prefix(marked, forbidden), Action: refused})
	}
	return append(routes, []*routev3.Route{
		{Name: "explicit-proxy-connect", Match: connect(marked), Action: tunnel},
		{Name: "explicit-proxy", Match: prefix(marked), Action: p.routeTo(ExplicitProxyCluster, nil)},
		{Name: "passthrough", Match: prefix(), Action: p.routeTo(PassthroughCluster, nil)},
	}...)
}

// loopedVia matches a Via header (Envoy joins several with commas) that
// names ExplicitProxyVia twice: the connection manager appends it once
// before routing, so a second one was appended on an earlier pass.
func loopedVia() string {
	v := regexp.QuoteMeta(ExplicitProxyVia)
	return `.*` + v + `.*` + v + `.*`
}

// authorityRefusal is one family of authorities the explicit proxy
// refuses: a regex of its own, on routes of its own (a route's header
// matchers are ANDed, so an OR of families takes one route each). Envoy
// rejects a safe_regex whose RE2 program is larger than 100 (its
// re2.max_program_size.error_level; the sidecar bootstrap sets no
// override) and with it the whole route table, so no single regex may
// hold every spelling: each family stays well under the limit
// (TestRegexProgramSize).
type authorityRefusal struct {
	name  string // in the route names
	regex string // RE2, matched against the whole :authority
}

// forbiddenAuthorities match, between them, an authority (host, host:port)
// that is the pod's own, or any host on the outbound port. Case-insensitive.
// The port may be spelled with a plus sign or leading zeros. The pod's own
// host is any spelling of loopback or of the unspecified address that a
// resolver may accept:
//   - localhost and any name under it (c-ares, as RFC 6761 asks, resolves
//     them to loopback) and the other loopback names of the pod's
//     /etc/hosts, with or without the final dot;
//   - IPv4 127/8 and 0/8 in dotted decimal, and every other numeric form
//     (inet_aton's: fewer than four parts, 0x hex or 0-prefixed octal
//     parts, a final dot, more than four parts), refused whatever address
//     it spells, since only a client bent on evasion writes one. A hex or
//     octal part anywhere is the family ipv4-odd, so the other numeric
//     families need only decimal parts;
//   - IPv6 in brackets: :: and ::1 however many zeros are spelled, and
//     IPv4-mapped (::ffff:) or -compatible 127/8 and 0/8, dotted or hex,
//     with or without a zone.
func forbiddenAuthorities(outboundPort uint32) []authorityRefusal {
	const (
		dec    = `[0-9]+`
		num    = `(0x[0-9a-f]*|[0-9]+)`              // one inet_aton part
		odd    = `(0x[0-9a-f]*|0[0-9]+)`             // a hex or octal part
		v4Self = `0*(127|0)\.[0-9]+\.[0-9]+\.[0-9]+` // 127/8, 0/8 dotted
		v6Pre  = `\[[0:]*:`                          // the zero groups before the last ones
		v6Zone = `(%[^\]]*)?\]`                      // an optional zone, the closing bracket
		hex16  = `:[0-9a-f]{1,4}`                    // the last group of a hex-spelled IPv4
	)
	port := strconv.FormatUint(uint64(outboundPort), 10)
	return []authorityRefusal{
		{"localhost", `(([a-z0-9_-]+\.)*localhost|localhost\.localdomain)\.?` + portSuffix},
		{"ip6-localhost", `ip6-(localhost|loopback)\.?` + portSuffix},
		{"ipv4-loopback", v4Self + portSuffix},
		{"ipv4-short", dec + `(\.` + dec + `){0,2}\.?` + portSuffix},                              // 1 to 3 parts
		{"ipv4-long", dec + `(\.` + dec + `){3}\.(` + dec + `(\.` + dec + `)*\.?)?` + portSuffix}, // a final dot, more than 4 parts
		{"ipv4-odd", `(` + num + `\.)*` + odd + `(\.` + num + `)*\.?` + portSuffix},
		{"ipv6-self", v6Pre + `[0:]*(0*1)?` + v6Zone + portSuffix},
		{"ipv6-mapped", v6Pre + `(ffff:)?` + v4Self + v6Zone + portSuffix},
		{"ipv6-mapped-127", v6Pre + `(ffff:)?0*7f[0-9a-f]{2}` + hex16 + v6Zone + portSuffix},
		{"ipv6-mapped-0", v6Pre + `(ffff:)?0{0,4}[0-9a-f]{1,2}` + hex16 + v6Zone + portSuffix},
		{"outbound-port", `.*:\+?0*` + regexp.QuoteMeta(port)},
	}
}

// portSuffix is an optional port, as a resolver may read one.
const portSuffix = `(:\+?[0-9]*)?`
