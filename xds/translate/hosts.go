package translate

import (
	"cmp"
	"net/netip"
	"slices"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	corev1 "k8s.io/api/core/v1"
)

// locality is where an endpoint runs: Envoy's Locality region and zone.
type locality struct{ region, zone string }

// hostKey identifies an endpoint of a cluster.
type hostKey struct {
	addr netip.Addr
	port uint32
}

// hostSet is one cluster's endpoints. An endpoint listed twice (two slices
// during a controller's update) is kept once, healthy over draining.
type hostSet map[hostKey]host

type host struct {
	loc      locality
	draining bool
}

// byLocality groups the hosts' keys by locality, the localities sorted
// (region, then zone); the keys of each are in no order.
func (s hostSet) byLocality() (map[locality][]hostKey, []locality) {
	byLoc := map[locality][]hostKey{}
	for k, h := range s {
		byLoc[h.loc] = append(byLoc[h.loc], k)
	}
	locs := make([]locality, 0, len(byLoc))
	for l := range byLoc {
		locs = append(locs, l)
	}
	slices.SortFunc(locs, compareLocality)
	return byLoc, locs
}

// compareLocality orders localities by region, then zone.
func compareLocality(a, b locality) int {
	return cmp.Or(cmp.Compare(a.region, b.region), cmp.Compare(a.zone, b.zone))
}

func (s hostSet) add(k hostKey, h host) {
	if old, ok := s[k]; ok && !old.draining {
		return
	}
	s[k] = h
}

// loadAssignment is the EDS resource of one cluster: one LocalityLbEndpoints
// per zone, localities and endpoints sorted so the bytes are deterministic.
func loadAssignment(name string, hosts hostSet) *endpointv3.ClusterLoadAssignment {
	byLoc, locs := hosts.byLocality()
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: name}
	for _, l := range locs {
		keys := byLoc[l]
		slices.SortFunc(keys, func(a, b hostKey) int {
			return cmp.Or(a.addr.Compare(b.addr), cmp.Compare(a.port, b.port))
		})
		lle := &endpointv3.LocalityLbEndpoints{
			Locality:    &corev3.Locality{Region: l.region, Zone: l.zone},
			LbEndpoints: make([]*endpointv3.LbEndpoint, 0, len(keys)),
			// Proxyless gRPC ignores a locality without a weight; as many
			// as its endpoints spreads its calls evenly over all of them.
			// Envoy ignores locality weights here: the clusters have no
			// locality_weighted_lb_config, which zone-aware routing needs
			// absent.
			LoadBalancingWeight: wrapperspb.UInt32(uint32(len(keys))),
		}
		for _, k := range keys {
			status := corev3.HealthStatus_HEALTHY
			if hosts[k].draining {
				status = corev3.HealthStatus_DRAINING
			}
			lle.LbEndpoints = append(lle.LbEndpoints, &endpointv3.LbEndpoint{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
					Address: socketAddress(k.addr.String(), k.port),
				}},
				HealthStatus: status,
			})
		}
		cla.Endpoints = append(cla.Endpoints, lle)
	}
	return cla
}

func socketAddress(ip string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       ip,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

// nodeLocality fills what an endpoint does not say from its node's labels.
func nodeLocality(zone string, node *corev1.Node, zoneLabel string) locality {
	l := locality{zone: zone}
	if node != nil {
		if l.zone == "" {
			l.zone = node.Labels[zoneLabel]
		}
		l.region = node.Labels[corev1.LabelTopologyRegion]
	}
	return l
}

// addrSet collects the addresses DNS answers for a name.
type addrSet map[netip.Addr]struct{}

func (s addrSet) sorted() []netip.Addr {
	out := make([]netip.Addr, 0, len(s))
	for a := range s {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}
