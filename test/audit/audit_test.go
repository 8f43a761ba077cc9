// Package audit runs the built kubectl-inzone plugin through the real
// kubectl against a real kube-apiserver and etcd (the envtest harness) and
// checks its findings. The inzone webhook does not run here: no pod has the
// inzone-proxy sidecar.
package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/inzone-io/inzone/audit"
	"github.com/inzone-io/inzone/test/envtest"
)

func TestMain(m *testing.M) {
	os.Exit(envtest.Main(m, envtest.Options{}, nil))
}

const (
	zoneA = "us-test-1a"
	zoneB = "us-test-1b"
	zoneC = "us-test-1c"
)

func TestAuditThroughKubectl(t *testing.T) {
	env := envtest.For(t)
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		if envtest.Required() {
			t.Fatalf("kubectl not on PATH and %s=1: %v", envtest.EnvRequired, err)
		}
		t.Skipf("kubectl not on PATH (set %s=1 to fail instead): %v", envtest.EnvRequired, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Nodes: a1, a2 in zone A, b1 in B, c1 in C, and one without a zone.
	nodeZones := map[string]string{"audit-a1": zoneA, "audit-a2": zoneA, "audit-b1": zoneB, "audit-c1": zoneC, "audit-nozone": ""}
	for name, zone := range nodeZones {
		if _, err := env.CreateNode(ctx, envtest.NodeSpec{Name: name, Zone: zone}); err != nil {
			t.Fatal(err)
		}
	}
	ns, err := env.CreateNamespace(ctx, "audit-", false)
	if err != nil {
		t.Fatal(err)
	}
	newPod := func(name, node string, labels map[string]string, mod func(*corev1.Pod)) {
		t.Helper()
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name, Labels: labels},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{
				Name: "app", Image: "registry.example/app:1",
			}}},
		}
		if mod != nil {
			mod(p)
		}
		if _, _, err := env.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// skewed: 4/1/1 without a zone constraint; balanced: 2/2/2 with one.
	for i, n := range []string{"audit-a1", "audit-a2", "audit-a1", "audit-a2", "audit-b1", "audit-c1"} {
		newPod(fmt.Sprintf("skewed-%d", i), n, map[string]string{"app": "skewed"}, nil)
	}
	for i, n := range []string{"audit-a1", "audit-a2", "audit-b1", "audit-b1", "audit-c1", "audit-c1"} {
		newPod(fmt.Sprintf("balanced-%d", i), n, map[string]string{"app": "balanced"}, func(p *corev1.Pod) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
				MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "balanced"}},
			}}
		})
	}
	newPod("opted-out", "audit-b1", map[string]string{"inzone.io/inject": "false"}, nil)
	newPod("host", "audit-c1", nil, func(p *corev1.Pod) { p.Spec.HostNetwork = true })

	// Both Services have 6 ready endpoints, 2 per zone.
	for _, name := range []string{"skewed", "balanced"} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": name},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80}},
			},
		}
		if err := env.Client.Create(ctx, svc); err != nil {
			t.Fatal(err)
		}
		es := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: ns.Name, Name: name + "-zoned",
				Labels: map[string]string{discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "inzone-audit-test"},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
		}
		for i, z := range []string{zoneA, zoneA, zoneB, zoneB, zoneC, zoneC} {
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
				Addresses:  []string{fmt.Sprintf("10.1.%d.%d", len(name), i+1)},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				Zone:       ptr.To(z),
			})
		}
		if err := env.Client.Create(ctx, es); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	buildPlugin(t, dir)
	kubeconfig := writeKubeconfig(t, env, dir)

	cmd := exec.CommandContext(ctx, kubectl, "inzone", "audit", "-A", "-o", "json")
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+kubeconfig, "HOME="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl inzone audit: %v\nstderr:\n%s", err, stderr.String())
	}
	var rep audit.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("parsing the report: %v\n%s", err, stdout.String())
	}

	// Workloads: pods per zone, skew and the zone constraint.
	workloads := map[string]audit.Workload{}
	for _, w := range rep.Workloads {
		if w.Namespace == ns.Name {
			workloads[w.Kind+"/"+w.Name] = w
		}
	}
	for _, tc := range []struct {
		key      string
		perZone  [3]int
		skew     int
		spreadOK bool
	}{
		{"app/skewed", [3]int{4, 1, 1}, 3, false},
		{"app/balanced", [3]int{2, 2, 2}, 0, true},
	} {
		w, ok := workloads[tc.key]
		if !ok {
			t.Errorf("no workload %s in %v", tc.key, workloads)
			continue
		}
		got := [3]int{w.PodsPerZone[zoneA], w.PodsPerZone[zoneB], w.PodsPerZone[zoneC]}
		if got != tc.perZone || w.Skew != tc.skew || w.HasZoneSpread() != tc.spreadOK {
			t.Errorf("%s: per zone %v skew %d spread %v, want %v %d %v", tc.key, got, w.Skew, w.HasZoneSpread(), tc.perZone, tc.skew, tc.spreadOK)
		}
	}

	// Coverage: no inzone-proxy anywhere (no webhook here), with reasons.
	var cov *audit.NamespaceCoverage
	for i := range rep.Coverage {
		if rep.Coverage[i].Namespace == ns.Name {
			cov = &rep.Coverage[i]
		}
	}
	if cov == nil {
		t.Fatalf("no coverage for %s: %+v", ns.Name, rep.Coverage)
	}
	wantReasons := map[string]int{audit.ReasonOptedOut: 1, audit.ReasonHostNetwork: 1, audit.ReasonNotInjected: 12}
	if cov.Pods != 14 || cov.WithProxy != 0 || cov.WithoutProxy != 14 || fmt.Sprint(cov.Reasons) != fmt.Sprint(wantReasons) {
		t.Errorf("coverage = %+v, want 14 pods without proxy, reasons %v", *cov, wantReasons)
	}

	// Nodes without a zone.
	if !contains(rep.NodesWithoutZone, "audit-nozone") || contains(rep.NodesWithoutZone, "audit-a1") {
		t.Errorf("nodes without zone = %v", rep.NodesWithoutZone)
	}

	// Predicted cross-zone traffic: callers 4/1/1 to 2/2/2 keep zone A's
	// traffic half local, so 4/6*1/2 = 1/3 crosses with zone-aware routing
	// against 2/3 with round robin; balanced callers keep everything local.
	services := map[string]audit.ServiceTraffic{}
	for _, s := range rep.Services {
		if s.Namespace == ns.Name {
			services[s.Name] = s
		}
	}
	for _, tc := range []struct {
		name   string
		za, rr float64
	}{
		{"skewed", 1.0 / 3, 2.0 / 3},
		{"balanced", 0, 2.0 / 3},
	} {
		s, ok := services[tc.name]
		switch {
		case !ok:
			t.Errorf("no service %s in %v", tc.name, services)
		case s.Skipped != "":
			t.Errorf("%s skipped: %s", tc.name, s.Skipped)
		case !near(s.ZoneAwareCrossZone, tc.za) || !near(s.RoundRobinCrossZone, tc.rr) || !near(s.Saved, tc.rr-tc.za):
			t.Errorf("%s: zone-aware %v round-robin %v saved %v, want %v %v", tc.name, s.ZoneAwareCrossZone, s.RoundRobinCrossZone, s.Saved, tc.za, tc.rr)
		}
	}

	// Lint on the live Services, with the object path.
	found := false
	for _, f := range rep.LintFindings {
		if f.File == audit.FilePath("Service", ns.Name, "skewed") && f.Rule == "service-no-topology-aware-routing" {
			found = true
		}
	}
	if !found {
		t.Errorf("no service-no-topology-aware-routing finding on Service/%s/skewed: %+v", ns.Name, rep.LintFindings)
	}

	// The table output works through kubectl too.
	cmd = exec.CommandContext(ctx, kubectl, "inzone", "audit", "-n", ns.Name)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+kubeconfig, "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl inzone audit -n: %v\n%s", err, out)
	}
	for _, want := range []string{"app/skewed", zoneA + "=4", "33.3%", "audit-nozone"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	// A user without RBAC gets a message naming what was forbidden, exit 2.
	cmd = exec.CommandContext(ctx, kubectl, "inzone", "audit", "-A", "--as", "nobody")
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+kubeconfig, "HOME="+dir)
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("audit as nobody: %v, want exit 2\n%s", err, out)
	}
	if !strings.Contains(string(out), "forbidden: cannot list nodes at the cluster scope") {
		t.Errorf("audit as nobody: message lacks the forbidden resource:\n%s", out)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// buildPlugin puts kubectl-inzone, built once per test binary, into dir.
func buildPlugin(tb testing.TB, dir string) {
	tb.Helper()
	bin, err := envtest.BuildBinary("./cmd/kubectl-inzone")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(dir, "kubectl-inzone")); err != nil {
		tb.Fatal(err)
	}
}

// writeKubeconfig writes a kubeconfig for the test API server into dir.
func writeKubeconfig(t *testing.T, env *envtest.Env, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(path); err != nil {
		t.Fatal(err)
	}
	return path
}
