package translate

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/inzone-io/inzone/mutate"
)

// selectChain picks the filter chain Envoy would give a connection whose
// (restored) destination is dst and whose protocol http_inspector reports
// as proto ("" for not HTTP), following Envoy's documented order: the
// chains of the exact destination port, else those without one; among
// them the most specific destination prefix (none is 0.0.0.0/0 and ::/0);
// among those, the chains naming proto, else those naming no protocol.
// When a level has no candidate, Envoy does not go back to a less
// specific one: the default chain serves the connection.
func selectChain(t *testing.T, l *listenerv3.Listener, dst netip.AddrPort, proto string) *listenerv3.FilterChain {
	t.Helper()
	chains := l.GetFilterChains()
	var byPort []*listenerv3.FilterChain
	for _, c := range chains {
		if p := c.GetFilterChainMatch().GetDestinationPort(); p != nil && p.GetValue() == uint32(dst.Port()) {
			byPort = append(byPort, c)
		}
	}
	if len(byPort) == 0 {
		for _, c := range chains {
			if c.GetFilterChainMatch().GetDestinationPort() == nil {
				byPort = append(byPort, c)
			}
		}
	}
	best, byIP := -1, []*listenerv3.FilterChain(nil)
	for _, c := range byPort {
		length := -1
		ranges := c.GetFilterChainMatch().GetPrefixRanges()
		if len(ranges) == 0 {
			length = 0
		}
		for _, r := range ranges {
			p, err := netip.ParsePrefix(r.GetAddressPrefix() + "/" + strconv.Itoa(int(r.GetPrefixLen().GetValue())))
			if err != nil {
				t.Fatalf("chain %s: prefix %v: %v", c.GetName(), r, err)
			}
			if p.Contains(dst.Addr()) && p.Bits() > length {
				length = p.Bits()
			}
		}
		switch {
		case length > best:
			best, byIP = length, []*listenerv3.FilterChain{c}
		case length == best && length >= 0:
			byIP = append(byIP, c)
		}
	}
	var named, unnamed []*listenerv3.FilterChain
	for _, c := range byIP {
		protos := c.GetFilterChainMatch().GetApplicationProtocols()
		switch {
		case len(protos) == 0:
			unnamed = append(unnamed, c)
		case proto != "" && slices.Contains(protos, proto):
			named = append(named, c)
		}
	}
	switch {
	case len(named) > 1 || len(named) == 0 && len(unnamed) > 1:
		t.Fatalf("%v %q: more than one chain matches: Envoy rejects such a listener", dst, proto)
	case len(named) == 1:
		return named[0]
	case len(unnamed) == 1:
		return unnamed[0]
	}
	return l.GetDefaultFilterChain()
}

// chainTarget is where a chain sends a connection: the tcp_proxy's cluster,
// or "hcm" for the HTTP connection manager.
func chainTarget(t *testing.T, c *listenerv3.FilterChain) string {
	t.Helper()
	fs := c.GetFilters()
	if len(fs) != 1 {
		t.Fatalf("chain %s: %d filters", c.GetName(), len(fs))
	}
	switch fs[0].GetName() {
	case "envoy.filters.network.http_connection_manager":
		return "hcm"
	case "envoy.filters.network.tcp_proxy":
		tp := &tcpproxyv3.TcpProxy{}
		if err := fs[0].GetTypedConfig().UnmarshalTo(tp); err != nil {
			t.Fatal(err)
		}
		return tp.GetCluster()
	}
	t.Fatalf("chain %s: filter %s", c.GetName(), fs[0].GetName())
	return ""
}

