package translate

import (
	"cmp"
	"slices"
)

// Bounds on what one Service puts into every full-view sidecar: each
// Service port is a cluster and a virtual host there, each of its
// endpoints a host of that cluster, so a single tenant's Service would
// otherwise multiply ports x endpoints into every proxy's memory.
const (
	// MaxServicePorts is how many TCP ports of one Service are served, the
	// lowest by number. A request to a port cut off still works: it goes
	// to its original destination (passthrough), without zone-aware
	// routing. Kubernetes itself allows at most 100 ports per EndpointSlice.
	MaxServicePorts = 64
	// MaxEndpointsPerPort is how many endpoints one Service port serves in
	// one Kubernetes cluster: 10 full EndpointSlices, a Service larger than
	// almost any real one. Each zone keeps its share, so the cut does not
	// skew Envoy's zone-aware routing.
	MaxEndpointsPerPort = 10000
	// MaxDNSAddrsPerService is how many addresses DNS holds for one Service
	// in one Kubernetes cluster, the lowest: every endpoint of a dual-stack
	// Service at MaxEndpointsPerPort. (The DNS server answers far fewer per
	// query.)
	MaxDNSAddrsPerService = 2 * MaxEndpointsPerPort
)

// capHosts keeps at most limit of hosts and returns how many it cut. Each
// locality keeps its share of limit (largest remainder; ties to the first
// locality), healthy endpoints first, then by address: the same hosts are
// kept whatever order they were added in.
func capHosts(hosts hostSet, limit int) (hostSet, int) {
	if len(hosts) <= limit {
		return hosts, 0
	}
	byLoc, locs := hosts.byLocality()
	total := len(hosts)
	quota := make([]int, len(locs))
	given := 0
	for i, l := range locs {
		quota[i] = len(byLoc[l]) * limit / total
		given += quota[i]
	}
	// Hand the rest out by largest remainder: deterministic, and no
	// locality gets more than it has (its remainder is below one host).
	order := make([]int, len(locs))
	for i := range order {
		order[i] = i
	}
	rem := func(i int) int { return len(byLoc[locs[i]]) * limit % total }
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem(b), rem(a)) })
	for _, i := range order[:limit-given] {
		quota[i]++
	}
	kept := make(hostSet, limit)
	for i, l := range locs {
		keys := byLoc[l]
		slices.SortFunc(keys, func(a, b hostKey) int {
			return cmp.Or(compareBool(hosts[a].draining, hosts[b].draining), a.addr.Compare(b.addr), cmp.Compare(a.port, b.port))
		})
		for _, k := range keys[:quota[i]] {
			kept[k] = hosts[k]
		}
	}
	return kept, total - limit
}

// capAddrs keeps the lowest limit addresses and returns how many it cut.
func capAddrs(addrs addrSet, limit int) (addrSet, int) {
	if len(addrs) <= limit {
		return addrs, 0
	}
	sorted := addrs.sorted()
	kept := make(addrSet, limit)
	for _, a := range sorted[:limit] {
		kept[a] = struct{}{}
	}
	return kept, len(sorted) - limit
}

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
