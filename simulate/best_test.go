package simulate

import (
	"math"
	"math/rand"
	"sort"
	"strings"
	"testing"
)

func TestBestPlacement(t *testing.T) {
	plenty := Zones{"a": 100, "b": 100, "c": 100}
	tests := []struct {
		name             string
		callers, callees int
		capacity         Zones
		wantCross        float64
		wantCallers      Zones
		wantCallees      Zones
		minClusterSize   int
	}{
		{
			name: "counts that divide by the zones keep everything local", callers: 9, callees: 6, capacity: plenty,
			wantCross: 0, wantCallers: Zones{"a": 3, "b": 3, "c": 3}, wantCallees: Zones{"a": 2, "b": 2, "c": 2},
		},
		{
			// a: local 4285 bp, upstream 4000 bp: keeps 40000000/4285 = 9334
			// bp; c: local 2857, upstream 2000: keeps 7000 bp; b all direct.
			name: "7 callers and 5 callees cannot match, even spread evenly", callers: 7, callees: 5, capacity: plenty, minClusterSize: 5,
			wantCross:   3.0/7*(1-0.9334) + 2.0/7*(1-0.7),
			wantCallers: Zones{"a": 3, "b": 2, "c": 2}, wantCallees: Zones{"a": 2, "b": 2, "c": 1},
		},
		{
			// Envoy routes 5 callees round robin below min_cluster_size 6:
			// every split is 1 - sum(callers_z*callees_z)/35, lowest when the
			// 3 callers share a zone with 2 callees.
			name: "below min_cluster_size every split is round robin", callers: 7, callees: 5, capacity: plenty,
			wantCross:   1 - (3.0*2+2*2+2*1)/35,
			wantCallers: Zones{"a": 3, "b": 2, "c": 2}, wantCallees: Zones{"a": 2, "b": 2, "c": 1},
		},
		{
			name: "a single zone sends nothing across", callers: 4, callees: 7, capacity: Zones{"a": 20},
			wantCross: 0, wantCallers: Zones{"a": 4}, wantCallees: Zones{"a": 7},
		},
		{
			// c holds 2 pods: 1 caller and 1 callee; a and b split the rest
			// evenly, and c's caller keeps its traffic local.
			name: "a zone short of capacity holds what it can", callers: 7, callees: 7, capacity: Zones{"a": 50, "b": 50, "c": 2},
			wantCallers: Zones{"a": 3, "b": 3, "c": 1}, wantCallees: Zones{"a": 3, "b": 3, "c": 1}, wantCross: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{MinClusterSize: tt.minClusterSize}
			got, err := BestPlacement(tt.callers, tt.callees, tt.capacity, 1, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.CrossZone, tt.wantCross) {
				t.Errorf("cross-zone %v, want %v (callers %v, callees %v)", got.CrossZone, tt.wantCross, got.Callers, got.Callees)
			}
			if !sameZones(got.Callers, tt.wantCallers) || !sameZones(got.Callees, tt.wantCallees) {
				t.Errorf("split callers %v callees %v, want %v and %v", got.Callers, got.Callees, tt.wantCallers, tt.wantCallees)
			}
			p := plan(t, got.Callers, got.Callees, opts)
			if !near(p.CrossZone, got.CrossZone) {
				t.Errorf("CrossZone %v is not ZoneAware's %v for the split", got.CrossZone, p.CrossZone)
			}
		})
	}
}

func TestBestPlacementErrors(t *testing.T) {
	tests := []struct {
		name             string
		callers, callees int
		capacity         Zones
		maxSkew          int
		want             string
	}{
		{"pods that do not fit", 5, 5, Zones{"a": 4, "b": 4}, 1, "do not fit"},
		{"no callers", 0, 5, Zones{"a": 10}, 1, "want both in 1-"},
		{"more callees than the bound", 5, MaxReplicas + 1, Zones{"a": math.MaxInt}, 1, "want both in 1-"},
		{"a negative capacity", 1, 1, Zones{"a": -1, "b": 10}, 1, `zone "a" holds -1`},
		{"a skew of zero", 3, 3, Zones{"a": 10, "b": 10}, 0, "max skew 0"},
		{"capacities whose sum would overflow int still place the pods", 3, 3, Zones{"a": math.MaxInt, "b": math.MaxInt, "c": 0}, 1, ""},
		{"a search too large to finish", 400, 400, Zones{"a": 1000, "b": 1000, "c": 1000, "d": 1000}, 1, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BestPlacement(tt.callers, tt.callees, tt.capacity, tt.maxSkew, Options{})
			if tt.want == "" {
				if err != nil {
					t.Errorf("error %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestBestPlacementIsALowerBound draws random splits that satisfy the
// spread constraint and checks none beats BestPlacement.
func TestBestPlacementIsALowerBound(t *testing.T) {
	rng := rand.New(rand.NewSource(14))
	zones := []string{"a", "b", "c"}
	for range 40 {
		capacity := Zones{}
		for _, z := range zones {
			capacity[z] = 2 + rng.Intn(12)
		}
		total := capacity["a"] + capacity["b"] + capacity["c"]
		callers := 1 + rng.Intn(total/2)
		callees := 1 + rng.Intn(total-callers)
		best, err := BestPlacement(callers, callees, capacity, 1, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for range 300 {
			cr, ce := randomSplit(rng, zones, callers, capacity), Zones(nil)
			left := Zones{}
			for _, z := range zones {
				left[z] = capacity[z] - cr[z]
			}
			ce = randomSplit(rng, zones, callees, left)
			if ce == nil || cr == nil || !spreadZones(zones, cr, ce, capacity) || !spreadZones(zones, ce, cr, capacity) {
				continue
			}
			p := plan(t, cr, ce, Options{})
			if p.CrossZone < best.CrossZone-eps {
				t.Fatalf("capacity %v: callers %v callees %v cross %v beat the best %v (%v, %v)", capacity, cr, ce, p.CrossZone, best.CrossZone, best.Callers, best.Callees)
			}
		}
	}
}

// randomSplit puts n pods one by one into random zones with room; nil when
// they do not fit.
func randomSplit(rng *rand.Rand, zones []string, n int, room Zones) Zones {
	out := Zones{}
	for range n {
		var open []string
		for _, z := range zones {
			if out[z] < room[z] {
				open = append(open, z)
			}
		}
		if len(open) == 0 {
			return nil
		}
		out[open[rng.Intn(len(open))]]++
	}
	return out
}

func spreadZones(zones []string, counts, other, capacity Zones) bool {
	for _, i := range zones {
		for _, j := range zones {
			if counts[i]-counts[j] > 1 && counts[j]+other[j] < capacity[j] {
				return false
			}
		}
	}
	return true
}

func sameZones(a, b Zones) bool {
	keys := func(z Zones) []string {
		var k []string
		for n, c := range z {
			if c > 0 {
				k = append(k, n)
			}
		}
		sort.Strings(k)
		return k
	}
	if strings.Join(keys(a), ",") != strings.Join(keys(b), ",") {
		return false
	}
	for z, n := range a {
		if b[z] != n {
			return false
		}
	}
	return true
}
