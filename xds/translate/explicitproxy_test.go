package translate

import (
	"regexp"
	"slices"
	"testing"

	mutationrulesv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	earlymutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/early_header_mutation/header_mutation/v3"
)

// request is what the route match of the catch-all virtual host sees.
type request struct {
	connect   bool
	authority string
	marked    bool // ExplicitProxyHeader present
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
// except loopback and the outbound port, refused rather than looped.
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
		if n := len(hcm.GetHttpFilters()); hcm.GetHttpFilters()[n-1].GetName() != "envoy.filters.http.router" {
			t.Errorf("chain %s: the router is not last", chain)
		}
	}
	if rc := out.Routes[0]; !slices.Contains(rc.GetRequestHeadersToRemove(), ExplicitProxyHeader) {
		t.Errorf("route table does not remove %s: %v", ExplicitProxyHeader, rc.GetRequestHeadersToRemove())
	}
}
