package auditcmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/inzone-io/inzone/audit"
	"github.com/inzone-io/inzone/cmd/internal/cli"
	"github.com/inzone-io/inzone/cmd/internal/cli/clitest"
)

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func decodeReport(t *testing.T, out string) audit.Report {
	t.Helper()
	var rep audit.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return rep
}

func TestAuditCallers(t *testing.T) {
	t.Run("--from names the caller of every Service", func(t *testing.T) {
		o := &Options{Client: fake.NewClientset(auditObjects()...), AllNamespaces: true, Output: "json", From: "shop/app/web"}
		out, err := runAudit(t, o)
		if err != nil {
			t.Fatal(err)
		}
		rep := decodeReport(t, out)
		if rep.Callers != "shop/app/web" || len(rep.Services) != 1 || rep.Services[0].Callers["zone-a"] != 4 {
			t.Errorf("callers %q, services %+v", rep.Callers, rep.Services)
		}
	})
	t.Run("--call-graph edges get rates and cost at --price-per-gb", func(t *testing.T) {
		graph := writeFile(t, "graph.yaml", "- from: app/web\n  to: web\n  requestsPerSecond: 10\n  bytesPerSecond: 1000000\n")
		o := &Options{Client: fake.NewClientset(auditObjects()...), Output: "json", CallGraph: graph, PricePerGB: 0.02}
		o.Connection = nil
		out, err := runAudit(t, o)
		if err != nil {
			t.Fatal(err)
		}
		rep := decodeReport(t, out)
		// Without -n or a kubeconfig the namespace is "default": the edge
		// names default/web, which does not exist.
		if len(rep.Edges) != 1 || rep.Edges[0].From != "default/app/web" || !strings.Contains(rep.Edges[0].Skipped, "no Service default/web") {
			t.Fatalf("edges = %+v", rep.Edges)
		}
		graph = writeFile(t, "graph.yaml", "- namespace: shop\n  from: app/web\n  to: web\n  requestsPerSecond: 10\n  bytesPerSecond: 1000000\n")
		o = &Options{Client: fake.NewClientset(auditObjects()...), AllNamespaces: true, Output: "json", CallGraph: graph, PricePerGB: 0.02}
		if out, err = runAudit(t, o); err != nil {
			t.Fatal(err)
		}
		rep = decodeReport(t, out)
		// 4/1/1 callers to 2/2/2 endpoints: 1/3 crosses zones, 864 GB a
		// month of 1 MB/s, 2 x 0.02 USD a GB.
		e := rep.Edges[0]
		if e.Skipped != "" || e.Cost == nil || !closeTo(e.Cost.ZoneAwareUSDPerMonth, 864*2*0.02) || !closeTo(rep.EdgeTotals.Cost.SavedUSDPerMonth, 864*2*0.02) {
			t.Errorf("edge %+v cost %+v", e, e.Cost)
		}
	})
	for _, tt := range []struct {
		name string
		args func(t *testing.T) []string
		want []string
	}{
		{"a bad call graph names file, line and field", func(t *testing.T) []string {
			p := writeFile(t, "edges.yaml", "- from: deployment/a\n  to: b\n  requestsPerSecond: lots\n")
			return []string{"audit", "--call-graph", p}
		}, []string{"edges.yaml:3", "[0].requestsPerSecond", "want a number"}},
		{"a missing call graph names the flag", func(t *testing.T) []string {
			return []string{"audit", "--call-graph", filepath.Join(t.TempDir(), "nope.yaml")}
		}, []string{"--call-graph", "nope.yaml"}},
		{"a bad --from names the flag", func(t *testing.T) []string { return []string{"audit", "--from", "service/x"} }, []string{"--from", "unknown kind"}},
		{"a negative price is refused", func(t *testing.T) []string { return []string{"audit", "--price-per-gb", "-1"} }, []string{"--price-per-gb"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kubeconfig := writeFile(t, "kubeconfig", "apiVersion: v1\nkind: Config\n")
			code, _, errOut := clitest.Run(t, NewCommand, "", append(tt.args(t), "--kubeconfig", kubeconfig)...)
			if code != cli.ExitUsage {
				t.Errorf("exit %d, want %d", code, cli.ExitUsage)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}
}

func closeTo(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

var seGVR = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "serviceentries"}

// istioClients are a clientset whose discovery lists networking.istio.io
// (when withIstio) and a dynamic client holding one DNS ServiceEntry.
func istioClients(withIstio bool) (*fake.Clientset, *dynamicfake.FakeDynamicClient) {
	c := fake.NewClientset(auditObjects()...)
	if withIstio {
		c.Discovery().(*fakediscovery.FakeDiscovery).Resources = []*metav1.APIResourceList{{
			GroupVersion: "networking.istio.io/v1",
			APIResources: []metav1.APIResource{{Name: "serviceentries", Kind: "ServiceEntry", Namespaced: true}, {Name: "destinationrules", Kind: "DestinationRule", Namespaced: true}},
		}}
	}
	se := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
		"metadata": map[string]any{"namespace": "shop", "name": "ext"},
		"spec":     map[string]any{"hosts": []any{"api.example.com"}, "resolution": "DNS", "location": "MESH_EXTERNAL"},
	}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		seGVR: "ServiceEntryList",
		{Group: "networking.istio.io", Version: "v1", Resource: "destinationrules"}: "DestinationRuleList",
	}, se)
	return c, dyn
}

