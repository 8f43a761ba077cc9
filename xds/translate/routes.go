package translate

import (
	"slices"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

// outboundRoutes is the outbound listener's route table: a virtual host per
// DDSD name and port, matched on :authority/Host. "<name>:<port>" picks that
// port; the bare "<name>" (a request to the default HTTP port) picks port 80
// when the Service has it, else its lowest port. Any other authority goes to
// its original destination, or, asked by an explicit-proxy client, to the
// host it names (unservedRoutes). ExplicitProxyHeader never leaves the
// proxy.
func (t *Translator) outboundRoutes(callees *calleeSet, outboundPort uint32) *routev3.RouteConfiguration {
	rc := &routev3.RouteConfiguration{Name: OutboundRoute, RequestHeadersToRemove: []string{ExplicitProxyHeader}}
	callees.eachPort(func(name, cluster string, isDefault bool) {
		domains := []string{cluster}
		if isDefault {
			domains = append(domains, name)
		}
		rc.VirtualHosts = append(rc.VirtualHosts, &routev3.VirtualHost{
			Name:    cluster,
			Domains: domains,
			Routes:  t.parts.clusterRoutes(cluster),
		})
	})
	rc.VirtualHosts = append(rc.VirtualHosts, &routev3.VirtualHost{
		Name:    PassthroughCluster,
		Domains: []string{"*"},
		Routes:  t.parts.unservedRoutes(outboundPort),
	})
	return rc
}

// defaultPort is the port the bare DDSD name means: 80 when the Service
// has it, else its lowest port (ports are sorted).
// eachPort calls fn for every DDSD name and port served, in order, with the
// port's cluster and whether it is the name's default port, the one a bare
// name means (see defaultPort): the sidecars' routes and the proxyless
// clients' listeners name the same targets.
func (c *calleeSet) eachPort(fn func(name, cluster string, isDefault bool)) {
	for _, name := range c.sortedNames() {
		ports := c.sortedPorts(name)
		if len(ports) == 0 {
			continue
		}
		def := defaultPort(ports)
		for _, p := range ports {
			fn(name, ClusterName(name, p), p == def)
		}
	}
}

func defaultPort(ports []int32) int32 {
	if slices.Contains(ports, defaultHTTPPort) {
		return defaultHTTPPort
	}
	return ports[0]
}

// clusterRoutes: CONNECT (an explicit-proxy client's tunnel) is terminated
// here and its bytes sent to the cluster; every other request is proxied.
// Only the actions are the cluster's own: the matches are shared parts.
func (p *parts) clusterRoutes(cluster string) []*routev3.Route {
	return []*routev3.Route{
		{Match: p.connectMatch, Action: p.routeTo(cluster, p.connectUpgrade)},
		{Match: p.prefixMatch, Action: p.routeTo(cluster, nil)},
	}
}

// routeTo has no timeout: gRPC streams and long polls last as the app wants.
func (p *parts) routeTo(cluster string, upgrades []*routev3.RouteAction_UpgradeConfig) *routev3.Route_Route {
	return &routev3.Route_Route{Route: &routev3.RouteAction{
		ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster},
		Timeout:          p.noTimeout,
		UpgradeConfigs:   upgrades,
	}}
}
