package translate

import (
	"net/netip"
	"regexp"
	"slices"
	"testing"

	mutationrulesv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	dfpclusterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/clusters/dynamic_forward_proxy/v3"
	dfpcommonv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/dynamic_forward_proxy/v3"
	dfpfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/dynamic_forward_proxy/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	earlymutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/early_header_mutation/header_mutation/v3"
	"google.golang.org/protobuf/proto"
)

// request is what the route match of the catch-all virtual host sees.
type request struct {
	connect   bool
	authority string
	marked    bool   // ExplicitProxyHeader present
	via       string // the Via the request arrived with
}

// routedVia is the Via the route match sees: the explicit-proxy connection
// manager (the one that marks) appends ExplicitProxyVia before routing, as
// Envoy's appendVia does, after a comma and a space.
func (r request) routedVia() string {
	if !r.marked {
		return r.via
	}
	if r.via == "" {
		return ExplicitProxyVia
	}
	return r.via + ", " + ExplicitProxyVia
}

// matchRoute is Envoy's route match for the matchers unservedRoutes uses:
// the first route whose path specifier (connect_matcher only for CONNECT,
// prefix only for the others) and every header matcher match. A matcher
// it does not know fails the test rather than matching by accident.
func matchRoute(t *testing.T, routes []*routev3.Route, r request) *routev3.Route {
	t.Helper()
	for _, rt := range routes {
		m := rt.GetMatch()
		switch {
		case m.GetConnectMatcher() != nil:
			if !r.connect {
				continue
			}
		case m.GetPrefix() == "/":
			if r.connect {
				continue
			}
		default:
			t.Fatalf("route %s: path matcher %v", rt.GetName(), m)
		}
		ok := true
		for _, h := range m.GetHeaders() {
			var value string
			var present bool
			switch h.GetName() {
			case ExplicitProxyHeader:
				value, present = "1", r.marked
			case ":authority":
				value, present = r.authority, true
			case "via":
				value = r.routedVia()
				present = value != ""
			default:
				t.Fatalf("route %s: header %s", rt.GetName(), h.GetName())
			}
			switch {
			case h.GetPresentMatch():
				ok = ok && present
			case h.GetStringMatch().GetSafeRegex() != nil:
				re := regexp.MustCompile("^(?:" + h.GetStringMatch().GetSafeRegex().GetRegex() + ")$")
				ok = ok && present && re.MatchString(value)
			default:
				t.Fatalf("route %s: header matcher %v", rt.GetName(), h)
			}
		}
		if ok {
			return rt
		}
	}
	return nil
}

