package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/inzone-io/inzone/lint"
	"github.com/inzone-io/inzone/lint/rego"
	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/policies"
	"github.com/inzone-io/inzone/report"
	"github.com/inzone-io/inzone/test/shared"
)

const elbHost = "internal-orders-1234.us-east-1.elb.amazonaws.com"

func lbService(ns, name, host string) corev1.Service {
	s := service(ns, name, map[string]string{"app": name})
	s.Spec.Type = corev1.ServiceTypeLoadBalancer
	s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: host}}
	return s
}

func template(env ...corev1.EnvVar) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1", Env: env}}},
	}
}

func deployment(ns, name string, replicas int32, tmpl corev1.PodTemplateSpec) appsv1.Deployment {
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels}, Template: tmpl},
	}
}

func owned(kind, name string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{Kind: kind, Name: name, Controller: ptr.To(true)}}
}

func TestELBReferences(t *testing.T) {
	url := corev1.EnvVar{Name: "ORDERS_URL", Value: "http://" + elbHost + ":8080/v1"}
	cronJob := batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nightly"}}
	cronJob.Spec.JobTemplate.Spec.Template = template()
	cronJob.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args = []string{"--orders", elbHost}
	rsOwned := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-5d8f", OwnerReferences: owned("Deployment", "web")}, Spec: appsv1.ReplicaSetSpec{Template: template(url)}}
	jobOwned := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nightly-1", OwnerReferences: owned("CronJob", "nightly")}, Spec: batchv1.JobSpec{Template: template(url)}}
	ownedPod := pod("shop", "web-5d8f-x", "a1", func(p *corev1.Pod) {
		p.OwnerReferences = owned("ReplicaSet", "web-5d8f")
		p.Spec.Containers[0].Env = []corev1.EnvVar{url}
	})
	barePod := pod("shop", "debug", "a1", func(p *corev1.Pod) { p.Spec.Containers[0].Command = []string{"curl", elbHost} })
	in := Input{
		Nodes: threeZones(),
		Pods:  []corev1.Pod{ownedPod, barePod},
		Services: []corev1.Service{
			lbService("shop", "orders", elbHost),
			lbService("shop", "other", "internal-other-9.us-east-1.elb.amazonaws.com"),
		},
		Workloads: []runtime.Object{
			ptr.To(deployment("shop", "web", 3, template(url, corev1.EnvVar{Name: "UNKNOWN", Value: "x-1.us-west-2.elb.amazonaws.com"}))),
			&rsOwned, &jobOwned, &cronJob,
		},
		ConfigMaps: []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cfg"},
			Data: map[string]string{"upstream": elbHost, "plain": "orders.shop.svc"}}},
	}
	cfg := mutate.DefaultConfig()
	cfg.DDSD.Env = "staging"
	ddsd, err := mutate.NewEngine(cfg, mutate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Audit(context.Background(), in, Options{DDSD: ddsd})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ConfigMap/shop/cfg|data key upstream",
		"CronJob/shop/nightly|container app args[1]",
		"Deployment/shop/web|container app env ORDERS_URL",
		"Pod/shop/debug|container app command[1]",
	}
	var got []string
	for _, r := range rep.ELBReferences {
		got = append(got, r.Object+"|"+r.Field)
		if r.Service != "shop/orders" || r.DDSD != "orders.service.staging.ddsd" || r.Host != elbHost {
			t.Errorf("reference %+v: want Service shop/orders, DDSD orders.service.staging.ddsd", r)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("references:\n%s\nwant (owned ReplicaSets, Jobs and pods are their owners'; unknown ELBs are lint's):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := countRule(rep.Findings(), report.RuleAuditELBReferenced.ID); n != len(want) {
		t.Errorf("%d %s findings, want %d", n, report.RuleAuditELBReferenced.ID, len(want))
	}
}

func countRule(fs []report.Finding, rule string) int {
	n := 0
	for _, f := range fs {
		if f.Rule == rule {
			n++
		}
	}
	return n
}

// TestELBReferencesSharedHostname: when two live Services claim one
// hostname, the audit names the older one, as the webhook rewrites to it,
// whatever the order the API server listed them in.
func TestELBReferencesSharedHostname(t *testing.T) {
	older := lbService("shop", "orders", elbHost)
	older.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	newer := lbService("other", "thief", elbHost)
	newer.CreationTimestamp = metav1.NewTime(older.CreationTimestamp.Add(time.Minute))
	ddsd, err := mutate.NewEngine(mutate.DefaultConfig(), mutate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		services []corev1.Service
	}{
		{"the older Service listed first", []corev1.Service{older, newer}},
		{"the older Service listed last", []corev1.Service{newer, older}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{
				Nodes:     threeZones(),
				Services:  tt.services,
				Workloads: []runtime.Object{ptr.To(deployment("shop", "web", 1, template(corev1.EnvVar{Name: "ORDERS", Value: elbHost})))},
			}
			rep, err := Audit(context.Background(), in, Options{DDSD: ddsd})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.ELBReferences) != 1 || rep.ELBReferences[0].Service != "shop/orders" {
				t.Errorf("references %+v, want one naming shop/orders", rep.ELBReferences)
			}
		})
	}
}

