package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"math"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/inzone-io/inzone/lint"
	"github.com/inzone-io/inzone/lint/rego"
	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/policies"
	"github.com/inzone-io/inzone/report"
	"github.com/inzone-io/inzone/simulate"
)

func node(name, zone string) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	if zone != "" {
		n.Labels[ZoneLabel] = zone
	}
	return n
}

// threeZones has nodes a1, a2 in zone-a, b1 in zone-b, c1 in zone-c.
func threeZones() []corev1.Node {
	return []corev1.Node{node("a1", "zone-a"), node("a2", "zone-a"), node("b1", "zone-b"), node("c1", "zone-c")}
}

type podOpt func(*corev1.Pod)

func pod(ns, name, nodeName string, opts ...podOpt) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{}},
		Spec:       corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func app(name string) podOpt { return func(p *corev1.Pod) { p.Labels["app"] = name } }

func replicaSet(rs, hash string) podOpt {
	return func(p *corev1.Pod) {
		p.Labels["pod-template-hash"] = hash
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, Controller: ptr.To(true)}}
	}
}

func zoneSpread(p *corev1.Pod) {
	p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: ZoneLabel, WhenUnsatisfiable: corev1.ScheduleAnyway}}
}

func withProxy(native bool) podOpt {
	return func(p *corev1.Pod) {
		c := corev1.Container{Name: "inzone-proxy"}
		if native {
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
			p.Spec.InitContainers = append(p.Spec.InitContainers, c)
			return
		}
		p.Spec.Containers = append(p.Spec.Containers, c)
	}
}

// spread places pods of app name over nodes, one per entry.
func spread(ns, name string, nodes []string, opts ...podOpt) []corev1.Pod {
	var out []corev1.Pod
	for i, n := range nodes {
		out = append(out, pod(ns, name+"-"+string(rune('0'+i)), n, append([]podOpt{app(name)}, opts...)...))
	}
	return out
}

func service(ns, name string, selector map[string]string) corev1.Service {
	return corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{Port: 80}}},
	}
}

// slice is an EndpointSlice for service with one ready endpoint per zone
// entry ("" for no zone field).
func slice(ns, svc string, zones ...string) discoveryv1.EndpointSlice {
	s := discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: svc + "-x", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for i, z := range zones {
		e := discoveryv1.Endpoint{Addresses: []string{"10.0.0." + string(rune('1'+i))}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}
		if z != "" {
			e.Zone = ptr.To(z)
		}
		s.Endpoints = append(s.Endpoints, e)
	}
	return s
}

func run(t *testing.T, in Input) *Report {
	t.Helper()
	rep, err := Audit(context.Background(), in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestWorkloadSkew(t *testing.T) {
	tests := []struct {
		name       string
		nodes      []string
		opts       []podOpt
		wantZones  map[string]int
		wantSkew   int
		wantSpread int
	}{
		{"skewed 4/1/1", []string{"a1", "a2", "a1", "a2", "b1", "c1"}, nil, map[string]int{"zone-a": 4, "zone-b": 1, "zone-c": 1}, 3, 0},
		{"balanced 2/2/2", []string{"a1", "a2", "b1", "b1", "c1", "c1"}, []podOpt{zoneSpread}, map[string]int{"zone-a": 2, "zone-b": 2, "zone-c": 2}, 0, 6},
		{"empty zone counts", []string{"a1", "a2", "b1"}, nil, map[string]int{"zone-a": 2, "zone-b": 1, "zone-c": 0}, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := run(t, Input{Nodes: threeZones(), Pods: spread("shop", "web", tt.nodes, tt.opts...)})
			if len(rep.Workloads) != 1 {
				t.Fatalf("workloads = %+v, want 1", rep.Workloads)
			}
			w := rep.Workloads[0]
			if w.Kind != "app" || w.Name != "web" || w.Namespace != "shop" || w.Pods != len(tt.nodes) {
				t.Errorf("workload = %+v", w)
			}
			for z, n := range tt.wantZones {
				if w.PodsPerZone[z] != n {
					t.Errorf("PodsPerZone[%s] = %d, want %d (%v)", z, w.PodsPerZone[z], n, w.PodsPerZone)
				}
			}
			if w.Skew != tt.wantSkew {
				t.Errorf("Skew = %d, want %d", w.Skew, tt.wantSkew)
			}
			if w.ZoneSpread != tt.wantSpread || w.HasZoneSpread() != (tt.wantSpread == len(tt.nodes)) {
				t.Errorf("ZoneSpread = %d, HasZoneSpread = %v, want %d", w.ZoneSpread, w.HasZoneSpread(), tt.wantSpread)
			}
		})
	}
}

func TestWorkloadGrouping(t *testing.T) {
	pods := []corev1.Pod{
		pod("ns", "api-7d9f-x1", "a1", app("api"), replicaSet("api-7d9f", "7d9f")),
		pod("ns", "api-7d9f-x2", "b1", app("api"), replicaSet("api-7d9f", "7d9f")),
		pod("ns", "db-0", "c1", func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: "StatefulSet", Name: "db", Controller: ptr.To(true)}}
		}),
		pod("ns", "lonely", ""), // unscheduled bare pod
		pod("ns", "done", "a1", app("api"), func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
	}
	rep := run(t, Input{Nodes: threeZones(), Pods: pods})
	got := map[string]Workload{}
	for _, w := range rep.Workloads {
		got[w.Kind+"/"+w.Name] = w
	}
	if len(got) != 3 {
		t.Fatalf("workloads = %v", got)
	}
	if w := got["Deployment/api"]; w.Pods != 2 || w.Skew != 1 {
		t.Errorf("Deployment/api = %+v", w)
	}
	if w := got["StatefulSet/db"]; w.Pods != 1 || w.PodsPerZone["zone-c"] != 1 {
		t.Errorf("StatefulSet/db = %+v", w)
	}
	if w := got["Pod/lonely"]; w.Unplaced != 1 || w.Skew != 0 {
		t.Errorf("Pod/lonely = %+v", w)
	}
}

