package audit

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/inzone-io/inzone/lint"
	"github.com/inzone-io/inzone/lint/rego"
	"github.com/inzone-io/inzone/policies"
	"github.com/inzone-io/inzone/report"
	"github.com/inzone-io/inzone/workload"
	"github.com/inzone-io/inzone/workload/workloadtest"
)

// unsafeSpec calls an ELB by its hostname and spreads over zones without a
// labelSelector: an audit ELB reference and two lint findings on any
// workload kind.
func unsafeSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "app:1", Env: []corev1.EnvVar{{Name: "ORDERS_URL", Value: "http://" + elbHost + "/v1"}}}},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: ZoneLabel, WhenUnsatisfiable: corev1.ScheduleAnyway,
		}},
	}
}

func policyLinter(t *testing.T) *lint.Linter {
	t.Helper()
	engine, err := rego.New(context.Background(), rego.Options{Policies: []fs.FS{policies.FS}})
	if err != nil {
		t.Fatal(err)
	}
	return &lint.Linter{Engine: engine}
}

// TestEveryWorkloadKindIsLintedAndScanned: one object of each kind in
// workload.Kinds() (a Pod as Input.Pods, the others as Input.Workloads) is
// scanned for ELB hostnames and linted, each under its own file.
func TestEveryWorkloadKindIsLintedAndScanned(t *testing.T) {
	in := Input{Nodes: threeZones(), Services: []corev1.Service{lbService("shop", "orders", elbHost)}}
	var files []string
	for _, k := range workload.Kinds() {
		name := "w-" + strings.ToLower(k.Kind)
		obj := workloadtest.Object(t, k, "shop", name, unsafeSpec())
		if p, ok := obj.(*corev1.Pod); ok {
			in.Pods = append(in.Pods, *p)
		} else {
			in.Workloads = append(in.Workloads, obj)
		}
		files = append(files, FilePath(k.Kind, "shop", name))
	}
	rep, err := Audit(context.Background(), in, Options{Lint: policyLinter(t)})
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]bool{}
	for _, r := range rep.ELBReferences {
		refs[r.Object] = true
	}
	findings := map[string]bool{}
	for _, f := range rep.LintFindings {
		findings[f.File+"|"+f.Rule] = true
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			if !refs[f] {
				t.Errorf("no ELB reference from %s in %v", f, rep.ELBReferences)
			}
			for _, rule := range []string{"aws-elb-hostname", "zone-spread-no-selector"} {
				if !findings[f+"|"+rule] {
					t.Errorf("no %s finding on %s", rule, f)
				}
			}
		})
	}
	if len(rep.ELBReferences) != len(files) {
		t.Errorf("%d ELB references for %d workloads: %+v", len(rep.ELBReferences), len(files), rep.ELBReferences)
	}
}

// TestReplicationController: a ReplicationController's template is linted
// and scanned once; its pods, which carry the same spec, are its workload
// (3 pods, skew 2: a zone skew finding), not workloads of their own.
func TestReplicationController(t *testing.T) {
	rc := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "legacy"},
		Spec: corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](3), Selector: map[string]string{"app": "legacy"},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "legacy"}}, Spec: unsafeSpec()}},
	}
	pods := spread("shop", "legacy", []string{"a1", "a2", "b1", "a1"}, func(p *corev1.Pod) {
		p.OwnerReferences = owned("ReplicationController", "legacy")
		n := p.Spec.NodeName
		p.Spec = *rc.Spec.Template.Spec.DeepCopy()
		p.Spec.NodeName = n
	})
	in := Input{
		Nodes: threeZones(), Pods: pods, Workloads: []runtime.Object{rc},
		Services: []corev1.Service{lbService("shop", "orders", elbHost)},
	}
	rep, err := Audit(context.Background(), in, Options{Lint: policyLinter(t)})
	if err != nil {
		t.Fatal(err)
	}
	file := FilePath("ReplicationController", "shop", "legacy")
	var objects []string
	for _, r := range rep.ELBReferences {
		objects = append(objects, r.Object+"|"+r.Field)
	}
	if want := []string{file + "|container app env ORDERS_URL"}; !slices.Equal(objects, want) {
		t.Errorf("ELB references %v, want %v: the pods are the ReplicationController's", objects, want)
	}
	var linted []string
	for _, f := range rep.LintFindings {
		if !strings.HasPrefix(f.File, "Service/") {
			linted = append(linted, f.File+"|"+f.Rule)
		}
	}
	slices.Sort(linted)
	if want := []string{file + "|aws-elb-hostname", file + "|zone-spread-no-selector"}; !slices.Equal(linted, want) {
		t.Errorf("lint findings %v, want %v", linted, want)
	}
	if len(rep.Workloads) != 1 {
		t.Fatalf("workloads %+v, want the ReplicationController alone", rep.Workloads)
	}
	w := rep.Workloads[0]
	if w.Kind != "ReplicationController" || w.Name != "legacy" || w.Pods != 4 || w.PodsPerZone["zone-a"] != 3 || w.Skew != 3 {
		t.Errorf("workload %+v, want ReplicationController legacy, 4 pods, 3 in zone-a, skew 3", w)
	}
	if n := countRule(rep.Findings(), report.RuleAuditZoneSkew.ID); n != 1 {
		t.Errorf("%d %s findings, want 1", n, report.RuleAuditZoneSkew.ID)
	}
}

// TestWorkloadsRefusesOtherObjects: Input.Workloads holds typed workloads
// other than pods; anything else is an error naming its index, not a
// silently smaller audit.
func TestWorkloadsRefusesOtherObjects(t *testing.T) {
	for _, tt := range []struct {
		name string
		obj  runtime.Object
	}{
		{"a Service", &corev1.Service{}},
		{"a Pod, which belongs in Pods", &corev1.Pod{}},
		{"a nil ReplicationController", (*corev1.ReplicationController)(nil)},
		{"nil", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Nodes: threeZones(), Workloads: []runtime.Object{&corev1.ReplicationController{}, tt.obj}}
			_, err := Audit(context.Background(), in, Options{})
			if err == nil || !strings.Contains(err.Error(), "Input.Workloads[1]") {
				t.Errorf("err = %v, want one naming Input.Workloads[1]", err)
			}
		})
	}
}

// TestCreatorsFromEveryKind: a workload another created is reported as its
// creator, whichever kind package workload says created it: a ReplicaSet's
// pods without the pod-template-hash label (which alone would name the
// Deployment) are still the Deployment's once the ReplicaSet is listed;
// a ReplicaSet of another controller stays a ReplicaSet.
func TestCreatorsFromEveryKind(t *testing.T) {
	rsPod := func(name, rs string) corev1.Pod {
		return pod("shop", name, "a1", func(p *corev1.Pod) { p.OwnerReferences = owned("ReplicaSet", rs) })
	}
	in := Input{
		Nodes: threeZones(),
		Pods:  []corev1.Pod{rsPod("w-1", "web-old"), rsPod("w-2", "web-old"), rsPod("r-1", "rollout-1")},
		Workloads: []runtime.Object{
			&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-old", OwnerReferences: owned("Deployment", "web")}},
			&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "rollout-1", OwnerReferences: owned("Rollout", "r")}},
		},
	}
	var got []string
	for _, w := range run(t, in).Workloads {
		got = append(got, w.Kind+"/"+w.Name)
	}
	slices.Sort(got)
	if want := []string{"Deployment/web", "ReplicaSet/rollout-1"}; !slices.Equal(got, want) {
		t.Errorf("workloads %v, want %v", got, want)
	}
}