// TestUnservedHosts: a host inzone does not serve is, for a captured
// request, its original destination; for an explicit-proxy request, the
// host it names through the dynamic forward proxy (CONNECT tunnelled),
// except loopback and the outbound port however spelled, and a request
// that came back to the proxy, refused rather than looped.
func TestUnservedHosts(t *testing.T) {
	routes := newParts(6).unservedRoutes(15001)
	const refused = "403"
	for _, tc := range []struct {
		req  request
		want string
	}{
		{request{authority: "example.com"}, PassthroughCluster},
		{request{authority: "example.com:8080"}, PassthroughCluster},
		{request{authority: "localhost:8080"}, PassthroughCluster},
		{request{connect: true, authority: "example.com:443"}, ""},
		{request{authority: "example.com", marked: true}, ExplicitProxyCluster},
		{request{authority: "example.com:8080", marked: true}, ExplicitProxyCluster},
		{request{connect: true, authority: "example.com:443", marked: true}, ExplicitProxyCluster},
		{request{connect: true, authority: "[2001:db8::1]:443", marked: true}, ExplicitProxyCluster},
		{request{authority: "127.example.com", marked: true}, ExplicitProxyCluster},
		{request{authority: "localhost.example.com:80", marked: true}, ExplicitProxyCluster},
		{request{authority: "example.com:150011", marked: true}, ExplicitProxyCluster},
		{request{authority: "10.1.0.7:15000", marked: true}, ExplicitProxyCluster},
		{request{authority: "localhost", marked: true}, refused},
		{request{authority: "LocalHost.:15000", marked: true}, refused},
		{request{authority: "127.0.0.1:15000", marked: true}, refused},
		{request{authority: "127.1.2.3", marked: true}, refused},
		{request{authority: "[::1]:8080", marked: true}, refused},
		{request{authority: "[0:0:0:0:0:0:0:1]", marked: true}, refused},
		{request{authority: "[::ffff:127.0.0.1]:80", marked: true}, refused},
		{request{authority: "example.com:15001", marked: true}, refused},
		{request{authority: "10.1.0.7:15001", marked: true}, refused},
		{request{connect: true, authority: "127.0.0.1:15000", marked: true}, refused},
		{request{connect: true, authority: "orders.service.prod.ddsd:15001", marked: true}, refused},
		// Every spelling of the pod's own host a resolver may accept.
		{request{authority: "0.0.0.0:15000", marked: true}, refused},
		{request{authority: "0:15000", marked: true}, refused},
		{request{authority: "0", marked: true}, refused},
		{request{authority: "[::]:15000", marked: true}, refused},
		{request{authority: "[::1]", marked: true}, refused},
		{request{authority: "[0::0001]:15000", marked: true}, refused},
		{request{authority: "[::1%25lo]:15000", marked: true}, refused},
		{request{authority: "[::ffff:7f00:1]:15000", marked: true}, refused},
		{request{authority: "[::FFFF:7F00:0001]:15000", marked: true}, refused},
		{request{authority: "[::ffff:127.0.0.1]:15000", marked: true}, refused},
		{request{authority: "[0:0:0:0:0:ffff:127.1.2.3]", marked: true}, refused},
		{request{authority: "[::ffff:0.0.0.0]:15000", marked: true}, refused},
		{request{authority: "[::ffff:0:0]:15000", marked: true}, refused},
		{request{authority: "[::127.0.0.1]:15000", marked: true}, refused},
		{request{authority: "2130706433:15000", marked: true}, refused},
		{request{authority: "0x7f.1:15000", marked: true}, refused},
		{request{authority: "0X7F000001", marked: true}, refused},
		{request{authority: "017700000001:15000", marked: true}, refused},
		{request{authority: "127.1:15000", marked: true}, refused},
		{request{authority: "127.0.1", marked: true}, refused},
		{request{authority: "0177.0.0.1:15000", marked: true}, refused},
		{request{authority: "10.1.0.07:80", marked: true}, refused},
		{request{authority: "127.0.0.1.:15000", marked: true}, refused},
		{request{authority: "00127.0.0.1:15000", marked: true}, refused},
		{request{authority: "1.2.3.4.5", marked: true}, refused},
		{request{authority: "1.2.3.4.", marked: true}, refused},
		{request{authority: "1.2.3.4.5.:80", marked: true}, refused},
		{request{authority: "1.2.3.4.0x5", marked: true}, refused},
		{request{authority: "0x1.2.3.4.5.", marked: true}, refused},
		{request{connect: true, authority: "0x7f.0.0.1:443", marked: true}, refused},
		{request{connect: true, authority: "[::ffff:7f00:1]:443", marked: true}, refused},
		{request{connect: true, authority: "localhost.localdomain.:443", marked: true}, refused},
		{request{authority: "localhost.:15000", marked: true}, refused},
		{request{authority: "admin.localhost:15000", marked: true}, refused},
		{request{authority: "ip6-localhost:15000", marked: true}, refused},
		{request{authority: "IP6-LOOPBACK", marked: true}, refused},
		{request{authority: "localhost.localdomain:15000", marked: true}, refused},
		{request{authority: "localhost:+15000", marked: true}, refused},
		// The outbound port however spelled.
		{request{authority: "example.com:015001", marked: true}, refused},
		{request{authority: "example.com:+15001", marked: true}, refused},
		{request{authority: "example.com:+0015001", marked: true}, refused},
		{request{connect: true, authority: "10.1.0.7:00015001", marked: true}, refused},
		// What stays served: real hosts that only look alike.
		{request{authority: "10.0.0.1:15000", marked: true}, ExplicitProxyCluster},
		{request{authority: "1.2.3.4", marked: true}, ExplicitProxyCluster},
		{request{authority: "[2001:db8::1]:15000", marked: true}, ExplicitProxyCluster},
		{request{authority: "[::ffff:10.0.0.1]:80", marked: true}, ExplicitProxyCluster},
		{request{authority: "[::ffff:a00:1]:80", marked: true}, ExplicitProxyCluster},
		{request{authority: "1e100.net", marked: true}, ExplicitProxyCluster},
		{request{authority: "0xdead.example.com", marked: true}, ExplicitProxyCluster},
		{request{authority: "mylocalhost.com", marked: true}, ExplicitProxyCluster},
		{request{authority: "example.com:150010", marked: true}, ExplicitProxyCluster},
		{request{authority: "admin.localhost.localdomain", marked: true}, ExplicitProxyCluster},
		{request{authority: "1.2.3.4.example.com", marked: true}, ExplicitProxyCluster},
		{request{connect: true, authority: "10.0.0.1:443", marked: true}, ExplicitProxyCluster},
		// A name that resolves to loopback passes the route: the DNS
		// cache's resolved_address_filter is what stops it, on an Envoy
		// that knows the field (TestExplicitProxyResolvedAddresses).
		{request{authority: "localtest.me:15000", marked: true}, ExplicitProxyCluster},
		// A request that came back: the Via this proxy appended is
		// already there, whatever the authority.
		{request{authority: "example.com", marked: true, via: ExplicitProxyVia}, refused},
		{request{authority: "example.com:8080", marked: true, via: "1.1 other, " + ExplicitProxyVia}, refused},
		{request{connect: true, authority: "example.com:443", marked: true, via: ExplicitProxyVia}, refused},
		{request{authority: "example.com", marked: true, via: "1.1 other-proxy"}, ExplicitProxyCluster},
		{request{authority: "example.com", via: ExplicitProxyVia + ", " + ExplicitProxyVia}, PassthroughCluster},
	} {
		rt := matchRoute(t, routes, tc.req)
		got := ""
		switch {
		case rt == nil:
		case rt.GetDirectResponse() != nil:
			got = "403"
			if rt.GetDirectResponse().GetStatus() != 403 {
				t.Errorf("%+v: status %d", tc.req, rt.GetDirectResponse().GetStatus())
			}
		default:
			got = rt.GetRoute().GetCluster()
			tunnels := len(rt.GetRoute().GetUpgradeConfigs()) == 1 && rt.GetRoute().GetUpgradeConfigs()[0].GetConnectConfig() != nil
			if tunnels != tc.req.connect {
				t.Errorf("%+v: route %s terminates CONNECT: %v", tc.req, rt.GetName(), tunnels)
			}
		}
		if got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.req, got, tc.want)
		}
	}
}

