// Package simulate models Envoy's zone-aware load balancing: for callers
// (the local cluster, one Envoy per caller host) and callees (the upstream
// cluster's healthy hosts) spread over zones, where does each caller zone's
// traffic go, and how much of it crosses zones compared with plain round
// robin.
//
// The model follows ZoneAwareLoadBalancerBase in Envoy's
// source/extensions/load_balancing_policies/common/load_balancer_impl.cc
// (formerly source/common/upstream/load_balancer_impl.cc):
// earlyExitNonLocalityRouting, regenerateLocalityRoutingStructures,
// calculateLocalityPercentages, tryChooseLocalLocalityHosts and
// hostSourceToUse. It assumes every host is healthy, no panic mode, a single
// priority, equal host weights, and that zones with zero hosts are absent
// (Envoy builds its per-locality host lists from the hosts it has).
package simulate

import (
	"errors"
	"fmt"
	"sort"
)

// Zones maps a zone name to a host count.
type Zones map[string]int

// Options are the zone_aware_lb_config knobs.
type Options struct {
	// MinClusterSize is zone_aware_lb_config.min_cluster_size: zone routing
	// is off when the upstream has fewer healthy hosts. 0 means Envoy's
	// default, 6.
	MinClusterSize int
	// RoutingEnabled is zone_aware_lb_config.routing_enabled, the percentage
	// (1-100) of requests that get zone-aware routing; the others are
	// balanced over all healthy upstream hosts. 0 means Envoy's default, 100.
	RoutingEnabled int
}

// Defaults of Options' fields, as in Envoy.
const (
	DefaultMinClusterSize = 6
	DefaultRoutingEnabled = 100
)

// Mode is the locality routing state Envoy latches for a caller zone.
type Mode string

// The modes. ModeAllDirect is Envoy's LocalityDirect, ModeResidual its
// LocalityResidual, ModeNoCapacityLeft LocalityResidual when no other
// locality has residual capacity (stat lb_zone_no_capacity_left), and
// ModeDisabled NoLocalityRouting.
const (
	ModeAllDirect      Mode = "all-direct"
	ModeResidual       Mode = "residual"
	ModeNoCapacityLeft Mode = "no-capacity-left"
	ModeDisabled       Mode = "disabled"
)

// Route is where one caller zone's requests go.
type Route struct {
	CallerZone string
	Mode       Mode
	// Reason says why zone routing is disabled, or qualifies the mode.
	Reason string
	// To maps a callee zone to the fraction of the caller zone's requests
	// sent there; the fractions sum to 1.
	To map[string]float64
	// CrossZone is the fraction of the requests leaving CallerZone.
	CrossZone float64
}

// Plan is the routing of every caller zone.
type Plan struct {
	// Routes has one entry per zone with callers, sorted by zone.
	Routes []Route
	// CrossZone is the fraction of all requests that cross zones, each caller
	// host sending the same request rate.
	CrossZone float64
	// RoundRobinCrossZone is the same with plain round robin over all callee
	// hosts.
	RoundRobinCrossZone float64
}

// bp is 100% in Envoy's locality percentages: basis points.
const bp = 10000

// ZoneAware computes the zone-aware routing of every caller zone (see
// RouteFor) and the cross-zone fractions with and without it. It is an
// error for a count to be negative or for either side to have no hosts.
func ZoneAware(callers, callees Zones, opts Options) (Plan, error) {
	if err := check(callers, callees, &opts); err != nil {
		return Plan{}, err
	}
	totalCallers, totalCallees := sum(callers), sum(callees)
	var plan Plan
	for _, z := range sortedZones(callers) {
		r := routeFor(z, callers, callees, opts)
		plan.Routes = append(plan.Routes, r)
		w := float64(callers[z]) / float64(totalCallers)
		plan.CrossZone += w * r.CrossZone
		plan.RoundRobinCrossZone += w * (1 - float64(callees[z])/float64(totalCallees))
	}
	return plan, nil
}

// RouteFor is the routing of requests from an Envoy in callerZone, which
// need not have callers (Envoy then disables zone routing: its local
// cluster does not know about it).
//
// Following Envoy, zone routing is disabled (NoLocalityRouting: requests go
// to all healthy upstream hosts, so to each zone in proportion to its
// hosts) when earlyExitNonLocalityRouting holds:
//   - the upstream has fewer than 2 localities;
//   - the local cluster has fewer than 2 localities;
//   - the local cluster has no hosts in callerZone (lb_local_cluster_not_ok);
//   - the upstream has fewer than MinClusterSize healthy hosts
//     (lb_zone_cluster_too_small).
//
// Otherwise regenerateLocalityRoutingStructures computes, for each upstream
// locality i, in integer basis points (calculateLocalityPercentages):
//
//	local_percentage[i]    = 10000 * callers[i] / total callers
//	upstream_percentage[i] = 10000 * callees[i] / total callees
//
// where the local total counts every caller zone, including zones without
// callees. With the caller's zone as locality 0:
//   - if upstream_percentage[0] > 0 and >= local_percentage[0]: all-direct,
//     every request stays in the zone (LocalityDirect);
//   - otherwise residual (LocalityResidual): local_percent_to_route =
//     upstream_percentage[0] * 10000 / local_percentage[0] basis points stay
//     local (0 when the zone has no callees), and the rest is spread over
//     the other localities in proportion to residual_capacity[i] =
//     upstream_percentage[i] - local_percentage[i] where positive;
//   - if no locality has residual capacity (which only integer rounding
//     allows), tryChooseLocalLocalityHosts picks `random() %
//     number_of_localities`: the cross-zone share is spread evenly over all
//     upstream localities, the local one included (no-capacity-left).
//
// hostSourceToUse applies zone routing to RoutingEnabled percent of the
// requests (featureEnabled("upstream.zone_routing.enabled")); the rest go
// to all healthy hosts, and To blends the two.
func RouteFor(callerZone string, callers, callees Zones, opts Options) (Route, error) {
	if err := check(callers, callees, &opts); err != nil {
		return Route{}, err
	}
	return routeFor(callerZone, callers, callees, opts), nil
}