func TestCoverage(t *testing.T) {
	pods := []corev1.Pod{
		pod("a", "injected", "a1", withProxy(false)),
		pod("a", "native", "a1", withProxy(true)),
		pod("a", "optout-label", "a1", func(p *corev1.Pod) { p.Labels["inzone.io/inject"] = "false" }),
		pod("a", "optout-annotation", "a1", func(p *corev1.Pod) { p.Annotations = map[string]string{"inzone.io/inject": "false"} }),
		pod("a", "host", "a1", func(p *corev1.Pod) { p.Spec.HostNetwork = true }),
		pod("b", "old", "b1"),
		// Traffic capture: the two above capture nothing, these do.
		pod("a", "iptables", "a1", func(p *corev1.Pod) {
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: mutate.CaptureContainerName})
		}, withProxy(true)),
		pod("a", "proxy-env", "a1", withProxy(true), func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: "HTTP_PROXY", Value: "http://127.0.0.1:15001"})
		}),
		pod("a", "cni", "a1", withProxy(true), func(p *corev1.Pod) {
			p.Annotations = map[string]string{mutate.AnnotationCaptureCNI: "{}"}
		}),
	}
	rep := run(t, Input{Nodes: threeZones(), Pods: pods})
	want := []NamespaceCoverage{
		{Namespace: "a", Pods: 8, WithProxy: 5, WithoutProxy: 3, WithoutCapture: 2, Reasons: map[string]int{ReasonOptedOut: 2, ReasonHostNetwork: 1}},
		{Namespace: "b", Pods: 1, WithProxy: 0, WithoutProxy: 1, Reasons: map[string]int{ReasonNotInjected: 1}},
	}
	gotJSON, _ := json.Marshal(rep.Coverage)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("coverage\n got %s\nwant %s", gotJSON, wantJSON)
	}
	var msgs []string
	for _, f := range rep.Findings() {
		if f.Rule == report.RuleAuditNoCapture.ID {
			msgs = append(msgs, f.Object.Name+": "+f.Message)
		}
	}
	if want := "a: namespace a: 2 of 5 pods with inzone-proxy capture no traffic (capture mode none, or injected before traffic capture)"; len(msgs) != 1 || msgs[0] != want {
		t.Errorf("%s findings = %q, want [%q]", report.RuleAuditNoCapture.ID, msgs, want)
	}
}

