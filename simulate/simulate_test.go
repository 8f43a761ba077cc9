package simulate

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

const eps = 1e-9

func near(a, b float64) bool { return math.Abs(a-b) <= eps }

func wantRoute(t *testing.T, r Route, mode Mode, to map[string]float64) {
	t.Helper()
	if r.Mode != mode {
		t.Errorf("%s: mode %s, want %s (%s)", r.CallerZone, r.Mode, mode, r.Reason)
	}
	for z, f := range to {
		if !near(r.To[z], f) {
			t.Errorf("%s: to %s = %v, want %v", r.CallerZone, z, r.To[z], f)
		}
	}
	for z, f := range r.To {
		if _, ok := to[z]; !ok {
			t.Errorf("%s: unexpected %v to %s", r.CallerZone, f, z)
		}
	}
	if want := 1 - to[r.CallerZone]; !near(r.CrossZone, want) {
		t.Errorf("%s: cross-zone %v, want %v", r.CallerZone, r.CrossZone, want)
	}
}

func route(t *testing.T, zone string, callers, callees Zones, opts Options) Route {
	t.Helper()
	r, err := RouteFor(zone, callers, callees, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func plan(t *testing.T, callers, callees Zones, opts Options) Plan {
	t.Helper()
	p, err := ZoneAware(callers, callees, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEnvoyResidualComment is the example in the comment above the residual
// computation in regenerateLocalityRoutingStructures: local 40% 40% 20%,
// upstream 25% 50% 25%, residual capacity 0, 10%, 5%. With callers 4/4/2
// and callees 2/4/2: local_percent_to_route = 2500*10000/4000 = 6250, and
// the other 37.5% splits 10:5 between b and c: 25% and 12.5%.
func TestEnvoyResidualComment(t *testing.T) {
	r := route(t, "a", Zones{"a": 4, "b": 4, "c": 2}, Zones{"a": 2, "b": 4, "c": 2}, Options{})
	wantRoute(t, r, ModeResidual, map[string]float64{"a": 0.625, "b": 0.25, "c": 0.125})
}

// TestEnvoyLocalityWithoutUpstreamHosts reproduces Envoy's zone-aware test
// whose comment table ends "Totals: 6L, 8U | 54.18% | 25%" (a local zone B
// with callers but no callees): callers A=2 B=2 C=1 D=1, callees A=1 C=3
// D=3 E=1, min_cluster_size 6. local A = 10000*2/6 = 3333, upstream A =
// 10000*1/8 = 1250, local_percent_to_route = 1250*10000/3333 = 3750 (the
// test's "37.5% (3/8)", random 3749 local, 3750 cross). Residuals: C =
// 3750-1666 = 2084, D = 2084, E = 1250-0 = 1250, total 5418 (the test's
// buckets 0-2083, 2084-4167, 4168-5417).
func TestEnvoyLocalityWithoutUpstreamHosts(t *testing.T) {
	r := route(t, "A", Zones{"A": 2, "B": 2, "C": 1, "D": 1}, Zones{"A": 1, "C": 3, "D": 3, "E": 1}, Options{MinClusterSize: 6})
	wantRoute(t, r, ModeResidual, map[string]float64{
		"A": 0.375,
		"C": 0.625 * 2084 / 5418,
		"D": 0.625 * 2084 / 5418,
		"E": 0.625 * 1250 / 5418,
	})
}

// TestEnvoyDifferentZoneSize reproduces Envoy's ZoneAwareDifferentZoneSize:
// callers A=1 B=1 (local B), callees A=1 B=1 C=1, min_cluster_size 3. Local
// B = 5000, upstream B = 3333, local_percent_to_route = 3333*10000/5000 =
// 6666 (random 6665 local, 6666 cross); only C has residual capacity
// (3333-0).
func TestEnvoyDifferentZoneSize(t *testing.T) {
	r := route(t, "B", Zones{"A": 1, "B": 1}, Zones{"A": 1, "B": 1, "C": 1}, Options{MinClusterSize: 3})
	wantRoute(t, r, ModeResidual, map[string]float64{"B": 0.6666, "C": 0.3334})
}

// TestEnvoySmallZone reproduces Envoy's ZoneAwareRoutingSmallZone: callers
// 1/1/1, callees A=1 B=2 C=2, min_cluster_size 5. Local A = 3333, upstream
// A = 2000, local_percent_to_route = 2000*10000/3333 = 6000; residuals B
// and C = 4000-3333 = 667 each.
func TestEnvoySmallZone(t *testing.T) {
	r := route(t, "A", Zones{"A": 1, "B": 1, "C": 1}, Zones{"A": 1, "B": 2, "C": 2}, Options{MinClusterSize: 5})
	wantRoute(t, r, ModeResidual, map[string]float64{"A": 0.6, "B": 0.2, "C": 0.2})
}

func TestBalanced(t *testing.T) {
	p := plan(t, Zones{"a": 3, "b": 3, "c": 3}, Zones{"a": 3, "b": 3, "c": 3}, Options{})
	for _, r := range p.Routes {
		wantRoute(t, r, ModeAllDirect, map[string]float64{r.CallerZone: 1})
	}
	if p.CrossZone != 0 || !near(p.RoundRobinCrossZone, 2.0/3) {
		t.Errorf("cross-zone %v, round robin %v", p.CrossZone, p.RoundRobinCrossZone)
	}
}

// TestUnbalancedCallers: callers 4/4/2 (local 4000/4000/2000 bp), callees
// 3/3/3 (3333 bp each).
//   - a: 3333 < 4000, residual; keep 3333*10000/4000 = 8332 bp; residual
//     b = 3333-4000 < 0 → none, c = 3333-2000 = 1333: 16.68% to c.
//   - b: the same, 83.32% kept, 16.68% to c.
//   - c: 3333 >= 2000, all direct.
//
// Cross-zone: (4*0.1668 + 4*0.1668 + 2*0)/10 = 0.13344; round robin: each
// caller keeps 3/9, so 2/3 cross.
func TestUnbalancedCallers(t *testing.T) {
	p := plan(t, Zones{"a": 4, "b": 4, "c": 2}, Zones{"a": 3, "b": 3, "c": 3}, Options{})
	if len(p.Routes) != 3 {
		t.Fatalf("routes: %+v", p.Routes)
	}
	wantRoute(t, p.Routes[0], ModeResidual, map[string]float64{"a": 0.8332, "c": 0.1668})
	wantRoute(t, p.Routes[1], ModeResidual, map[string]float64{"b": 0.8332, "c": 0.1668})
	wantRoute(t, p.Routes[2], ModeAllDirect, map[string]float64{"c": 1})
	if !near(p.CrossZone, 0.13344) || !near(p.RoundRobinCrossZone, 2.0/3) {
		t.Errorf("cross-zone %v, round robin %v", p.CrossZone, p.RoundRobinCrossZone)
	}
}

func TestDisabled(t *testing.T) {
	rr := map[string]float64{"a": 0.4, "b": 0.4, "c": 0.2}
	for _, tc := range []struct {
		name             string
		zone             string
		callers, callees Zones
		opts             Options
		want             map[string]float64
		reason           string
	}{
		{"too small", "a", Zones{"a": 1, "b": 1}, Zones{"a": 2, "b": 2, "c": 1}, Options{}, rr, "fewer than min_cluster_size 6"},
		{"one callee zone", "a", Zones{"a": 1, "b": 1}, Zones{"a": 9}, Options{}, map[string]float64{"a": 1}, "callees are in 1 zone"},
		{"one caller zone", "a", Zones{"a": 5}, Zones{"a": 4, "b": 4, "c": 2}, Options{}, rr, "callers are in 1 zone"},
		{"no callers in zone", "c", Zones{"a": 1, "b": 1}, Zones{"a": 4, "b": 4, "c": 2}, Options{}, rr, "no callers in zone c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := route(t, tc.zone, tc.callers, tc.callees, tc.opts)
			wantRoute(t, r, ModeDisabled, tc.want)
			if !strings.Contains(r.Reason, tc.reason) {
				t.Errorf("reason %q, want %q", r.Reason, tc.reason)
			}
		})
	}
}

// TestLocalZoneWithoutCallees: Envoy keeps zone routing (LocalityResidual
// with local_percent_to_route 0) and spreads everything by residual
// capacity. callers a=2 b=1 c=1 (5000/2500/2500), callees b=3 c=3
// (5000/5000): residuals b = c = 2500, half each. Round robin would do the
// same here; the caller in b is all-direct.
func TestLocalZoneWithoutCallees(t *testing.T) {
	p := plan(t, Zones{"a": 2, "b": 1, "c": 1}, Zones{"b": 3, "c": 3}, Options{})
	wantRoute(t, p.Routes[0], ModeResidual, map[string]float64{"b": 0.5, "c": 0.5})
	wantRoute(t, p.Routes[1], ModeAllDirect, map[string]float64{"b": 1})
	if !near(p.CrossZone, 0.5) || !near(p.RoundRobinCrossZone, 0.75) {
		t.Errorf("cross-zone %v, round robin %v", p.CrossZone, p.RoundRobinCrossZone)
	}
	// Residual by capacity, not by host count: callees b=1 c=5 with callers
	// a=2 b=1 c=1: b 1666-2500 < 0, so everything goes to c.
	r := route(t, "a", Zones{"a": 2, "b": 1, "c": 1}, Zones{"b": 1, "c": 5}, Options{})
	wantRoute(t, r, ModeResidual, map[string]float64{"c": 1})
}

// TestNoCapacityLeft: only rounding leaves no residual capacity. Callers
// a=1 b=1 (5000/5000), callees a=2500 b=2501: upstream a = 25000000/5001 =
// 4999, b = 25010000/5001 = 5000. a keeps 4999*10000/5000 = 9998 bp; b has
// no residual (5000-5000), so the 2 bp left are spread evenly over a and b
// (random() % number_of_localities).
func TestNoCapacityLeft(t *testing.T) {
	r := route(t, "a", Zones{"a": 1, "b": 1}, Zones{"a": 2500, "b": 2501}, Options{})
	wantRoute(t, r, ModeNoCapacityLeft, map[string]float64{"a": 0.9999, "b": 0.0001})
}

// TestRoutingEnabled: half the requests get zone routing, the others round
// robin: a keeps 0.5*0.8332 + 0.5*1/3.
func TestRoutingEnabled(t *testing.T) {
	r := route(t, "a", Zones{"a": 4, "b": 4, "c": 2}, Zones{"a": 3, "b": 3, "c": 3}, Options{RoutingEnabled: 50})
	wantRoute(t, r, ModeResidual, map[string]float64{
		"a": 0.5*0.8332 + 0.5/3,
		"b": 0.5 / 3,
		"c": 0.5*0.1668 + 0.5/3,
	})
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name             string
		callers, callees Zones
		opts             Options
	}{
		{"negative caller", Zones{"a": -1, "b": 2}, Zones{"a": 3}, Options{}},
		{"negative callee", Zones{"a": 1}, Zones{"a": 3, "b": -3}, Options{}},
		{"no callers", Zones{"a": 0}, Zones{"a": 3}, Options{}},
		{"no callees", Zones{"a": 1}, nil, Options{}},
		{"negative min cluster size", Zones{"a": 1}, Zones{"a": 3}, Options{MinClusterSize: -1}},
		{"routing enabled > 100", Zones{"a": 1}, Zones{"a": 3}, Options{RoutingEnabled: 101}},
	} {
		if _, err := ZoneAware(tc.callers, tc.callees, tc.opts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func randomZones(rng *rand.Rand, names []string) Zones {
	zs := Zones{}
	for _, z := range names {
		zs[z] = rng.Intn(21)
	}
	return zs
}

// TestProperties checks invariants over random small inputs.
func TestProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	all := []string{"a", "b", "c", "d", "e"}
	for i := 0; i < 20000; i++ {
		names := all[:1+rng.Intn(len(all))]
		callers, callees := randomZones(rng, names), randomZones(rng, names)
		opts := Options{MinClusterSize: rng.Intn(8)}
		if rng.Intn(4) == 0 {
			opts.RoutingEnabled = 1 + rng.Intn(100)
		}
		p, err := ZoneAware(callers, callees, opts)
		if sum(callers) == 0 || sum(callees) == 0 {
			if err == nil {
				t.Fatalf("%v %v: no error", callers, callees)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		enabled := true
		for _, r := range p.Routes {
			total := 0.0
			for z, f := range r.To {
				if f < 0 || f > 1+eps || callees[z] <= 0 {
					t.Fatalf("%v %v %+v: %s gets %v", callers, callees, opts, z, f)
				}
				total += f
			}
			if !near(total, 1) || r.CrossZone < 0 || r.CrossZone > 1+eps {
				t.Fatalf("%v %v %+v: route %+v sums to %v", callers, callees, opts, r, total)
			}
			enabled = enabled && r.Mode != ModeDisabled
		}
		if p.CrossZone < 0 || p.CrossZone > 1+eps || p.RoundRobinCrossZone < 0 || p.RoundRobinCrossZone > 1+eps {
			t.Fatalf("%v %v: cross-zone %v, round robin %v", callers, callees, p.CrossZone, p.RoundRobinCrossZone)
		}
		if enabled && p.CrossZone > p.RoundRobinCrossZone+eps {
			t.Fatalf("%v %v %+v: zone-aware cross-zone %v > round robin %v", callers, callees, opts, p.CrossZone, p.RoundRobinCrossZone)
		}

		// Callers proportional to callees: every zone is all-direct.
		k := 1 + rng.Intn(3)
		prop := Zones{}
		for z, n := range callees {
			prop[z] = k * n
		}
		p, err = ZoneAware(prop, callees, Options{MinClusterSize: opts.MinClusterSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Routes {
			if r.Mode != ModeDisabled && (r.Mode != ModeAllDirect || r.CrossZone != 0) {
				t.Fatalf("%v %v: proportional callers get %+v", prop, callees, r)
			}
		}
		if p.Routes[0].Mode != ModeDisabled && p.CrossZone != 0 {
			t.Fatalf("%v %v: proportional callers cross zones: %v", prop, callees, p.CrossZone)
		}
	}
}
