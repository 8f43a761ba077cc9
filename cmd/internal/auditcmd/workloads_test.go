package auditcmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/inzone-io/inzone/audit"
	"github.com/inzone-io/inzone/workload"
	"github.com/inzone-io/inzone/workload/workloadtest"
)

const testELB = "internal-orders-1.us-east-1.elb.amazonaws.com"

// TestEveryWorkloadKindHasALister: each kind of workload.Kinds() but Pod
// has a lister, the table has no other, and each lists its own kind.
func TestEveryWorkloadKindHasALister(t *testing.T) {
	kinds := listedWorkloadKinds()
	if len(kinds) != len(workload.Kinds())-1 {
		t.Errorf("%d listed kinds, want every kind of workload.Kinds() but Pod", len(kinds))
	}
	if len(workloadListers) != len(kinds) {
		t.Errorf("%d listers for %d kinds", len(workloadListers), len(kinds))
	}
	for _, k := range kinds {
		t.Run(k.Kind, func(t *testing.T) {
			c := fake.NewClientset(workloadtest.Object(t, k, "shop", "one", corev1.PodSpec{}))
			objs, err := listWorkloads(context.Background(), nil, c, k, "shop")
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 1 {
				t.Fatalf("listed %d objects, want 1", len(objs))
			}
			got, ok := workload.KindOf(objs[0])
			if m, err := meta.Accessor(objs[0]); !ok || got.Kind != k.Kind || err != nil || m.GetName() != "one" {
				t.Errorf("listed %T (%s), want %s one", objs[0], got.Kind, k.Kind)
			}
		})
	}
}

// TestClusterRoleGrantsEveryWorkloadKind: the documented ClusterRole, and
// the 403 message's summary of it, let the audit list every kind it lists.
func TestClusterRoleGrantsEveryWorkloadKind(t *testing.T) {
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict([]byte(ClusterRole), &role); err != nil {
		t.Fatal(err)
	}
	for _, k := range workload.Kinds() {
		granted := false
		for _, r := range role.Rules {
			if contains(r.APIGroups, k.Group) && contains(r.Resources, k.Resource) && contains(r.Verbs, "list") {
				granted = true
			}
		}
		if !granted {
			t.Errorf("ClusterRole does not grant list on %s", k.GroupResource())
		}
		if !strings.Contains(rbacSummary, k.Resource) {
			t.Errorf("rbacSummary does not name %s", k.Resource)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestAuditListsAndLintsEveryWorkloadKind: through the clientset, one
// object of each workload kind that calls an ELB by its hostname and
// spreads over zones without a labelSelector is scanned and linted, each
// under its own file; a ReplicationController's pods are its workload and
// are not linted again.
func TestAuditListsAndLintsEveryWorkloadKind(t *testing.T) {
	spec := corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "app:1", Env: []corev1.EnvVar{{Name: "ORDERS_URL", Value: "http://" + testELB}}}},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway,
		}},
	}
	orders := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}},
		Status:     corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{Hostname: testELB}}}},
	}
	objs := append(auditObjects(), orders)
	var files []string
	for _, k := range workload.Kinds() {
		name := "w-" + strings.ToLower(k.Kind)
		obj := workloadtest.Object(t, k, "shop", name, spec)
		objs = append(objs, obj)
		files = append(files, audit.FilePath(k.Kind, "shop", name))
	}
	// Two pods of the ReplicationController, with its spec: its workload.
	for _, n := range []string{"a1", "b1"} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "w-rc-" + n, OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "v1", Kind: "ReplicationController", Name: "w-replicationcontroller", Controller: ptr.To(true)}}}, Spec: *spec.DeepCopy()}
		p.Spec.NodeName = n
		objs = append(objs, p)
	}
	out, err := runAudit(t, &Options{Client: fake.NewClientset(objs...), AllNamespaces: true, Output: "json", NoIstio: true})
	if err != nil {
		t.Fatal(err)
	}
	var rep audit.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	refs := map[string]int{}
	for _, r := range rep.ELBReferences {
		refs[r.Object]++
	}
	findings := map[string]int{}
	for _, f := range rep.LintFindings {
		findings[f.File+"|"+f.Rule]++
	}
	for _, f := range files {
		if refs[f] != 1 {
			t.Errorf("%d ELB references from %s, want 1", refs[f], f)
		}
		for _, rule := range []string{"aws-elb-hostname", "zone-spread-no-selector"} {
			if findings[f+"|"+rule] != 1 {
				t.Errorf("%d %s findings on %s, want 1", findings[f+"|"+rule], rule, f)
			}
		}
	}
	if len(rep.ELBReferences) != len(files) {
		t.Errorf("%d ELB references for %d workloads (the pods of the ReplicationController are its): %+v", len(rep.ELBReferences), len(files), rep.ELBReferences)
	}
	var rc *audit.Workload
	for i, w := range rep.Workloads {
		if w.Kind == "ReplicationController" {
			rc = &rep.Workloads[i]
		}
	}
	if rc == nil || rc.Name != "w-replicationcontroller" || rc.Pods != 2 || rc.PodsPerZone["zone-a"] != 1 || rc.PodsPerZone["zone-b"] != 1 {
		t.Errorf("ReplicationController workload = %+v, want 2 pods, zone-a=1 zone-b=1", rc)
	}
}

// TestTrimWorkloads: listed workloads lose their managed fields and
// kubectl's last-applied copy, as the other lists do, and keep their
// template.
func TestTrimWorkloads(t *testing.T) {
	var objs []runtime.Object
	for _, k := range listedWorkloadKinds() {
		obj := workloadtest.Object(t, k, "shop", "one", corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}})
		m, _ := meta.Accessor(obj)
		m.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl"}})
		m.SetAnnotations(map[string]string{lastApplied: "{}", "keep": "x"})
		objs = append(objs, obj)
	}
	trim(objs)
	for _, obj := range objs {
		m, _ := meta.Accessor(obj)
		_, spec, ok := workload.Of(obj)
		if m.GetManagedFields() != nil || m.GetAnnotations()[lastApplied] != "" || m.GetAnnotations()["keep"] != "x" || !ok || len(spec.Containers) != 1 {
			t.Errorf("%T after trim: managed fields %v, annotations %v, template kept %v", obj, m.GetManagedFields(), m.GetAnnotations(), ok)
		}
	}
}

// TestREADMEShowsClusterRole: the README's RBAC block is ClusterRole, so a
// kind added to the audit is added to what users are told to grant.
func TestREADMEShowsClusterRole(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```yaml\n"+ClusterRole+"```\n") {
		t.Errorf("README.md has no yaml block that is ClusterRole:\n%s", ClusterRole)
	}
}