func TestAuditIstio(t *testing.T) {
	hasSEFinding := func(rep audit.Report) bool {
		for _, f := range rep.LintFindings {
			if f.Rule == "istio-service-entry-dns" && f.File == "ServiceEntry/shop/ext" {
				return true
			}
		}
		return false
	}
	t.Run("present: ServiceEntries are linted", func(t *testing.T) {
		c, dyn := istioClients(true)
		out, err := runAudit(t, &Options{Client: c, Dynamic: dyn, AllNamespaces: true, Output: "json"})
		if err != nil {
			t.Fatal(err)
		}
		if !hasSEFinding(decodeReport(t, out)) {
			t.Errorf("no istio-service-entry-dns finding:\n%s", out)
		}
	})
	t.Run("absent: skipped silently", func(t *testing.T) {
		c, dyn := istioClients(false)
		out, err := runAudit(t, &Options{Client: c, Dynamic: dyn, AllNamespaces: true, Output: "json"})
		if err != nil {
			t.Fatal(err)
		}
		if hasSEFinding(decodeReport(t, out)) {
			t.Error("Istio objects read without the API")
		}
		for _, a := range dyn.Actions() {
			t.Errorf("dynamic client called without the API: %v", a)
		}
	})
	t.Run("--no-istio: not read", func(t *testing.T) {
		c, dyn := istioClients(true)
		if _, err := runAudit(t, &Options{Client: c, Dynamic: dyn, AllNamespaces: true, Output: "json", NoIstio: true}); err != nil {
			t.Fatal(err)
		}
		if len(dyn.Actions()) != 0 {
			t.Errorf("dynamic client called with --no-istio: %v", dyn.Actions())
		}
	})
	t.Run("forbidden: the message names the resource and --no-istio", func(t *testing.T) {
		c, dyn := istioClients(true)
		dyn.PrependReactor("list", "serviceentries", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(seGVR.GroupResource(), "", fmt.Errorf("RBAC: nope"))
		})
		_, err := runAudit(t, &Options{Client: c, Dynamic: dyn, AllNamespaces: true, Output: "json"})
		if err == nil {
			t.Fatal("want an error")
		}
		for _, want := range []string{"forbidden: cannot list serviceentries.networking.istio.io at the cluster scope", "--no-istio", "get and list"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})
}

func TestAuditOutputs(t *testing.T) {
	for _, tt := range []struct {
		format string
		want   []string
	}{
		{"yaml", []string{"workloads:", "podsPerZone:", "elbReferences: []", "callers: own pods"}},
		{"sarif", []string{`"version": "2.1.0"`, `"ruleId": "audit-zone-skew"`, `"ruleId": "service-no-topology-aware-routing"`, `"uri": "app/shop/web"`}},
	} {
		t.Run(tt.format, func(t *testing.T) {
			out, err := runAudit(t, &Options{Client: fake.NewClientset(auditObjects()...), AllNamespaces: true, Output: tt.format})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s output lacks %q:\n%s", tt.format, w, out)
				}
			}
		})
	}
}

func TestAuditHelpShowsRBAC(t *testing.T) {
	code, out, errs := clitest.Run(t, NewCommand, "", "audit", "--help")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{ClusterRole, "--from", "--call-graph", "--price-per-gb", "--no-istio", "2,592,000"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
