package simulatecmd

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/inzone-io/inzone/cmd/internal/cli"
	"github.com/inzone-io/inzone/cmd/internal/cli/clitest"
	"github.com/inzone-io/inzone/simulate"
)

// runSimulate runs `inzone simulate args...` as the binary does.
func runSimulate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return clitest.Run(t, NewCommand, "", append([]string{"simulate"}, args...)...)
}

func TestSimulateTable(t *testing.T) {
	code, out, errs := runSimulate(t, "--callers", "a=4,b=4,c=2", "--callees", "a=3,b=3,c=3")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := `ZONE  CALLERS  MODE        LOCAL    TO a    TO b    TO c
a     4        residual    83.32%   83.32%  0.00%   16.68%
b     4        residual    83.32%   0.00%   83.32%  16.68%
c     2        all-direct  100.00%  0.00%   0.00%   100.00%

cross-zone, zone-aware:   13.34%
cross-zone, round robin:  66.67%
difference:               -53.32 points
`
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
}

func TestSimulateDisabledReason(t *testing.T) {
	code, out, errs := runSimulate(t, "--callers", "a=1,b=1", "--callees", "a=2,b=2")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "a: 4 callee hosts, fewer than min_cluster_size 6") {
		t.Errorf("no reason in:\n%s", out)
	}
	code, out, _ = runSimulate(t, "--callers", "a=1,b=1", "--callees", "a=2,b=2", "--min-cluster-size", "4")
	if code != cli.ExitOK || !strings.Contains(out, "all-direct") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestSimulateJSON(t *testing.T) {
	code, out, errs := runSimulate(t, "--callers", "a=4,b=4,c=2", "--callees", "a=3,b=3,c=3", "-o", "json")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Routes []struct {
			CallerZone string             `json:"callerZone"`
			Mode       string             `json:"mode"`
			Reason     string             `json:"reason"`
			To         map[string]float64 `json:"to"`
			CrossZone  float64            `json:"crossZone"`
		} `json:"routes"`
		CrossZone           float64 `json:"crossZone"`
		RoundRobinCrossZone float64 `json:"roundRobinCrossZone"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	plan, err := simulate.ZoneAware(simulate.Zones{"a": 4, "b": 4, "c": 2}, simulate.Zones{"a": 3, "b": 3, "c": 3}, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Routes) != len(plan.Routes) {
		t.Fatalf("routes: %s", out)
	}
	for i, r := range plan.Routes {
		got := doc.Routes[i]
		if got.CallerZone != r.CallerZone || got.Mode != string(r.Mode) || got.Reason != r.Reason || got.CrossZone != r.CrossZone || len(got.To) != len(r.To) {
			t.Errorf("route %d: %+v, want %+v", i, got, r)
		}
		for z, f := range r.To {
			if got.To[z] != f {
				t.Errorf("route %s to %s: %v, want %v", r.CallerZone, z, got.To[z], f)
			}
		}
	}
	if doc.CrossZone != plan.CrossZone || doc.RoundRobinCrossZone != plan.RoundRobinCrossZone {
		t.Errorf("totals %v %v, want %v %v", doc.CrossZone, doc.RoundRobinCrossZone, plan.CrossZone, plan.RoundRobinCrossZone)
	}
	if math.Abs(doc.CrossZone-0.13344) > 1e-9 {
		t.Errorf("cross-zone %v", doc.CrossZone)
	}
}

func TestSimulateBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--callers", "a=x,b=1", "--callees", "a=3"}, "--callers"},
		{[]string{"--callers", "a=1", "--callees", "a3"}, "--callees"},
		{[]string{"--callers", "a=1,b=-2", "--callees", "a=3"}, "--callers"},
		{[]string{"--callers", "a=1,a=2", "--callees", "a=3"}, "--callers"},
		{[]string{"--callees", "a=3"}, "--callers"},
		{[]string{"--callers", "a=1", "--callees", "a=0,b=0"}, "--callees"},
		{[]string{"--callers", "a=1", "--callees", "a=3", "-o", "yaml"}, "--output"},
		{[]string{"--callers", "a=1", "--callees", "a=3", "--min-cluster-size", "0"}, "--min-cluster-size"},
		{[]string{"--callers", "a=1", "--callees", "a=3", "--routing-enabled", "0"}, "--routing-enabled"},
	} {
		code, _, errs := runSimulate(t, tc.args...)
		if code != cli.ExitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", tc.args, code, errs, tc.want)
		}
	}
}
