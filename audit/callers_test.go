package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

func TestParseWorkloadRef(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{in: "deployment/frontend", want: "shop/Deployment/frontend"},
		{in: "deploy/frontend", want: "shop/Deployment/frontend"},
		{in: "StatefulSets/db", want: "shop/StatefulSet/db"},
		{in: "other/ds/agent", want: "other/DaemonSet/agent"},
		{in: "app/web", want: "shop/app/web"},
		{in: "po/web-0", want: "shop/Pod/web-0"},
		{in: "rc/legacy", want: "shop/ReplicationController/legacy"},
		{in: "Jobs/once", want: "shop/Job/once"},
		{in: "APP/web", want: "shop/app/web"},
		{in: "apps/web", err: "unknown kind"},
		{in: "deployment.apps/web", err: "unknown kind"},
		{in: "frontend", err: "want kind/name"},
		{in: "a/b/c/d", err: "want kind/name"},
		{in: "service/frontend", err: "unknown kind"},
		{in: "deployment/", err: "empty"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			ref, err := ParseWorkloadRef(tt.in, "shop")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || ref.String() != tt.want {
				t.Errorf("= %s, %v; want %s", ref, err, tt.want)
			}
		})
	}
}

func TestParseCallGraph(t *testing.T) {
	valid := `# edges
- from: deployment/frontend
  to: checkout
  requestsPerSecond: 100
  bytesPerSecond: 1e6
- from: pay/sts/worker
  to: shop/checkout
  bytesPerSecond: 2000
- namespace: ops
  from: app/cron
  to: api
  requestsPerSecond: 0.5
`
	edges, err := ParseCallGraph("g.yaml", []byte(valid), "shop")
	if err != nil {
		t.Fatal(err)
	}
	want := []Edge{
		{From: WorkloadRef{"shop", "Deployment", "frontend"}, To: "shop/checkout", RequestsPerSecond: 100, BytesPerSecond: 1e6, Line: 2},
		{From: WorkloadRef{"pay", "StatefulSet", "worker"}, To: "shop/checkout", BytesPerSecond: 2000, Line: 6},
		{From: WorkloadRef{"ops", "app", "cron"}, To: "ops/api", RequestsPerSecond: 0.5, Line: 9},
	}
	if len(edges) != len(want) {
		t.Fatalf("edges = %+v", edges)
	}
	for i := range want {
		if edges[i] != want[i] {
			t.Errorf("edge %d = %+v, want %+v", i, edges[i], want[i])
		}
	}
	jsonEdges, err := ParseCallGraph("g.json", []byte(`[{"from": "deployment/frontend", "to": "checkout", "requestsPerSecond": 3}]`), "shop")
	if err != nil || len(jsonEdges) != 1 || jsonEdges[0].RequestsPerSecond != 3 {
		t.Errorf("JSON: %+v, %v", jsonEdges, err)
	}

	for _, tt := range []struct {
		name  string
		data  string
		line  int
		field string
		msg   string
	}{
		{"not a list", "from: x\n", 1, "", "want a list"},
		{"empty", "", 0, "", "empty"},
		{"not YAML", "- from: [\n", 1, "", "not YAML"},
		{"an item that is not a map", "- 3\n", 1, "[0]", "want an edge"},
		{"an unknown field", "- from: deployment/a\n  to: b\n  rps: 3\n", 3, "[0].rps", "unknown field"},
		{"a missing from", "- to: b\n  requestsPerSecond: 1\n", 1, "[0].from", "required"},
		{"a bad kind", "- from: svc/a\n  to: b\n  requestsPerSecond: 1\n", 1, "[0].from", "unknown kind"},
		{"a missing to", "- from: deployment/a\n  requestsPerSecond: 1\n", 1, "[0].to", "required"},
		{"a bad Service name", "- from: deployment/a\n  to: B_x\n  requestsPerSecond: 1\n", 2, "[0].to", "not a Service name"},
		{"no rate", "- from: deployment/a\n  to: b\n", 1, "[0]", "needs requestsPerSecond"},
		{"a rate that is a string", "- from: deployment/a\n  to: b\n  requestsPerSecond: many\n", 3, "[0].requestsPerSecond", "want a number"},
		{"a quoted number", "- from: deployment/a\n  to: b\n  bytesPerSecond: \"5\"\n", 3, "[0].bytesPerSecond", "want a number"},
		{"a negative rate", "- from: deployment/a\n  to: b\n  requestsPerSecond: 1\n- from: deployment/a\n  to: c\n  bytesPerSecond: -1\n", 6, "[1].bytesPerSecond", "negative"},
		{"a field given twice", "- from: deployment/a\n  to: b\n  to: c\n  requestsPerSecond: 1\n", 3, "[0].to", "twice"},
		{"an infinite rate", "- from: deployment/a\n  to: b\n  bytesPerSecond: .inf\n", 3, "[0].bytesPerSecond", "finite"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCallGraph("graph.yaml", []byte(tt.data), "shop")
			var ce *CallGraphError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a CallGraphError", err)
			}
			if ce.File != "graph.yaml" || ce.Line != tt.line || ce.Field != tt.field || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("err = %#v, want line %d field %q msg ~%q", ce, tt.line, tt.field, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "graph.yaml") {
				t.Errorf("message %q does not start with the file", err)
			}
		})
	}
}