// TestListenersNeverLoop: a connection whose destination is a listener's
// own port was not redirected by capture, so passing it through would send
// it straight back; it must be dropped, except HTTP to loopback on the
// outbound port (an explicit-proxy client); everything else keeps its way.
func TestListenersNeverLoop(t *testing.T) {
	tr := testTranslator(t)
	out := tr.Translate(Input{})
	ls := map[string]*listenerv3.Listener{}
	for _, l := range out.Listeners {
		ls[l.GetName()] = l
	}
	for _, tc := range []struct {
		listener string
		dst      string
		proto    string
		want     string
	}{
		{OutboundListener, "10.1.0.7:15001", "", BlackholeCluster},
		{OutboundListener, "10.1.0.7:15001", "http/1.1", BlackholeCluster},
		{OutboundListener, "[fd00::7]:15001", "h2c", BlackholeCluster},
		{OutboundListener, "127.0.0.1:15001", "http/1.1", "hcm"},
		{OutboundListener, "127.0.0.1:15001", "h2c", "hcm"},
		{OutboundListener, "[::1]:15001", "http/1.1", "hcm"},
		{OutboundListener, "127.0.0.1:15001", "", BlackholeCluster},
		{OutboundListener, "[::1]:15001", "", BlackholeCluster},
		{OutboundListener, "10.1.0.7:8080", "http/1.1", "hcm"},
		{OutboundListener, "[fd00::7]:9090", "h2c", "hcm"},
		{OutboundListener, "10.1.0.7:5432", "", PassthroughCluster},
		{OutboundListener, "[fd00::7]:5432", "", PassthroughCluster},
		{OutboundListener, "127.0.0.1:8080", "http/1.1", "hcm"},
		{InboundListener, "10.1.0.7:15006", "", BlackholeCluster},
		{InboundListener, "[fd00::7]:15006", "http/1.1", BlackholeCluster},
		{InboundListener, "10.1.0.7:8080", "", InboundCluster},
		{InboundListener, "[fd00::7]:8080", "", InboundCluster},
	} {
		t.Run(tc.listener+"/"+tc.dst+"/"+tc.proto, func(t *testing.T) {
			c := selectChain(t, ls[tc.listener], netip.MustParseAddrPort(tc.dst), tc.proto)
			if got := chainTarget(t, c); got != tc.want {
				t.Errorf("chain %q sends it to %s, want %s", c.GetName(), got, tc.want)
			}
		})
	}
	i := slices.IndexFunc(out.Clusters, func(c *clusterv3.Cluster) bool { return c.GetName() == BlackholeCluster })
	if i < 0 || out.Clusters[i].GetLoadAssignment() != nil || out.Clusters[i].GetType() != clusterv3.Cluster_STATIC {
		t.Errorf("no STATIC blackhole cluster without endpoints in %v", out.Clusters)
	}
}

// TestListenersBindIPv6: the listeners add :: when the platform gives the
// cluster IPv6 (a node's pod CIDR, an injected pod's address, ready or
// not), and only then: an EndpointSlice anyone can write changes nothing.
func TestListenersBindIPv6(t *testing.T) {
	tr := testTranslator(t)
	pod := func(ips ...string) *corev1.Pod {
		p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: mutate.SidecarName}}}}
		for _, ip := range ips {
			p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
		}
		return p
	}
	plainPod := func(ip string) *corev1.Pod {
		p := pod(ip)
		p.Spec.Containers = p.Spec.Containers[:1]
		return p
	}
	node := func(cidrs ...string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{PodCIDRs: cidrs}}
	}
	slice := func(at discoveryv1.AddressType) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{AddressType: at}
	}
	// A tenant's hand-made slice: IPv6, no endpoints, served by nothing.
	hostile := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "tenant",
		Labels: map[string]string{discoveryv1.LabelServiceName: "x"}}, AddressType: discoveryv1.AddressTypeIPv6}
	for _, tc := range []struct {
		name string
		src  Source
		want bool
	}{
		{"empty", Source{}, false},
		{"IPv4 slice, node and pod", Source{EndpointSlices: []*discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv4)}, Nodes: []*corev1.Node{node("10.0.0.0/24")}, Pods: []*corev1.Pod{pod("10.0.0.1")}}, false},
		{"FQDN slice", Source{EndpointSlices: []*discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeFQDN)}}, false},
		{"hand-made IPv6 slice", Source{EndpointSlices: []*discoveryv1.EndpointSlice{hostile}, Nodes: []*corev1.Node{node("10.0.0.0/24")}, Pods: []*corev1.Pod{pod("10.0.0.1")}}, false},
		{"IPv6 slice of IPv4 nodes", Source{EndpointSlices: []*discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv6)}, Nodes: []*corev1.Node{node("10.0.0.0/24"), node()}}, false},
		{"IPv4-mapped pod address", Source{Pods: []*corev1.Pod{pod("::ffff:10.0.0.1")}}, false},
		{"IPv4-mapped node CIDR", Source{Nodes: []*corev1.Node{node("::ffff:10.0.0.0/120")}}, false},
		{"pod address not an IP", Source{Pods: []*corev1.Pod{pod("fd00::1;rm -rf /"), pod("")}}, false},
		{"node CIDR not a CIDR", Source{Nodes: []*corev1.Node{node("fd00::/64\n- x", "fd00::1", "", strings.Repeat(":", 1<<16))}}, false},
		{"IPv6 pod without a sidecar", Source{Pods: []*corev1.Pod{plainPod("fd00::1")}}, false},
		{"dual-stack node", Source{Nodes: []*corev1.Node{node("10.0.0.0/24"), node("10.0.1.0/24", "fd00:1::/64")}}, true},
		{"IPv6-only node", Source{Nodes: []*corev1.Node{node("fd00:1::/64")}}, true},
		{"dual-stack pod", Source{Pods: []*corev1.Pod{pod("10.0.0.1", "fd00::1")}}, true},
		{"IPv6-only pod", Source{Pods: []*corev1.Pod{pod("fd00::1")}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.src.Local = true
			checkIPv6Bound(t, tr.Translate(Input{Sources: []Source{tc.src}}), tc.want)
		})
	}
}

