package placement

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/simulate"
	"github.com/inzone-io/inzone/test/envtest"
)

// EnvPlacementOut names the file TestCrossZone writes its results to, as
// a JSON list of Result.
const EnvPlacementOut = "INZONE_PLACEMENT_OUT"

// The zones of every layout.
const (
	zoneA = "us-east-1a"
	zoneB = "us-east-1b"
	zoneC = "us-east-1c"
)

// scenario places callers and callees on a layout.
type scenario struct {
	name             string
	layout           layout
	callers, callees int32
}

var scenarios = []scenario{
	{
		// 4, 2 and 1 nodes with room to spare: the scheduler's default
		// spreading follows the nodes.
		name:    "nodes-4-2-1",
		layout:  layout{zones: []zoneNodes{{zoneA, 4, 0}, {zoneB, 2, 0}, {zoneC, 1, 0}}},
		callers: 9, callees: 6,
	},
	{
		// Counts that no split makes proportional.
		name:    "nodes-4-2-1-uneven",
		layout:  layout{zones: []zoneNodes{{zoneA, 4, 0}, {zoneB, 2, 0}, {zoneC, 1, 0}}},
		callers: 10, callees: 7,
	},
	{
		// Zone c holds 3 pods: less than an even share of either Deployment.
		name:    "zone-short",
		layout:  layout{zones: []zoneNodes{{zoneA, 2, 0}, {zoneB, 2, 0}, {zoneC, 1, 3}}},
		callers: 9, callees: 6,
	},
	{
		// Zone c's two nodes hold 6 pods: room for an even share of the
		// callers, placed first; then they fill up with callees.
		name:    "zone-fills",
		layout:  layout{zones: []zoneNodes{{zoneA, 2, 8}, {zoneB, 2, 8}, {zoneC, 2, 3}}},
		callers: 12, callees: 12,
	},
}

// sides are one Deployment's ready, bound pods per zone, with inzone and
// without.
type sides struct {
	With    simulate.Zones `json:"with"`
	Without simulate.Zones `json:"without"`
}

// fractions are the predicted cross-zone fractions of a scenario.
type fractions struct {
	// With and Without are Envoy's zone-aware routing (simulate.ZoneAware)
	// over the placement with inzone and without.
	With    float64 `json:"with"`
	Without float64 `json:"without"`
	// RoundRobin is plain round robin over the placement without inzone:
	// what the cluster does with neither inzone's placement nor its
	// routing.
	RoundRobin float64 `json:"round_robin"`
	// Limit is the lowest any spread placement of the same replicas over
	// the same zones reaches, given capacity (simulate.BestPlacement).
	Limit float64 `json:"limit"`
}

// Result is one scenario, as INZONE_PLACEMENT_OUT writes it.
type Result struct {
	Scenario       string    `json:"scenario"`
	Callers        sides     `json:"callers"`
	Callees        sides     `json:"callees"`
	MinClusterSize int       `json:"min_cluster_size"`
	CrossZone      fractions `json:"cross_zone"`
}

// placement is what one run of a scenario placed.
type placement struct {
	cluster          *cluster
	callers, callees simulate.Zones
}

// place runs the scenario on a cluster of its own, with inzone or without:
// the caller Deployment first, then, once its pods are placed, the callee
// Deployment and Service (one order for every run, so zones fill up the
// same way); it waits for every pod to be bound and Ready, counts the
// callers from their pods and the callees from what inzone-xds (x) serves
// for the callee cluster, and checks that the EndpointSlices and the pods
// count the same.
func place(t *testing.T, x *envtest.XDS, sc scenario, on bool) placement {
	t.Helper()
	mode := map[bool]string{true: "with", false: "without"}[on]
	c := createCluster(t, sc.layout, sc.name+"-"+mode)
	ns := namespace(t, on)
	create(t, c.deployment(ns, "caller", sc.callers))
	callers := c.waitPlaced(t, ns, "caller", int(sc.callers), "")
	// The Service's name makes its DDSD name, hence its cluster, the run's
	// own.
	svc := sc.name + "-" + mode
	served := watchEDS(t, x.Addr, calleeCluster(svc))
	create(t, service(ns, svc, "callee"), c.deployment(ns, "callee", sc.callees))
	calleePods := c.waitPlaced(t, ns, "callee", int(sc.callees), "")
	sliced := waitEndpoints(t, ns, svc, int(sc.callees))
	if !sameCounts(sliced, calleePods.zones) {
		t.Errorf("%s inzone: EndpointSlices count callees %v, their pods %v", mode, sliced, calleePods.zones)
	}
	callees := served.waitHealthy(t, int(sc.callees))
	if !sameCounts(callees, sliced) {
		t.Errorf("%s inzone: inzone-xds serves callees %v, the EndpointSlices count %v", mode, callees, sliced)
	}
	for _, p := range append(callers.pods, calleePods.pods...) {
		checkZoneLabel(t, c, p, on)
	}
	return placement{cluster: c, callers: callers.zones, callees: callees}
}