// TestExplicitProxyMark: only the explicit-proxy chain's connection
// manager marks requests (before routing), the captured one removes a
// mark the app sent, and the route table removes it before a request
// leaves; only the marking one has the dynamic forward proxy filter.
func TestExplicitProxyMark(t *testing.T) {
	out := testTranslator(t).Translate(Input{})
	var outbound *listenerv3.Listener
	for _, l := range out.Listeners {
		if l.GetName() == OutboundListener {
			outbound = l
		}
	}
	hcms := map[string]*hcmv3.HttpConnectionManager{}
	for _, c := range outbound.GetFilterChains() {
		for _, f := range c.GetFilters() {
			if f.GetName() == "envoy.filters.network.http_connection_manager" {
				hcms[c.GetName()] = unpacked(t, f.GetTypedConfig(), &hcmv3.HttpConnectionManager{})
			}
		}
	}
	for chain, wantMark := range map[string]bool{"http": false, "explicit-proxy": true} {
		hcm := hcms[chain]
		if hcm == nil {
			t.Fatalf("no connection manager in chain %s", chain)
		}
		var muts []*mutationrulesv3.HeaderMutation
		for _, e := range hcm.GetEarlyHeaderMutationExtensions() {
			muts = append(muts, unpacked(t, e.GetTypedConfig(), &earlymutationv3.HeaderMutation{}).GetMutations()...)
		}
		if len(muts) != 1 {
			t.Fatalf("chain %s: %d early header mutations", chain, len(muts))
		}
		marks := muts[0].GetAppend().GetHeader().GetKey() == ExplicitProxyHeader &&
			muts[0].GetAppend().GetAppendAction() == corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
		removes := muts[0].GetRemove() == ExplicitProxyHeader
		if marks != wantMark || removes == wantMark {
			t.Errorf("chain %s: mutation %v, want it to mark: %v, else remove", chain, muts[0], wantMark)
		}
		hasDFP := slices.ContainsFunc(hcm.GetHttpFilters(), func(f *hcmv3.HttpFilter) bool {
			return f.GetName() == "envoy.filters.http.dynamic_forward_proxy"
		})
		if hasDFP != wantMark {
			t.Errorf("chain %s: dynamic forward proxy filter %v, want %v", chain, hasDFP, wantMark)
		}
		if wantVia := map[bool]string{true: ExplicitProxyVia}[wantMark]; hcm.GetVia() != wantVia {
			t.Errorf("chain %s: via %q, want %q", chain, hcm.GetVia(), wantVia)
		}
		if n := len(hcm.GetHttpFilters()); hcm.GetHttpFilters()[n-1].GetName() != "envoy.filters.http.router" {
			t.Errorf("chain %s: the router is not last", chain)
		}
	}
	if rc := out.Routes[0]; !slices.Contains(rc.GetRequestHeadersToRemove(), ExplicitProxyHeader) {
		t.Errorf("route table does not remove %s: %v", ExplicitProxyHeader, rc.GetRequestHeadersToRemove())
	}
}

// filteredOut is Envoy's resolved_address_filter: an address is dropped
// when a range of its own family contains it (CidrRange::isInRange
// compares only addresses of one version).
func filteredOut(t *testing.T, cache *dfpcommonv3.DnsCacheConfig, addr netip.Addr) bool {
	t.Helper()
	for _, r := range cache.GetResolvedAddressFilter().GetRanges() {
		base, err := netip.ParseAddr(r.GetAddressPrefix())
		if err != nil {
			t.Fatalf("range %v: %v", r, err)
		}
		prefix, err := base.Prefix(int(r.GetPrefixLen().GetValue()))
		if err != nil {
			t.Fatalf("range %v: %v", r, err)
		}
		if base.Is4() == addr.Is4() && prefix.Contains(addr) {
			return true
		}
	}
	return cache.GetResolvedAddressFilter().GetInvertMatch()
}

// TestExplicitProxyResolvedAddresses: a name the route let through
// (localtest.me) but that resolves to the pod's own loopback or
// unspecified address is not connected to: the DNS cache, the same in the
// filter and the cluster, drops those addresses; others stay.
func TestExplicitProxyResolvedAddresses(t *testing.T) {
	out := testTranslator(t).Translate(Input{})
	var cluster *dfpcommonv3.DnsCacheConfig
	for _, c := range out.Clusters {
		if c.GetName() == ExplicitProxyCluster {
			cluster = unpacked(t, c.GetClusterType().GetTypedConfig(), &dfpclusterv3.ClusterConfig{}).GetDnsCacheConfig()
		}
	}
	if cluster == nil {
		t.Fatal("no explicit-proxy cluster")
	}
	var filter *dfpcommonv3.DnsCacheConfig
	for _, l := range out.Listeners {
		for _, c := range l.GetFilterChains() {
			for _, f := range c.GetFilters() {
				if f.GetName() != "envoy.filters.network.http_connection_manager" {
					continue
				}
				for _, hf := range unpacked(t, f.GetTypedConfig(), &hcmv3.HttpConnectionManager{}).GetHttpFilters() {
					if hf.GetName() == "envoy.filters.http.dynamic_forward_proxy" {
						filter = unpacked(t, hf.GetTypedConfig(), &dfpfilterv3.FilterConfig{}).GetDnsCacheConfig()
					}
				}
			}
		}
	}
	if !proto.Equal(cluster, filter) {
		t.Fatalf("the filter's DNS cache differs from the cluster's:\n%v\n%v", filter, cluster)
	}
	for addr, want := range map[string]bool{
		"127.0.0.1":        true,
		"127.255.255.254":  true,
		"0.0.0.0":          true,
		"0.1.2.3":          true,
		"::1":              true,
		"::":               true,
		"::ffff:127.0.0.1": true,
		"::ffff:0.0.0.0":   true,
		"10.0.0.1":         false,
		"128.0.0.1":        false,
		"1.0.0.0":          false,
		"93.184.216.34":    false,
		"::2":              false,
		"2001:db8::1":      false,
		"::ffff:10.0.0.1":  false,
	} {
		if got := filteredOut(t, cluster, netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: filtered out %v, want %v", addr, got, want)
		}
	}
}