// TestListenersIPv6FromLocalCluster: only the cluster the sidecars run in
// decides whether they bind ::; another cluster's dual-stack nodes and pods
// do not make an IPv4-only cluster's sidecars bind it, and without a local
// cluster they bind IPv4 only.
func TestListenersIPv6FromLocalCluster(t *testing.T) {
	tr := testTranslator(t)
	dual := func(name string, local bool) Source {
		return Source{Name: name, Local: local,
			Nodes: []*corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{PodCIDRs: []string{"10.0.0.0/24", "fd00:1::/64"}}}},
			Pods: []*corev1.Pod{{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: mutate.SidecarName}}},
				Status: corev1.PodStatus{PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00:1::1"}}}}}}
	}
	ipv4 := func(name string, local bool) Source {
		return Source{Name: name, Local: local,
			Nodes: []*corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{PodCIDRs: []string{"10.1.0.0/24"}}}},
			Pods: []*corev1.Pod{{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: mutate.SidecarName}}},
				Status: corev1.PodStatus{PodIPs: []corev1.PodIP{{IP: "10.1.0.1"}}}}}}
	}
	for _, tc := range []struct {
		name    string
		sources []Source
		want    bool
	}{
		{"IPv4 local, dual-stack remote", []Source{ipv4("local", true), dual("remote", false)}, false},
		{"dual-stack remote listed first, IPv4 local", []Source{dual("remote", false), ipv4("local", true)}, false},
		{"dual-stack local, IPv4 remote", []Source{dual("local", true), ipv4("remote", false)}, true},
		{"IPv4 remote listed first, dual-stack local", []Source{ipv4("remote", false), dual("local", true)}, true},
		{"no local cluster, dual-stack remotes", []Source{dual("r1", false), dual("r2", false)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkIPv6Bound(t, tr.Translate(Input{Sources: tc.sources}), tc.want)
		})
	}
}

// checkIPv6Bound checks that every listener binds 0.0.0.0, and :: beside
// it (same port, IPv6 only) exactly when want.
func checkIPv6Bound(t *testing.T, out *Output, want bool) {
	t.Helper()
	if len(out.Listeners) == 0 {
		t.Fatal("no listeners")
	}
	for _, l := range out.Listeners {
		if a := l.GetAddress().GetSocketAddress().GetAddress(); a != "0.0.0.0" {
			t.Errorf("%s binds %s, want 0.0.0.0", l.GetName(), a)
		}
		var got []string
		for _, a := range l.GetAdditionalAddresses() {
			sa := a.GetAddress().GetSocketAddress()
			got = append(got, sa.GetAddress())
			if sa.GetPortValue() != l.GetAddress().GetSocketAddress().GetPortValue() || sa.GetIpv4Compat() {
				t.Errorf("%s: additional address %v: want the same port, IPv6 only", l.GetName(), sa)
			}
		}
		if (len(got) == 1 && got[0] == "::") != want || len(got) > 1 {
			t.Errorf("%s: additional addresses %v, want :: %v", l.GetName(), got, want)
		}
	}
}
