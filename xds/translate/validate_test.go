package translate

import (
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const (
	hcmType    = "(envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager)"
	routerType = "(envoy.extensions.filters.http.router.v3.Router)"
	tcpType    = "(envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy)"
)

// unpacked returns the message in a, to change and pack back with repack.
func unpacked[T proto.Message](t *testing.T, a *anypb.Any, m T) T {
	t.Helper()
	if err := a.UnmarshalTo(m); err != nil {
		t.Fatal(err)
	}
	return m
}

func repack(t *testing.T, a *anypb.Any, m proto.Message) {
	t.Helper()
	if err := a.MarshalFrom(m); err != nil {
		t.Fatal(err)
	}
}

// TestValidateLooksInsideAny: each resource, as translated, with one typed
// config broken somewhere inside an Any, must fail Output.Validate with an
// error naming the resource, the path to the broken message and the rule.
func TestValidateLooksInsideAny(t *testing.T) {
	tr := testTranslator(t)
	listener := func(name string) *listenerv3.Listener {
		for _, l := range tr.Translate(Input{}).Listeners {
			if l.GetName() == name {
				return l
			}
		}
		t.Fatalf("no listener %s", name)
		return nil
	}
	hcmOf := func(l *listenerv3.Listener) (*anypb.Any, *hcmv3.HttpConnectionManager) {
		a := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig()
		return a, unpacked(t, a, &hcmv3.HttpConnectionManager{})
	}
	for _, tc := range []struct {
		name string
		out  func() *Output
		want []string // substrings of the error
	}{
		{
			name: "outbound HCM without stat_prefix",
			out: func() *Output {
				l := listener(OutboundListener)
				a, hcm := hcmOf(l)
				hcm.StatPrefix = ""
				repack(t, a, hcm)
				return &Output{Listeners: []*listenerv3.Listener{l}}
			},
			want: []string{"listener inzone-outbound: filter_chains[0].filters[0].typed_config" + hcmType + ":", "StatPrefix"},
		},
		{
			name: "router with a header it cannot check",
			out: func() *Output {
				l := listener(OutboundListener)
				a, hcm := hcmOf(l)
				ra := hcm.GetHttpFilters()[0].GetTypedConfig()
				repack(t, ra, &routerv3.Router{StrictCheckHeaders: []string{"x-inzone-$(id)"}})
				repack(t, a, hcm)
				return &Output{Listeners: []*listenerv3.Listener{l}}
			},
			want: []string{"filter_chains[0].filters[0].typed_config" + hcmType + ".http_filters[0].typed_config" + routerType + ":", "StrictCheckHeaders"},
		},
		{
			name: "inbound tcp_proxy without stat_prefix",
			out: func() *Output {
				l := listener(InboundListener)
				a := l.GetDefaultFilterChain().GetFilters()[0].GetTypedConfig()
				tp := unpacked(t, a, &tcpproxyv3.TcpProxy{})
				tp.StatPrefix = ""
				repack(t, a, tp)
				return &Output{Listeners: []*listenerv3.Listener{l}}
			},
			want: []string{"listener inzone-inbound: default_filter_chain.filters[0].typed_config" + tcpType + ":", "StatPrefix"},
		},
		{
			name: "listener filter of a type not linked",
			out: func() *Output {
				l := listener(OutboundListener)
				l.ListenerFilters[1].GetTypedConfig().TypeUrl = "type.googleapis.com/inzone.NotLinked"
				return &Output{Listeners: []*listenerv3.Listener{l}}
			},
			want: []string{"listener_filters[1].typed_config: typed config \"type.googleapis.com/inzone.NotLinked\" does not unpack"},
		},
		{
			name: "empty Any",
			out: func() *Output {
				l := listener(InboundListener)
				l.ListenerFilters[0].ConfigType = &listenerv3.ListenerFilter_TypedConfig{TypedConfig: &anypb.Any{}}
				return &Output{Listeners: []*listenerv3.Listener{l}}
			},
			want: []string{"listener_filters[0].typed_config: typed config \"\" does not unpack"},
		},
		{
			name: "HCM bytes that do not parse",
			out: func() *Output {
				l := listener(OutboundListener)
				a, _ := hcmOf(l)
				a.Value = []byte{0xff, 0xff, 0xff}
				return &Output{Listeners: []*listenerv3.Listener{l}}
			},
			want: []string{"filter_chains[0].filters[0].typed_config: typed config", "does not unpack"},
		},
		{
			name: "a tcp_proxy in an Any in an Any",
			out: func() *Output {
				l := listener(InboundListener)
				l.DefaultFilterChain.Filters[0].ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(mustAny(&tcpproxyv3.TcpProxy{}))}
				return &Output{Listeners: []*listenerv3.Listener{l}}
			},
			want: []string{"default_filter_chain.filters[0].typed_config(google.protobuf.Any)" + tcpType + ":", "StatPrefix"},
		},
		{
			name: "cluster protocol options out of range",
			out: func() *Output {
				c := tr.calleeCluster("orders.service.prod.ddsd:80")
				a := c.GetTypedExtensionProtocolOptions()[httpProtocolOptionsKey]
				o := unpacked(t, a, &upstreamhttpv3.HttpProtocolOptions{})
				o.GetUseDownstreamProtocolConfig().Http2ProtocolOptions = &corev3.Http2ProtocolOptions{MaxConcurrentStreams: wrapperspb.UInt32(0)}
				repack(t, a, o)
				return &Output{Clusters: []*clusterv3.Cluster{c}}
			},
			want: []string{"cluster orders.service.prod.ddsd:80: typed_extension_protocol_options[" + httpProtocolOptionsKey + "](" + httpProtocolOptionsKey + "):", "MaxConcurrentStreams"},
		},
		{
			name: "API listener route without domains",
			out: func() *Output {
				l := newParts(6).newAPIListenerBuilder().listener("orders.service.prod.ddsd:80", "orders.service.prod.ddsd:80")
				a := l.GetApiListener().GetApiListener()
				hcm := unpacked(t, a, &hcmv3.HttpConnectionManager{})
				hcm.GetRouteConfig().GetVirtualHosts()[0].Domains = nil
				repack(t, a, hcm)
				return &Output{APIListeners: []*listenerv3.Listener{l}}
			},
			want: []string{"listener orders.service.prod.ddsd:80: api_listener.api_listener" + hcmType + ":", "Domains"},
		},
		{
			name: "per-route filter config in a route table",
			out: func() *Output {
				rc := tr.outboundRoutes(newCalleeSet(), 15001)
				rc.VirtualHosts[0].TypedPerFilterConfig = map[string]*anypb.Any{
					"envoy.filters.http.router": mustAny(&routerv3.Router{StrictCheckHeaders: []string{"bad"}}),
				}
				return &Output{Routes: []*routev3.RouteConfiguration{rc}}
			},
			want: []string{"route inzone-outbound: virtual_hosts[0].typed_per_filter_config[envoy.filters.http.router]" + routerType + ":", "StrictCheckHeaders"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.out().Validate()
			if err == nil {
				t.Fatal("Validate passed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestValidateBoundsItsError: a mistake repeated in every resource, or in
// every Any of one, is reported a bounded number of times and counted.
func TestValidateBoundsItsError(t *testing.T) {
	broken := func(name string, filters int) *listenerv3.Listener {
		l := &listenerv3.Listener{Name: name, Address: socketAddress("0.0.0.0", 1)}
		for range filters {
			l.ListenerFilters = append(l.ListenerFilters, &listenerv3.ListenerFilter{
				Name:       "f",
				ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: &anypb.Any{TypeUrl: "type.googleapis.com/inzone.NotLinked"}},
			})
		}
		return l
	}
	out := &Output{}
	for i := range 50 {
		out.Listeners = append(out.Listeners, broken("l"+strings.Repeat("x", i), 1))
	}
	err := out.Validate()
	if err == nil || !strings.Contains(err.Error(), "and 40 more resources fail") || strings.Count(err.Error(), "does not unpack") != maxReported {
		t.Errorf("50 broken listeners: %v", err)
	}
	err = (&Output{Listeners: []*listenerv3.Listener{broken("one", 30)}}).Validate()
	if err == nil || !strings.Contains(err.Error(), "and 20 more errors") || strings.Count(err.Error(), "does not unpack") != maxReported {
		t.Errorf("one listener with 30 broken filters: %v", err)
	}
}