// TestLintLiveObjects: the lint policies run on the live workloads and
// Istio objects with the rule IDs of `inzone lint`, once per template.
func TestLintLiveObjects(t *testing.T) {
	ctx := context.Background()
	idx := NewELBIndex([]corev1.Service{lbService("shop", "orders", elbHost)})
	ddsd, err := mutate.NewEngine(mutate.DefaultConfig(), mutate.Options{ELBs: idx})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := rego.New(ctx, rego.Options{Policies: []fs.FS{policies.FS}, ELBs: func(k string) (string, bool) { return ddsd.LookupELB(k, "") }})
	if err != nil {
		t.Fatal(err)
	}
	se := istio("ServiceEntry", "ext", map[string]any{"hosts": []any{"api.example.com"}, "resolution": "DNS", "location": "MESH_EXTERNAL"})
	dr := istio("DestinationRule", "orders", map[string]any{"host": "orders", "trafficPolicy": map[string]any{"loadBalancer": map[string]any{"localityLbSetting": map[string]any{"enabled": true}}}})
	web := deployment("shop", "web", 3, template(corev1.EnvVar{Name: "ORDERS", Value: elbHost}))
	sts := appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db"}, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), Template: template()}}
	rsOwned := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", OwnerReferences: owned("Deployment", "web")},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](3), Template: template()}}
	rep, err := Audit(ctx, Input{
		Nodes: threeZones(), Services: []corev1.Service{lbService("shop", "orders", elbHost)},
		Workloads: []runtime.Object{&web, &sts, &rsOwned},
		Istio:     []unstructured.Unstructured{se, dr},
	}, Options{Lint: &lint.Linter{Engine: engine}, DDSD: ddsd})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]report.Finding{}
	for _, f := range rep.LintFindings {
		got[f.File+"|"+f.Rule] = f
	}
	for _, tt := range []struct{ key, hint string }{
		{key: "Deployment/shop/web|workload-no-zone-spread"},
		{key: "StatefulSet/shop/db|workload-no-zone-spread"},
		{key: "Deployment/shop/web|aws-elb-hostname", hint: "orders.service.prod.ddsd"},
		{key: "ServiceEntry/shop/ext|istio-service-entry-dns"},
		{key: "DestinationRule/shop/orders|istio-locality-without-outlier-detection"},
	} {
		f, ok := got[tt.key]
		if !ok {
			t.Errorf("no finding %s in %v", tt.key, keys(got))
			continue
		}
		if !strings.Contains(f.Hint, tt.hint) {
			t.Errorf("%s: hint %q lacks %q", tt.key, f.Hint, tt.hint)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "ReplicaSet/") {
			t.Errorf("a ReplicaSet owned by a Deployment was linted: %s", k)
		}
	}
}

func istio(kind, name string, spec map[string]any) unstructured.Unstructured {
	return unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": kind,
		"metadata": map[string]any{"namespace": "shop", "name": name}, "spec": spec,
	}}
}

func keys(m map[string]report.Finding) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// findingsReport has one of each audit finding and one lint finding.
func findingsReport(t *testing.T, threshold float64) *Report {
	t.Helper()
	pods := spread("shop", "web", []string{"a1", "a2", "a1", "b1"}) // 3/1/0: skew 3
	pods = append(pods, spread("shop", "ok", []string{"a1", "b1", "c1"}, withProxy(true))...)
	in := Input{
		Nodes:          append(threeZones(), node("x1", "")),
		Pods:           pods,
		Services:       []corev1.Service{service("shop", "web", map[string]string{"app": "web"}), lbService("shop", "orders", elbHost)},
		EndpointSlices: []discoveryv1.EndpointSlice{slice("shop", "web", "zone-a", "zone-b", "zone-c", "zone-a", "zone-b", "zone-c")},
		Workloads:      []runtime.Object{ptr.To(deployment("shop", "client", 1, template(corev1.EnvVar{Name: "U", Value: elbHost})))},
	}
	engine, err := rego.New(context.Background(), rego.Options{Policies: []fs.FS{policies.FS}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Audit(context.Background(), in, Options{Lint: &lint.Linter{Engine: engine}, CrossZoneThreshold: threshold})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestNoProxySeverity(t *testing.T) {
	for _, tt := range []struct {
		name string
		pods []corev1.Pod
		want report.Severity
		msg  string
	}{
		{"pods beside injected ones predate injection", append(spread("shop", "old", []string{"a1", "b1"}), spread("shop", "new", []string{"c1"}, withProxy(false))...), report.SeverityWarning, "created before injection"},
		{"a namespace without any proxy may not be meant for the mesh", spread("shop", "old", []string{"a1", "b1"}), report.SeverityInfo, "namespace not enabled"},
		{"opted-out pods are no finding", spread("shop", "x", []string{"a1"}, func(p *corev1.Pod) { p.Labels["inzone.io/inject"] = "false" }), "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := run(t, Input{Nodes: threeZones(), Pods: tt.pods})
			var got []report.Finding
			for _, f := range rep.Findings() {
				if f.Rule == report.RuleAuditNoProxy.ID {
					got = append(got, f)
				}
			}
			if tt.want == "" {
				if len(got) != 0 {
					t.Errorf("findings %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Severity != tt.want || !strings.Contains(got[0].Message, tt.msg) {
				t.Errorf("findings %+v, want one %s mentioning %q", got, tt.want, tt.msg)
			}
		})
	}
}

func TestFindings(t *testing.T) {
	for _, tt := range []struct {
		name      string
		threshold float64
		want      map[string]string // rule -> file
		crossZone bool
	}{
		{"the default threshold flags web's traffic", 0, map[string]string{
			report.RuleAuditZoneSkew.ID: "app/shop/web", report.RuleAuditNoProxy.ID: "Namespace/shop", report.RuleAuditNodeNoZone.ID: "Node/x1",
			report.RuleAuditELBReferenced.ID: "Deployment/shop/client", report.RuleAuditCrossZone.ID: "Service/shop/web",
			"service-no-topology-aware-routing": "Service/shop/web",
		}, true},
		{"a threshold above the prediction does not", 0.9, nil, false},
		{"a negative threshold never does", -1, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := findingsReport(t, tt.threshold)
			fs := rep.Findings()
			byRule := map[string]string{}
			for _, f := range fs {
				byRule[f.Rule] = f.File
				if f.Hint == "" {
					t.Errorf("%s has no hint", f.Rule)
				}
			}
			for rule, file := range tt.want {
				if byRule[rule] != file {
					t.Errorf("%s on %q, want %q (all: %v)", rule, byRule[rule], file, byRule)
				}
			}
			if _, ok := byRule[report.RuleAuditCrossZone.ID]; ok != tt.crossZone {
				t.Errorf("cross-zone finding %v, want %v", ok, tt.crossZone)
			}
		})
	}
}

func TestWriteYAMLAndSARIF(t *testing.T) {
	rep := findingsReport(t, 0)
	var buf bytes.Buffer
	if err := Write(&buf, "yaml", rep, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := sigsyaml.UnmarshalStrict(buf.Bytes(), &back); err != nil {
		t.Fatalf("yaml does not read back strictly: %v\n%s", err, buf.String())
	}
	if len(back.Workloads) != len(rep.Workloads) || len(back.ELBReferences) != 1 || back.ELBReferences[0].DDSD != "orders.service.prod.ddsd" {
		t.Errorf("yaml round trip lost data: %+v", back)
	}

	buf.Reset()
	if err := Write(&buf, "sarif", rep, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	shared.ValidateSARIF(t, buf.Bytes())
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Version string
					Rules   []struct{ ID string }
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if run.Tool.Driver.Version != "v1.2.3" {
		t.Errorf("driver version %q", run.Tool.Driver.Version)
	}
	if len(run.Results) != len(rep.Findings()) {
		t.Errorf("%d results, want %d", len(run.Results), len(rep.Findings()))
	}
	seen := map[string]bool{}
	for _, r := range run.Results {
		seen[r.RuleID] = true
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("ruleIndex %d does not point at %s", r.RuleIndex, r.RuleID)
		}
		if loc := r.Locations[0].PhysicalLocation; loc.Region.StartLine < 1 || loc.ArtifactLocation.URI == "" {
			t.Errorf("%s: location %+v", r.RuleID, loc)
		}
	}
	for _, id := range []string{report.RuleAuditZoneSkew.ID, report.RuleAuditELBReferenced.ID, report.RuleAuditCrossZone.ID, "service-no-topology-aware-routing"} {
		if !seen[id] {
			t.Errorf("no SARIF result for %s", id)
		}
	}
}
