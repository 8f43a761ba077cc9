package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/inzone-io/inzone/audit"
	"github.com/inzone-io/inzone/test/envtest"
)

const liveELB = "internal-orders-1234.us-east-1.elb.amazonaws.com"

// TestAuditCallersIstioELBThroughKubectl: a skewed caller (4/1/1) and a
// balanced one (2/2/2) in three zones call a Service with 2/2/2 endpoints;
// --from and --call-graph with byte rates give the hand-computed fractions
// and costs; with Istio's CRDs installed a DNS ServiceEntry is flagged; a
// Deployment still calling a LoadBalancer Service by its ELB hostname is
// found, with the DDSD name from --config; json, yaml and sarif agree.
func TestAuditCallersIstioELBThroughKubectl(t *testing.T) {
	env := envtest.For(t)
	kubectl := lookKubectl(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	for name, zone := range map[string]string{"live-a1": zoneA, "live-a2": zoneA, "live-b1": zoneB, "live-c1": zoneC} {
		if _, err := env.CreateNode(ctx, envtest.NodeSpec{Name: name, Zone: zone}); err != nil {
			t.Fatal(err)
		}
	}
	ns, err := env.CreateNamespace(ctx, "live-", false)
	if err != nil {
		t.Fatal(err)
	}
	mkPod := func(name, node string, labels map[string]string, owner *metav1.OwnerReference) {
		t.Helper()
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name, Labels: labels},
			Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}},
		}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		if _, _, err := env.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// frontend: a Deployment's pods (ReplicaSet frontend-7c9d4, no
	// controller runs here to own them for real), skewed 4/1/1.
	rs := &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "frontend-7c9d4", UID: types.UID("00000000-0000-0000-0000-000000000001"), Controller: ptr.To(true)}
	for i, n := range []string{"live-a1", "live-a2", "live-a1", "live-a2", "live-b1", "live-c1"} {
		mkPod(fmt.Sprintf("frontend-7c9d4-%d", i), n, map[string]string{"app": "frontend", "pod-template-hash": "7c9d4"}, rs)
	}
	// worker: balanced 2/2/2.
	for i, n := range []string{"live-a1", "live-a2", "live-b1", "live-b1", "live-c1", "live-c1"} {
		mkPod(fmt.Sprintf("worker-%d", i), n, map[string]string{"app": "worker"}, nil)
	}
	// checkout: 6 ready endpoints, 2 per zone.
	createService(ctx, t, env, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "checkout"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "checkout"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}, []string{zoneA, zoneA, zoneB, zoneB, zoneC, zoneC})

	// orders: a LoadBalancer whose status holds an ELB hostname, and a
	// Deployment that still calls it by that hostname (3 replicas, no zone
	// spread: a lint finding too).
	orders := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "orders"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			Selector: map[string]string{"app": "orders"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	if err := env.Client.Create(ctx, orders); err != nil {
		t.Fatal(err)
	}
	orders.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: liveELB}}
	if err := env.Client.Status().Update(ctx, orders); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "client"}
	client := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "client"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "registry.example/client:1",
					Env: []corev1.EnvVar{{Name: "ORDERS_URL", Value: "http://" + liveELB + "/api"}},
				}}},
			},
		},
	}
	if err := env.Client.Create(ctx, client); err != nil {
		t.Fatal(err)
	}

	// legacy: a ReplicationController (a workload kind of package
	// workload, read by the audit as by inject) that calls orders by its
	// ELB hostname and spreads over zones without a labelSelector, with two
	// pods of its own (no controller runs here to make them).
	legacyLabels := map[string]string{"app": "legacy"}
	legacy := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "legacy"},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr.To[int32](2),
			Selector: legacyLabels,
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: legacyLabels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{
						Name: "app", Image: "registry.example/legacy:1",
						Env: []corev1.EnvVar{{Name: "ORDERS_URL", Value: "http://" + liveELB + "/api"}},
					}},
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway,
					}},
				},
			},
		},
	}
	if err := env.Client.Create(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	legacyOwner := &metav1.OwnerReference{APIVersion: "v1", Kind: "ReplicationController", Name: "legacy", UID: legacy.UID, Controller: ptr.To(true)}
	for i, n := range []string{"live-a1", "live-a2"} {
		mkPod(fmt.Sprintf("legacy-%d", i), n, legacyLabels, legacyOwner)
	}

	// Istio's CRDs, then a ServiceEntry resolved by DNS.
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	installIstioCRDs(ctx, t, env, dyn)
	se := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
		"metadata": map[string]any{"namespace": ns.Name, "name": "payments-api"},
		"spec": map[string]any{"hosts": []any{"api.payments.example"}, "location": "MESH_EXTERNAL", "resolution": "DNS",
			"ports": []any{map[string]any{"number": int64(443), "name": "https", "protocol": "TLS"}}},
	}}
	if _, err := dyn.Resource(istioGVR("serviceentries")).Namespace(ns.Name).Create(ctx, se, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	buildPlugin(t, dir)
	kubeconfig := writeKubeconfig(t, env, dir)
	run := func(args ...string) (string, string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"inzone", "audit"}, args...)...)
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+kubeconfig, "HOME="+dir)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("kubectl inzone audit %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	runErr := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"inzone", "audit"}, args...)...)
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+kubeconfig, "HOME="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// --call-graph with request and byte rates, at 0.02 USD a GB each way.
	graph := filepath.Join(dir, "graph.yaml")
	if err := os.WriteFile(graph, []byte(`- from: deployment/frontend
  to: checkout
  requestsPerSecond: 300
  bytesPerSecond: 1000000
- from: app/worker
  to: checkout
  requestsPerSecond: 100
  bytesPerSecond: 500000
`), 0o600); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "inzone.yaml")
	if err := os.WriteFile(config, []byte("ddsd:\n  env: e2e\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const price = 0.02
	out, stderr := run("-n", ns.Name, "-o", "json", "--call-graph", graph, "--price-per-gb", fmt.Sprint(price), "--config", config)
	if stderr != "" {
		t.Errorf("stderr is not a terminal, yet the audit wrote to it: %q", stderr)
	}
	var rep audit.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	t.Run("skewed and balanced workloads", func(t *testing.T) {
		got := map[string]audit.Workload{}
		for _, w := range rep.Workloads {
			got[w.Kind+"/"+w.Name] = w
		}
		for _, tt := range []struct {
			key     string
			perZone [3]int
			skew    int
		}{{"Deployment/frontend", [3]int{4, 1, 1}, 3}, {"app/worker", [3]int{2, 2, 2}, 0}, {"ReplicationController/legacy", [3]int{2, 0, 0}, 2}} {
			w := got[tt.key]
			if pz := [3]int{w.PodsPerZone[zoneA], w.PodsPerZone[zoneB], w.PodsPerZone[zoneC]}; pz != tt.perZone || w.Skew != tt.skew {
				t.Errorf("%s: per zone %v skew %d, want %v %d", tt.key, pz, w.Skew, tt.perZone, tt.skew)
			}
		}
	})

	t.Run("call graph fractions and cost", func(t *testing.T) {
		// GB a month of B bytes/s crossing with fraction f: B x f x
		// 2,592,000 / 1e9; each GB costs 2 x price.
		gb := func(bps, f float64) float64 { return bps * f * 2592000 / 1e9 }
		usd := func(bps, f float64) float64 { return gb(bps, f) * 2 * price }
		edges := map[string]audit.EdgeTraffic{}
		for _, e := range rep.Edges {
			edges[e.From] = e
		}
		for _, tt := range []struct {
			from   string
			bps    float64
			za, rr float64
		}{
			// 4/1/1 callers to 2/2/2: zone A keeps 2/6 of its 4/6 share
			// local, so 4/6 x 1/2 = 1/3 crosses; round robin 2/3.
			{ns.Name + "/Deployment/frontend", 1e6, 1.0 / 3, 2.0 / 3},
			// 2/2/2 callers keep everything local.
			{ns.Name + "/app/worker", 5e5, 0, 2.0 / 3},
		} {
			e, ok := edges[tt.from]
			if !ok || e.Skipped != "" || e.Cost == nil {
				t.Errorf("edge from %s: %+v", tt.from, e)
				continue
			}
			if !near(e.ZoneAwareCrossZone, tt.za) || !near(e.RoundRobinCrossZone, tt.rr) {
				t.Errorf("%s: zone-aware %v round robin %v, want %v %v", tt.from, e.ZoneAwareCrossZone, e.RoundRobinCrossZone, tt.za, tt.rr)
			}
			if !nearRel(e.Cost.ZoneAwareGBPerMonth, gb(tt.bps, tt.za)) || !nearRel(e.Cost.ZoneAwareUSDPerMonth, usd(tt.bps, tt.za)) ||
				!nearRel(e.Cost.RoundRobinUSDPerMonth, usd(tt.bps, tt.rr)) || !nearRel(e.Cost.SavedUSDPerMonth, usd(tt.bps, tt.rr)-usd(tt.bps, tt.za)) {
				t.Errorf("%s: cost %+v", tt.from, *e.Cost)
			}
		}
		// 864 GB a month cross from frontend with zone-aware routing:
		// 34.56 USD at 0.02 a GB each way; round robin 1,728 + 864 GB.
		tot := rep.EdgeTotals
		if tot == nil || tot.Cost == nil {
			t.Fatalf("totals = %+v", tot)
		}
		if tot.WeightedBy != "requests" || !near(tot.ZoneAwareCrossZone, 100.0/400) || !near(tot.RoundRobinCrossZone, 2.0/3) {
			t.Errorf("totals %+v, want zone-aware 1/4, round robin 2/3 weighted by requests", *tot)
		}
		if !nearRel(tot.Cost.ZoneAwareUSDPerMonth, 34.56) || !nearRel(tot.Cost.RoundRobinUSDPerMonth, 103.68) || !nearRel(tot.Cost.SavedUSDPerMonth, 69.12) {
			t.Errorf("total cost %+v, want 34.56, 103.68, saved 69.12", *tot.Cost)
		}
	})

	t.Run("ELB hostname still referenced, with the DDSD name from --config", func(t *testing.T) {
		var want []audit.ELBReference
		for _, kind := range []string{"Deployment", "ReplicationController"} {
			name := map[string]string{"Deployment": "client", "ReplicationController": "legacy"}[kind]
			want = append(want, audit.ELBReference{Service: ns.Name + "/orders", Host: liveELB, DDSD: "orders.service.e2e.ddsd",
				Object: audit.FilePath(kind, ns.Name, name), Kind: kind, Field: "container app env ORDERS_URL"})
		}
		// The ReplicationController's pods carry its template: they are
		// its, not references of their own.
		if !slices.Equal(rep.ELBReferences, want) {
			t.Errorf("ELB references = %+v, want %+v", rep.ELBReferences, want)
		}
	})

	t.Run("lint on live workloads and Istio objects", func(t *testing.T) {
		got := map[string]string{}
		for _, f := range rep.LintFindings {
			got[f.File+"|"+f.Rule] = f.Hint
		}
		for _, tt := range []struct{ key, hint string }{
			{audit.FilePath("ServiceEntry", ns.Name, "payments-api") + "|istio-service-entry-dns", ""},
			{audit.FilePath("Deployment", ns.Name, "client") + "|workload-no-zone-spread", ""},
			{audit.FilePath("Deployment", ns.Name, "client") + "|aws-elb-hostname", "orders.service.e2e.ddsd"},
			{audit.FilePath("ReplicationController", ns.Name, "legacy") + "|zone-spread-no-selector", ""},
			{audit.FilePath("ReplicationController", ns.Name, "legacy") + "|aws-elb-hostname", "orders.service.e2e.ddsd"},
		} {
			hint, ok := got[tt.key]
			if !ok {
				t.Errorf("no finding %s in %v", tt.key, got)
			} else if !strings.Contains(hint, tt.hint) {
				t.Errorf("%s: hint %q lacks %q", tt.key, hint, tt.hint)
			}
		}
		for _, f := range rep.LintFindings {
			if strings.HasPrefix(f.File, "Pod/") {
				t.Errorf("%s on %s: a controller's pod is linted through its owner", f.Rule, f.File)
			}
		}
	})

	t.Run("--from as yaml", func(t *testing.T) {
		out, _ := run("-n", ns.Name, "-o", "yaml", "--from", "deployment/frontend")
		var rep audit.Report
		if err := sigsyaml.UnmarshalStrict([]byte(out), &rep); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if rep.Callers != ns.Name+"/Deployment/frontend" {
			t.Errorf("callers = %q", rep.Callers)
		}
		var checkout *audit.ServiceTraffic
		for i := range rep.Services {
			if rep.Services[i].Name == "checkout" {
				checkout = &rep.Services[i]
			}
		}
		if checkout == nil || checkout.Skipped != "" || !near(checkout.ZoneAwareCrossZone, 1.0/3) || !near(checkout.RoundRobinCrossZone, 2.0/3) {
			t.Errorf("checkout from frontend = %+v, want 1/3 and 2/3", checkout)
		}
	})

	t.Run("the documented ClusterRole is enough, Istio's rule included", func(t *testing.T) {
		testDocumentedRBAC(ctx, t, env, dir, run, runErr)
	})

	t.Run("sarif", func(t *testing.T) {
		out, _ := run("-n", ns.Name, "-o", "sarif", "--call-graph", graph)
		var log struct {
			Version string `json:"version"`
			Runs    []struct {
				Results []struct {
					RuleID    string `json:"ruleId"`
					Locations []struct {
						PhysicalLocation struct {
							ArtifactLocation struct {
								URI string `json:"uri"`
							} `json:"artifactLocation"`
						} `json:"physicalLocation"`
					} `json:"locations"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(out), &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 {
			t.Fatalf("not SARIF 2.1.0: %v\n%s", err, out)
		}
		got := map[string]bool{}
		for _, r := range log.Runs[0].Results {
			got[r.RuleID+"|"+r.Locations[0].PhysicalLocation.ArtifactLocation.URI] = true
		}
		for _, want := range []string{
			"istio-service-entry-dns|ServiceEntry/" + ns.Name + "/payments-api",
			"audit-elb-still-referenced|Deployment/" + ns.Name + "/client",
			"workload-no-zone-spread|Deployment/" + ns.Name + "/client",
			"audit-zone-skew|Deployment/" + ns.Name + "/frontend",
			"audit-zone-skew|ReplicationController/" + ns.Name + "/legacy",
			"zone-spread-no-selector|ReplicationController/" + ns.Name + "/legacy",
			"audit-cross-zone-traffic|Service/" + ns.Name + "/checkout",
		} {
			if !got[want] {
				t.Errorf("no SARIF result %s in %v", want, got)
			}
		}
	})
}

// testDocumentedRBAC binds the ClusterRole `kubectl inzone audit --help`
// prints to a user and audits as that user: it must be enough, Istio
// included; without its networking.istio.io rule the 403 names the resource
// and --no-istio, which then works.
func testDocumentedRBAC(ctx context.Context, t *testing.T, env *envtest.Env, dir string, run func(...string) (string, string), runErr func(...string) (string, error)) {
	help, _ := run("--help")
	i := strings.Index(help, "apiVersion: rbac.authorization.k8s.io/v1")
	j := strings.Index(help, "\nUsage:")
	if i < 0 || j < i {
		t.Fatalf("--help shows no ClusterRole:\n%s", help)
	}
	var role rbacv1.ClusterRole
	if err := sigsyaml.UnmarshalStrict([]byte(help[i:j]), &role); err != nil {
		t.Fatalf("the ClusterRole in --help does not parse: %v\n%s", err, help[i:j])
	}
	bind := func(user string, role *rbacv1.ClusterRole) {
		t.Helper()
		role.Name = "inzone-audit-" + user
		if err := env.Client.Create(ctx, role); err != nil {
			t.Fatal(err)
		}
		b := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: role.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
		}
		if err := env.Client.Create(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	full := role.DeepCopy()
	bind("auditor", full)
	noIstio := role.DeepCopy()
	noIstio.Rules = nil
	for _, r := range role.Rules {
		if len(r.APIGroups) == 1 && r.APIGroups[0] == "networking.istio.io" {
			continue
		}
		noIstio.Rules = append(noIstio.Rules, r)
	}
	if len(noIstio.Rules) != len(role.Rules)-1 {
		t.Fatalf("no networking.istio.io rule in %+v", role.Rules)
	}
	bind("auditor-no-istio", noIstio)

	// RBAC is cached by the authorizer: retry briefly.
	var out string
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if out, err = runErr("-A", "-o", "json", "--as", "auditor"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("audit as a user with the documented ClusterRole: %v\n%s", err, out)
	}
	if !strings.Contains(out, "istio-service-entry-dns") {
		t.Errorf("audit as auditor read no ServiceEntry")
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if out, err = runErr("-A", "--as", "auditor-no-istio"); err != nil && strings.Contains(out, "serviceentries") {
			break
		}
	}
	for _, want := range []string{"forbidden: cannot list serviceentries.networking.istio.io at the cluster scope", "--no-istio"} {
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("audit without the Istio rule: %v, output lacks %q:\n%s", err, want, out)
		}
	}
	if out, err := runErr("-A", "--as", "auditor-no-istio", "--no-istio"); err != nil {
		t.Errorf("audit --no-istio without the Istio rule: %v\n%s", err, out)
	}
}

// nearRel compares money and volumes to a relative 1e-9.
func nearRel(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-9*max(1, b, -b)
}

func lookKubectl(t *testing.T) string {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		if envtest.Required() {
			t.Fatalf("kubectl not on PATH and %s=1: %v", envtest.EnvRequired, err)
		}
		t.Skipf("kubectl not on PATH (set %s=1 to fail instead): %v", envtest.EnvRequired, err)
	}
	return kubectl
}

// createService creates svc and an EndpointSlice with one ready endpoint
// per zone entry.
func createService(ctx context.Context, t *testing.T, env *envtest.Env, svc *corev1.Service, zones []string) {
	t.Helper()
	if err := env.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: svc.Namespace, Name: svc.Name + "-zoned",
			Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: "inzone-audit-test"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
	}
	for i, z := range zones {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{fmt.Sprintf("10.2.%d.%d", len(svc.Name), i+1)},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			Zone:       ptr.To(z),
		})
	}
	if err := env.Client.Create(ctx, es); err != nil {
		t.Fatal(err)
	}
}

func istioGVR(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: resource}
}

// installIstioCRDs installs ServiceEntry and DestinationRule CRDs with a
// schema that keeps every field, and waits until discovery serves them.
func installIstioCRDs(ctx context.Context, t *testing.T, env *envtest.Env, dyn dynamic.Interface) {
	t.Helper()
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, k := range []struct{ kind, plural string }{{"ServiceEntry", "serviceentries"}, {"DestinationRule", "destinationrules"}} {
		crd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": k.plural + ".networking.istio.io"},
			"spec": map[string]any{
				"group": "networking.istio.io", "scope": "Namespaced",
				"names": map[string]any{"kind": k.kind, "plural": k.plural, "singular": strings.ToLower(k.kind), "listKind": k.kind + "List"},
				"versions": []any{map[string]any{
					"name": "v1", "served": true, "storage": true,
					"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
				}},
			},
		}}
		if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatal(err)
		}
	}
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := dc.ServerResourcesForGroupVersion("networking.istio.io/v1")
		served := 0
		if err == nil {
			for _, r := range res.APIResources {
				if r.Name == "serviceentries" || r.Name == "destinationrules" {
					served++
				}
			}
		}
		if served == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Istio CRDs not served after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