func TestMonthlyCost(t *testing.T) {
	for _, tt := range []struct {
		name                     string
		bytesPerSecond, frac, gb float64
		price, usd               float64
	}{
		// 1 MB/s for 30 days is 2,592 GB; a third crosses zones.
		{"a third of 1 MB/s", 1e6, 1.0 / 3, 864, 0.01, 17.28},
		{"all of 10 kB/s", 1e4, 1, 25.92, 0.02, 1.0368},
		{"nothing crosses", 1e9, 0, 0, 0.01, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if gb := CrossZoneGBPerMonth(tt.bytesPerSecond, tt.frac); !near(gb, tt.gb) {
				t.Errorf("GB = %v, want %v", gb, tt.gb)
			}
			if usd := MonthlyCost(tt.bytesPerSecond, tt.frac, tt.price); !near(usd, tt.usd) {
				t.Errorf("USD = %v, want %v", usd, tt.usd)
			}
		})
	}
}

// TestCallers: --from replaces each Service's callers, and call graph edges
// are predicted, costed and summed.
func TestCallers(t *testing.T) {
	pods := append(spread("shop", "skewed", []string{"a1", "a2", "a1", "a2", "b1", "c1"}, replicaSet("skewed-5d8f", "5d8f")),
		spread("shop", "balanced", []string{"a1", "b1", "c1"})...)
	for i := range pods[:6] {
		pods[i].Labels["app"] = "skewed" // the Deployment's pods keep their app label
	}
	in := Input{
		Nodes: threeZones(),
		Pods:  pods,
		Services: []corev1.Service{
			service("shop", "api", map[string]string{"app": "api"}),
			service("shop", "balanced", map[string]string{"app": "balanced"}),
		},
		EndpointSlices: []discoveryv1.EndpointSlice{
			sliceNamed(slice("shop", "api", "zone-a", "zone-a", "zone-b", "zone-b", "zone-c", "zone-c"), "api-1"),
			sliceNamed(slice("shop", "balanced", "zone-a", "zone-a", "zone-b", "zone-b", "zone-c", "zone-c"), "balanced-1"),
		},
	}
	t.Run("--from replaces the Service's own pods", func(t *testing.T) {
		rep, err := Audit(context.Background(), in, Options{From: &WorkloadRef{"shop", "Deployment", "skewed"}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Callers != "shop/Deployment/skewed" {
			t.Errorf("callers = %q", rep.Callers)
		}
		for _, s := range rep.Services {
			// 4/1/1 callers to 2/2/2 endpoints: a third crosses with
			// zone-aware routing, two thirds with round robin.
			if s.Callers["zone-a"] != 4 || !near(s.ZoneAwareCrossZone, 1.0/3) || !near(s.RoundRobinCrossZone, 2.0/3) {
				t.Errorf("%s: callers %v, zone-aware %v, round robin %v", s.Name, s.Callers, s.ZoneAwareCrossZone, s.RoundRobinCrossZone)
			}
		}
	})
	t.Run("--from a workload without pods is an error", func(t *testing.T) {
		_, err := Audit(context.Background(), in, Options{From: &WorkloadRef{"shop", "Deployment", "nope"}})
		if err == nil || !strings.Contains(err.Error(), "Deployment shop/nope") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("call graph edges with rates and cost", func(t *testing.T) {
		graph := []Edge{
			{From: WorkloadRef{"shop", "Deployment", "skewed"}, To: "shop/api", RequestsPerSecond: 300, BytesPerSecond: 1e6},
			{From: WorkloadRef{"shop", "app", "balanced"}, To: "shop/api", RequestsPerSecond: 100, BytesPerSecond: 3e6},
			{From: WorkloadRef{"shop", "app", "balanced"}, To: "shop/missing", RequestsPerSecond: 50},
			{From: WorkloadRef{"shop", "Deployment", "ghost"}, To: "shop/api", RequestsPerSecond: 50},
		}
		rep, err := Audit(context.Background(), in, Options{CallGraph: graph, PricePerGB: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string]EdgeTraffic{}
		for _, e := range rep.Edges {
			byKey[e.From+"->"+e.To] = e
		}
		for _, tt := range []struct {
			key          string
			za, rr       float64
			zaUSD, rrUSD float64
			skipped      string
		}{
			// 1 MB/s: a third crosses, 864 GB a month, 17.28 USD at
			// 2 x 0.01; round robin twice that.
			{key: "shop/Deployment/skewed->shop/api", za: 1.0 / 3, rr: 2.0 / 3, zaUSD: 17.28, rrUSD: 34.56},
			// balanced callers keep everything local; round robin sends
			// 2/3 of 3 MB/s across: 5,184 GB, 103.68 USD.
			{key: "shop/app/balanced->shop/api", za: 0, rr: 2.0 / 3, zaUSD: 0, rrUSD: 103.68},
			{key: "shop/app/balanced->shop/missing", skipped: "no Service shop/missing"},
			{key: "shop/Deployment/ghost->shop/api", skipped: "no pods of shop/Deployment/ghost"},
		} {
			e, ok := byKey[tt.key]
			if !ok {
				t.Errorf("no edge %s in %+v", tt.key, rep.Edges)
				continue
			}
			if tt.skipped != "" {
				if !strings.Contains(e.Skipped, tt.skipped) || e.Cost != nil {
					t.Errorf("%s: skipped %q cost %+v, want %q", tt.key, e.Skipped, e.Cost, tt.skipped)
				}
				continue
			}
			if e.Skipped != "" || e.Cost == nil {
				t.Fatalf("%s: skipped %q, cost %+v", tt.key, e.Skipped, e.Cost)
			}
			if !near(e.ZoneAwareCrossZone, tt.za) || !near(e.RoundRobinCrossZone, tt.rr) || !near(e.Saved, tt.rr-tt.za) {
				t.Errorf("%s: %v %v %v, want %v %v", tt.key, e.ZoneAwareCrossZone, e.RoundRobinCrossZone, e.Saved, tt.za, tt.rr)
			}
			if !near(e.Cost.ZoneAwareUSDPerMonth, tt.zaUSD) || !near(e.Cost.RoundRobinUSDPerMonth, tt.rrUSD) || !near(e.Cost.SavedUSDPerMonth, tt.rrUSD-tt.zaUSD) {
				t.Errorf("%s: cost %+v, want %v and %v", tt.key, *e.Cost, tt.zaUSD, tt.rrUSD)
			}
		}
		tot := rep.EdgeTotals
		// Weighted by requests: (300 x 1/3 + 100 x 0) / 400 = 1/4 with
		// zone-aware routing, 2/3 with round robin.
		if tot.Edges != 4 || tot.Skipped != 2 || tot.WeightedBy != "requests" || tot.RequestsPerSecond != 400 || tot.BytesPerSecond != 4e6 {
			t.Errorf("totals = %+v", tot)
		}
		if !near(tot.ZoneAwareCrossZone, 0.25) || !near(tot.RoundRobinCrossZone, 2.0/3) || !near(tot.Saved, 2.0/3-0.25) {
			t.Errorf("total fractions = %v %v %v", tot.ZoneAwareCrossZone, tot.RoundRobinCrossZone, tot.Saved)
		}
		if tot.Cost == nil || !near(tot.Cost.ZoneAwareUSDPerMonth, 17.28) || !near(tot.Cost.RoundRobinUSDPerMonth, 138.24) || !near(tot.Cost.SavedUSDPerMonth, 120.96) {
			t.Errorf("total cost = %+v", tot.Cost)
		}
		var buf bytes.Buffer
		if err := Write(&buf, "table", rep, ""); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"== CALL GRAPH", "$17.28", "$103.68", "$120.96", "TOTAL (2 of 4 edges, weighted by requests)", "(no Service shop/missing)"} {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("table lacks %q:\n%s", want, buf.String())
			}
		}
	})
	t.Run("without request rates the totals are weighted by bytes", func(t *testing.T) {
		graph := []Edge{
			{From: WorkloadRef{"shop", "Deployment", "skewed"}, To: "shop/api", BytesPerSecond: 1e6},
			{From: WorkloadRef{"shop", "app", "balanced"}, To: "shop/api", BytesPerSecond: 3e6},
		}
		rep, err := Audit(context.Background(), in, Options{CallGraph: graph, PricePerGB: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		// (1 x 1/3 + 3 x 0) / 4 = 1/12.
		if tot := rep.EdgeTotals; tot.WeightedBy != "bytes" || !near(tot.ZoneAwareCrossZone, 1.0/12) {
			t.Errorf("totals = %+v", tot)
		}
	})
}

func sliceNamed(s discoveryv1.EndpointSlice, name string) discoveryv1.EndpointSlice {
	s.Name = name
	return s
}

// TestServiceSelectors: a Service's own pods are those its whole selector
// matches in its namespace (the label index only narrows the search).
func TestServiceSelectors(t *testing.T) {
	label := func(k, v string) podOpt { return func(p *corev1.Pod) { p.Labels[k] = v } }
	pods := []corev1.Pod{
		pod("shop", "match-a", "a1", app("web"), label("tier", "front")),
		pod("shop", "match-b", "b1", app("web"), label("tier", "front")),
		pod("shop", "one-key-only", "c1", app("web"), label("tier", "back")),
		pod("shop", "other-app", "c1", app("api"), label("tier", "front")),
		pod("other", "other-namespace", "c1", app("web"), label("tier", "front")),
	}
	for _, tt := range []struct {
		name     string
		selector map[string]string
		want     map[string]int
	}{
		{"both keys must match", map[string]string{"app": "web", "tier": "front"}, map[string]int{"zone-a": 1, "zone-b": 1}},
		{"one key matches more pods", map[string]string{"app": "web"}, map[string]int{"zone-a": 1, "zone-b": 1, "zone-c": 1}},
		{"a value no pod has matches none", map[string]string{"app": "web", "tier": "db"}, map[string]int{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := run(t, Input{Nodes: threeZones(), Pods: pods, Services: []corev1.Service{service("shop", "svc", tt.selector)},
				EndpointSlices: []discoveryv1.EndpointSlice{slice("shop", "svc", "zone-a", "zone-b", "zone-c")}})
			if got := rep.Services[0].Callers; fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("callers = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCronJobPods: the pods of a CronJob's Jobs are one workload, the
// CronJob, and can be a caller; a Job without a CronJob stays a Job.
func TestCronJobPods(t *testing.T) {
	jobPod := func(name, job, node string) corev1.Pod {
		return pod("shop", name, node, func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: "Job", Name: job, Controller: ptr.To(true)}}
		})
	}
	in := Input{
		Nodes: threeZones(),
		Pods:  []corev1.Pod{jobPod("n1-x", "nightly-1", "a1"), jobPod("n2-x", "nightly-2", "b1"), jobPod("once-x", "once", "c1")},
		Workloads: []runtime.Object{
			&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nightly-1", OwnerReferences: []metav1.OwnerReference{{Kind: "CronJob", Name: "nightly", Controller: ptr.To(true)}}}},
			&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nightly-2", OwnerReferences: []metav1.OwnerReference{{Kind: "CronJob", Name: "nightly", Controller: ptr.To(true)}}}},
			&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "once"}},
		},
		Services:       []corev1.Service{service("shop", "api", map[string]string{"app": "api"})},
		EndpointSlices: []discoveryv1.EndpointSlice{slice("shop", "api", "zone-a", "zone-b", "zone-c")},
	}
	rep := run(t, in)
	var got []string
	for _, w := range rep.Workloads {
		got = append(got, fmt.Sprintf("%s/%s=%d", w.Kind, w.Name, w.Pods))
	}
	if want := "CronJob/nightly=2 Job/once=1"; strings.Join(got, " ") != want {
		t.Errorf("workloads = %v, want %s", got, want)
	}
	ref, err := ParseWorkloadRef("cj/nightly", "shop")
	if err != nil {
		t.Fatal(err)
	}
	rep, err = Audit(context.Background(), in, Options{From: &ref})
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Services[0].Callers; c["zone-a"] != 1 || c["zone-b"] != 1 || len(c) != 2 {
		t.Errorf("callers from the CronJob = %v", c)
	}
	// One run of the CronJob is a caller too, as a Deployment's ReplicaSet is.
	ref, err = ParseWorkloadRef("job/nightly-2", "shop")
	if err != nil {
		t.Fatal(err)
	}
	rep, err = Audit(context.Background(), in, Options{From: &ref})
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Services[0].Callers; c["zone-b"] != 1 || len(c) != 1 {
		t.Errorf("callers from the CronJob's Job = %v", c)
	}
}

// TestFromNamesADeploymentOrItsReplicaSet: --from finds a Deployment's pods
// by the Deployment, by one of its ReplicaSets (only that one's pods), by
// its app label and by a pod's own name.
func TestFromNamesADeploymentOrItsReplicaSet(t *testing.T) {
	rsPod := func(name, hash, node string) corev1.Pod {
		return pod("shop", name, node, func(p *corev1.Pod) {
			p.Labels["pod-template-hash"] = hash
			p.Labels["app"] = "web"
			p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-" + hash, Controller: ptr.To(true)}}
		})
	}
	in := Input{
		Nodes:          threeZones(),
		Pods:           []corev1.Pod{rsPod("web-old-x", "old", "a1"), rsPod("web-new-x", "new", "b1"), rsPod("web-new-y", "new", "c1")},
		Services:       []corev1.Service{service("shop", "api", map[string]string{"app": "api"})},
		EndpointSlices: []discoveryv1.EndpointSlice{slice("shop", "api", "zone-a", "zone-b", "zone-c")},
	}
	for _, tt := range []struct {
		from string
		want map[string]int
	}{
		{"deploy/web", map[string]int{"zone-a": 1, "zone-b": 1, "zone-c": 1}},
		{"rs/web-new", map[string]int{"zone-b": 1, "zone-c": 1}},
		{"rs/web-old", map[string]int{"zone-a": 1}},
		{"app/web", map[string]int{"zone-a": 1, "zone-b": 1, "zone-c": 1}},
		{"pod/web-new-y", map[string]int{"zone-c": 1}},
	} {
		t.Run(tt.from, func(t *testing.T) {
			ref, err := ParseWorkloadRef(tt.from, "shop")
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Audit(context.Background(), in, Options{From: &ref})
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Services[0].Callers; fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("callers = %v, want %v", got, tt.want)
			}
		})
	}
}