func TestNodesWithoutZone(t *testing.T) {
	nodes := append(threeZones(), node("z2", ""), node("z1", ""))
	rep := run(t, Input{Nodes: nodes, Pods: []corev1.Pod{pod("ns", "p", "z1", app("p"))}})
	if strings.Join(rep.NodesWithoutZone, ",") != "z1,z2" {
		t.Errorf("NodesWithoutZone = %v", rep.NodesWithoutZone)
	}
	if strings.Join(rep.Zones, ",") != "zone-a,zone-b,zone-c" {
		t.Errorf("Zones = %v", rep.Zones)
	}
	if w := rep.Workloads[0]; w.Unplaced != 1 {
		t.Errorf("pod on a node without zone: %+v, want unplaced", w)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

// TestPredictedCrossZone checks a hand-worked layout: callers 4/1/1, callees
// 2/2/2. Local percentages 6666/1666/1666, upstream 3333 each. zone-a:
// 3333 < 6666, residual, keeps 3333*10000/6666 = 5000 bp local, so half its
// traffic crosses; zone-b and zone-c: 3333 >= 1666, all direct. Zone aware:
// 4/6 * 0.5 = 1/3; round robin: every zone keeps 2/6, so 2/3 crosses.
func TestPredictedCrossZone(t *testing.T) {
	tests := []struct {
		name             string
		callers          []string
		endpoints        []string
		wantZA, wantRR   float64
		wantSkippedEmpty bool
	}{
		{"skewed callers", []string{"a1", "a2", "a1", "a2", "b1", "c1"}, []string{"zone-a", "zone-a", "zone-b", "zone-b", "zone-c", "zone-c"}, 1.0 / 3, 2.0 / 3, true},
		{"balanced", []string{"a1", "a2", "b1", "b1", "c1", "c1"}, []string{"zone-a", "zone-a", "zone-b", "zone-b", "zone-c", "zone-c"}, 0, 2.0 / 3, true},
		{"too small: zone routing off", []string{"a1", "b1", "c1"}, []string{"zone-a", "zone-b", "zone-c"}, 2.0 / 3, 2.0 / 3, true},
		{"no endpoints", []string{"a1"}, nil, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{
				Nodes:          threeZones(),
				Pods:           spread("shop", "web", tt.callers),
				Services:       []corev1.Service{service("shop", "web", map[string]string{"app": "web"})},
				EndpointSlices: []discoveryv1.EndpointSlice{slice("shop", "web", tt.endpoints...)},
			}
			rep := run(t, in)
			if len(rep.Services) != 1 {
				t.Fatalf("services = %+v", rep.Services)
			}
			s := rep.Services[0]
			if (s.Skipped == "") != tt.wantSkippedEmpty {
				t.Fatalf("Skipped = %q", s.Skipped)
			}
			if !near(s.ZoneAwareCrossZone, tt.wantZA) || !near(s.RoundRobinCrossZone, tt.wantRR) || !near(s.Saved, tt.wantRR-tt.wantZA) {
				t.Errorf("zone-aware %v round-robin %v saved %v, want %v %v", s.ZoneAwareCrossZone, s.RoundRobinCrossZone, s.Saved, tt.wantZA, tt.wantRR)
			}
			if s.Skipped != "" {
				return
			}
			plan, err := simulate.ZoneAware(simulate.Zones(s.Callers), simulate.Zones(s.Callees), simulate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if plan.CrossZone != s.ZoneAwareCrossZone || plan.RoundRobinCrossZone != s.RoundRobinCrossZone || len(plan.Routes) != len(s.Routes) {
				t.Errorf("report %+v does not match simulate %+v", s, plan)
			}
		})
	}
}

func TestCalleesFromNodeAndReadiness(t *testing.T) {
	s := slice("ns", "svc", "zone-a", "", "")
	// The second endpoint gets its zone from its node; the third is not
	// ready and is ignored.
	s.Endpoints[1].NodeName = ptr.To("b1")
	s.Endpoints[2].Conditions.Ready = ptr.To(false)
	// The same address in another slice counts once.
	dup := slice("ns", "svc", "zone-a")
	// An endpoint with neither zone nor node is counted as without zone.
	noZone := slice("ns", "svc", "")
	noZone.Endpoints[0].Addresses = []string{"10.9.9.9"}
	noZone.Name = "svc-y"
	rep := run(t, Input{
		Nodes:          threeZones(),
		Pods:           []corev1.Pod{pod("ns", "p", "a1", app("svc"))},
		Services:       []corev1.Service{service("ns", "svc", map[string]string{"app": "svc"})},
		EndpointSlices: []discoveryv1.EndpointSlice{s, dup, noZone},
	})
	got := rep.Services[0]
	if got.Callees["zone-a"] != 1 || got.Callees["zone-b"] != 1 || len(got.Callees) != 2 || got.EndpointsWithoutZone != 1 {
		t.Errorf("callees = %v, without zone %d", got.Callees, got.EndpointsWithoutZone)
	}
}

func TestLintAndWrite(t *testing.T) {
	ctx := context.Background()
	engine, err := rego.New(ctx, rego.Options{Policies: []fs.FS{policies.FS}})
	if err != nil {
		t.Fatal(err)
	}
	svc := service("shop", "web", map[string]string{"app": "web"})
	svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	rep, err := Audit(ctx, Input{Nodes: threeZones(), Services: []corev1.Service{svc}}, Options{Lint: &lint.Linter{Engine: engine}})
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, f := range rep.LintFindings {
		rules[f.Rule] = true
		if f.File != "Service/shop/web" {
			t.Errorf("finding file = %q", f.File)
		}
	}
	if !rules["external-traffic-policy-cluster"] {
		t.Errorf("lint findings = %+v, want external-traffic-policy-cluster", rep.LintFindings)
	}
	var buf bytes.Buffer
	if err := Write(&buf, "table", rep, ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== WORKLOADS", "== SIDECAR COVERAGE", "== NODES WITHOUT A ZONE", "== SERVICES", "== LINT FINDINGS", "external-traffic-policy-cluster"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	if err := Write(&buf, "json", rep, ""); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.LintFindings) != len(rep.LintFindings) {
		t.Errorf("json round trip: %v, %d findings", err, len(back.LintFindings))
	}
	if err := Write(&buf, "xml", rep, ""); err == nil {
		t.Error("Write xml: want error")
	}
}