// checkZoneLabel: the API server copied the node's zone onto the bound pod
// (PodTopologyLabels), so the zone env var inzone adds to each container,
// a field reference to that label, resolves to the node's zone.
func checkZoneLabel(t *testing.T, c *cluster, p corev1.Pod, on bool) {
	t.Helper()
	want := c.nodeZone[p.Spec.NodeName]
	if got := p.Labels[corev1.LabelTopologyZone]; got != want {
		t.Errorf("pod %s on %s: label %s=%q, want the node's zone %q", p.Name, p.Spec.NodeName, corev1.LabelTopologyZone, got, want)
	}
	if !on {
		return
	}
	for _, ct := range p.Spec.Containers {
		if ct.Name != "app" {
			continue
		}
		found := false
		for _, e := range ct.Env {
			if e.Name != mutate.DefaultZoneEnvName {
				continue
			}
			found = true
			ref := e.ValueFrom
			if ref == nil || ref.FieldRef == nil || ref.FieldRef.FieldPath != "metadata.labels['"+corev1.LabelTopologyZone+"']" {
				t.Errorf("pod %s: %s is %+v, want a field reference to the zone label", p.Name, e.Name, e)
			}
		}
		if !found {
			t.Errorf("pod %s: container app has no %s", p.Name, mutate.DefaultZoneEnvName)
		}
	}
}

func sameCounts(a, b simulate.Zones) bool {
	for z, n := range a {
		if b[z] != n {
			return false
		}
	}
	for z, n := range b {
		if a[z] != n {
			return false
		}
	}
	return true
}

// TestCrossZone places each scenario's callers and callees with inzone and
// without, takes the callees per zone from what inzone-xds serves, checks inzone's spread within maxSkew 1 wherever capacity
// allows, and predicts the cross-zone fraction each placement leaves,
// beside round robin and the limit of the best spread placement.
func TestCrossZone(t *testing.T) {
	opts := simulate.Options{MinClusterSize: simulate.DefaultMinClusterSize}
	x := envtest.For(t).StartXDS(t, testConfig())
	var results []Result
	rows := []string{
		"| scenario | layout (nodes per zone, xpods per node) | callers | callees | callers with / without inzone | callees with / without inzone | skew with / without | cross-zone with | without | round robin | limit |",
		"|---|---|---|---|---|---|---|---|---|---|---|",
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			with, without := place(t, x, sc, true), place(t, x, sc, false)
			c := with.cluster
			c.checkSpread(t, "callers with inzone", with.callers, 1)
			c.checkSpread(t, "callees with inzone", with.callees, 1)

			pw, err := simulate.ZoneAware(with.callers, with.callees, opts)
			if err != nil {
				t.Fatal(err)
			}
			pwo, err := simulate.ZoneAware(without.callers, without.callees, opts)
			if err != nil {
				t.Fatal(err)
			}
			best, err := simulate.BestPlacement(int(sc.callers), int(sc.callees), sc.layout.capacity(), 1, opts)
			if err != nil {
				t.Fatal(err)
			}
			// inzone's placement is one of the spread placements the limit
			// searched, so it cannot beat it; it reaches it when its split
			// is as good as the best.
			if pw.CrossZone < best.CrossZone-1e-9 {
				t.Errorf("with inzone %v crosses zones less than the limit %v (best split %v / %v)", pw.CrossZone, best.CrossZone, best.Callers, best.Callees)
			}
			r := Result{
				Scenario:       sc.name,
				Callers:        sides{With: with.callers, Without: without.callers},
				Callees:        sides{With: with.callees, Without: without.callees},
				MinClusterSize: opts.MinClusterSize,
				CrossZone: fractions{
					With: round(pw.CrossZone), Without: round(pwo.CrossZone),
					RoundRobin: round(pwo.RoundRobinCrossZone), Limit: round(best.CrossZone),
				},
			}
			results = append(results, r)
			skewW := max(c.skew(with.callers), c.skew(with.callees))
			skewWO := max(without.cluster.skew(without.callers), without.cluster.skew(without.callees))
			rows = append(rows, fmt.Sprintf("| %s | %s | %d | %d | %s / %s | %s / %s | %d / %d | %s | %s | %s | %s |",
				sc.name, sc.layout, sc.callers, sc.callees,
				c.formatZones(with.callers), c.formatZones(without.callers),
				c.formatZones(with.callees), c.formatZones(without.callees),
				skewW, skewWO, pct(pw.CrossZone), pct(pwo.CrossZone), pct(pwo.RoundRobinCrossZone), pct(best.CrossZone)))
			t.Logf("limit: callers %v, callees %v", best.Callers, best.Callees)
		})
	}
	t.Logf("placement table:\n%s", strings.Join(rows, "\n"))
	if out := os.Getenv(EnvPlacementOut); out != "" {
		data, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
			t.Fatalf("%s: %v", EnvPlacementOut, err)
		}
	}
}

// round keeps 6 decimals, enough to recompute, short to read.
func round(f float64) float64 { return math.Round(f*1e6) / 1e6 }

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }
