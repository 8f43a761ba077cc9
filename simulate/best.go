package simulate

import (
	"errors"
	"fmt"
	"sort"
)

// Bounds on BestPlacement's input and search.
const (
	// MaxPlacements is the most (callers, callees) splits it evaluates.
	MaxPlacements = 1_000_000
	// MaxReplicas is the most callers, or callees, it places.
	MaxReplicas = 100_000
)

// Placement is one split of callers and callees over zones.
type Placement struct {
	Callers, Callees Zones
	// CrossZone is ZoneAware's cross-zone fraction for the split.
	CrossZone float64
}

// BestPlacement is the split of callers and callees over the zones of
// capacity with the lowest zone-aware cross-zone fraction, among the
// splits a zone topology spread constraint of maxSkew accepts: within each
// Deployment, no zone holds more than maxSkew pods above another unless
// that other zone is full. capacity maps each zone to the pods it can hold,
// callers and callees together.
//
// The spread requirement is what makes the limit meaningful: without it,
// putting every pod in one zone sends nothing across zones (Envoy
// disables zone routing and all callees are local) but gives up the
// availability the spread is there for.
//
// The search is exhaustive, so the result is exact; ties go to the split
// with the most pods in the first zones by name. It is an error for the
// pods not to fit, for an input to be negative, or for the search to exceed
// MaxPlacements splits.
func BestPlacement(callers, callees int, capacity Zones, maxSkew int, opts Options) (Placement, error) {
	switch {
	case callers <= 0 || callees <= 0 || callers > MaxReplicas || callees > MaxReplicas:
		return Placement{}, fmt.Errorf("callers %d, callees %d: want both in 1-%d", callers, callees, MaxReplicas)
	case maxSkew < 1:
		return Placement{}, fmt.Errorf("max skew %d: want >= 1", maxSkew)
	}
	zones := make([]string, 0, len(capacity))
	total := 0
	for z, c := range capacity {
		if c < 0 {
			return Placement{}, fmt.Errorf("capacity: zone %q holds %d pods", z, c)
		}
		zones = append(zones, z)
	}
	sort.Strings(zones)
	// Room beyond every pod changes nothing; capping it keeps the sum from
	// overflowing.
	caps := make([]int, len(zones))
	for i, z := range zones {
		caps[i] = min(capacity[z], callers+callees)
		total += caps[i]
	}
	if total < callers+callees {
		return Placement{}, fmt.Errorf("%d callers and %d callees do not fit in a capacity of %d pods", callers, callees, total)
	}

	var (
		best      Placement
		found     bool
		evaluated int
		errLimit  = fmt.Errorf("more than %d splits to evaluate", MaxPlacements)
	)
	callerSplit := make([]int, len(zones))
	calleeSplit := make([]int, len(zones))
	evaluate := func() error {
		if evaluated++; evaluated > MaxPlacements {
			return errLimit
		}
		if !spread(callerSplit, calleeSplit, caps, maxSkew) || !spread(calleeSplit, callerSplit, caps, maxSkew) {
			return nil
		}
		cr, ce := toZones(zones, callerSplit), toZones(zones, calleeSplit)
		p, err := ZoneAware(cr, ce, opts)
		if err != nil {
			return err
		}
		if !found || p.CrossZone < best.CrossZone-1e-12 {
			best, found = Placement{Callers: cr, Callees: ce, CrossZone: p.CrossZone}, true
		}
		return nil
	}
	err := splits(callerSplit, 0, callers, func(i int) int { return caps[i] }, func() error {
		return splits(calleeSplit, 0, callees, func(i int) int { return caps[i] - callerSplit[i] }, evaluate)
	})
	if err != nil {
		return Placement{}, err
	}
	if !found {
		return Placement{}, errors.New("no split satisfies the spread constraint") // unreachable: an even fill always does
	}
	return best, nil
}

// splits calls visit for every way to put n pods into out[i:], at most
// room(j) in out[j], the most in out[i] first.
func splits(out []int, i, n int, room func(int) int, visit func() error) error {
	if i == len(out)-1 {
		if n > room(i) {
			return nil
		}
		out[i] = n
		return visit()
	}
	for k := min(n, room(i)); k >= 0; k-- {
		out[i] = k
		if err := splits(out, i+1, n-k, room, visit); err != nil {
			return err
		}
	}
	return nil
}

// spread reports whether counts keep within maxSkew, except toward zones
// that are full (counts plus other reach the capacity).
func spread(counts, other, caps []int, maxSkew int) bool {
	for i := range counts {
		for j := range counts {
			if counts[i]-counts[j] > maxSkew && counts[j]+other[j] < caps[j] {
				return false
			}
		}
	}
	return true
}

func toZones(names []string, counts []int) Zones {
	z := Zones{}
	for i, n := range counts {
		if n > 0 {
			z[names[i]] = n
		}
	}
	return z
}