func routeFor(z string, callers, callees Zones, opts Options) Route {
	totalCallers, totalCallees := sum(callers), sum(callees)
	plain := map[string]float64{}
	for c, n := range callees {
		if n > 0 {
			plain[c] = float64(n) / float64(totalCallees)
		}
	}
	disabled := func(reason string) Route {
		return finish(Route{CallerZone: z, Mode: ModeDisabled, Reason: reason, To: plain})
	}
	switch {
	case count(callees) < 2:
		return disabled(fmt.Sprintf("callees are in %d zone(s): zone routing needs at least 2", count(callees)))
	case count(callers) < 2:
		return disabled(fmt.Sprintf("callers are in %d zone(s): zone routing needs at least 2", count(callers)))
	case callers[z] <= 0:
		return disabled(fmt.Sprintf("no callers in zone %s: the local cluster does not cover this Envoy's zone", z))
	case totalCallees < opts.MinClusterSize:
		return disabled(fmt.Sprintf("%d callee hosts, fewer than min_cluster_size %d", totalCallees, opts.MinClusterSize))
	}

	localPct := func(zone string) int { return bp * callers[zone] / totalCallers }
	upPct := func(zone string) int { return bp * callees[zone] / totalCallees }

	zone := map[string]float64{}
	r := Route{CallerZone: z}
	if up0, loc0 := upPct(z), localPct(z); up0 > 0 && up0 >= loc0 {
		r.Mode = ModeAllDirect
		zone[z] = 1
	} else {
		r.Mode = ModeResidual
		keep := up0 * bp / loc0 // loc0 > 0: callers[z] > 0
		if keep > 0 {
			zone[z] = float64(keep) / bp
		}
		cross := float64(bp-keep) / bp
		residual, total := map[string]int{}, 0
		for c, n := range callees {
			if c == z || n <= 0 {
				continue
			}
			if u, l := upPct(c), localPct(c); u > l {
				residual[c] = u - l
				total += u - l
			}
		}
		if total == 0 {
			r.Mode = ModeNoCapacityLeft
			r.Reason = "no other zone has residual capacity: the cross-zone share is spread evenly over all callee zones"
			n := float64(count(callees))
			for c, k := range callees {
				if k > 0 {
					zone[c] += cross / n
				}
			}
		} else {
			for c, res := range residual {
				zone[c] += cross * float64(res) / float64(total)
			}
		}
	}
	if opts.RoutingEnabled < 100 {
		p := float64(opts.RoutingEnabled) / 100
		blend := map[string]float64{}
		for c, f := range zone {
			blend[c] += p * f
		}
		for c, f := range plain {
			blend[c] += (1 - p) * f
		}
		zone = blend
		if r.Reason != "" {
			r.Reason += "; "
		}
		r.Reason += fmt.Sprintf("routing_enabled %d%%: the other requests go to all callee hosts", opts.RoutingEnabled)
	}
	r.To = zone
	return finish(r)
}

// finish drops zero fractions and sets CrossZone.
func finish(r Route) Route {
	to := map[string]float64{}
	local := 0.0
	for c, f := range r.To {
		if f > 0 {
			to[c] = f
		}
		if c == r.CallerZone {
			local = f
		}
	}
	r.To = to
	r.CrossZone = 1 - local
	if r.CrossZone < 0 {
		r.CrossZone = 0
	}
	return r
}

func check(callers, callees Zones, opts *Options) error {
	for _, side := range []struct {
		name  string
		zones Zones
	}{{"callers", callers}, {"callees", callees}} {
		for z, n := range side.zones {
			if n < 0 {
				return fmt.Errorf("%s: zone %q has a negative host count %d", side.name, z, n)
			}
		}
		if sum(side.zones) == 0 {
			return fmt.Errorf("%s: no hosts", side.name)
		}
	}
	switch {
	case opts.MinClusterSize < 0:
		return errors.New("min cluster size is negative")
	case opts.MinClusterSize == 0:
		opts.MinClusterSize = DefaultMinClusterSize
	}
	switch {
	case opts.RoutingEnabled < 0 || opts.RoutingEnabled > 100:
		return fmt.Errorf("routing enabled %d%%: want 0-100", opts.RoutingEnabled)
	case opts.RoutingEnabled == 0:
		opts.RoutingEnabled = DefaultRoutingEnabled
	}
	return nil
}

func sum(zs Zones) int {
	t := 0
	for _, n := range zs {
		t += n
	}
	return t
}

// count is the number of zones with hosts.
func count(zs Zones) int {
	k := 0
	for _, n := range zs {
		if n > 0 {
			k++
		}
	}
	return k
}

// sortedZones are the zones with hosts, sorted.
func sortedZones(zs Zones) []string {
	var out []string
	for z, n := range zs {
		if n > 0 {
			out = append(out, z)
		}
	}
	sort.Strings(out)
	return out
}
