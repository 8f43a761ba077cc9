package workload

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestPodTemplatePath(t *testing.T) {
	for _, tt := range []struct {
		name        string
		group, kind string
		want        string // dotted; "-" when not a workload
	}{
		{"a Deployment's template is spec.template", "apps", "Deployment", "spec.template"},
		{"a StatefulSet's template is spec.template", "apps", "StatefulSet", "spec.template"},
		{"a DaemonSet's template is spec.template", "apps", "DaemonSet", "spec.template"},
		{"a ReplicaSet's template is spec.template", "apps", "ReplicaSet", "spec.template"},
		{"a ReplicationController's template is spec.template", "", "ReplicationController", "spec.template"},
		{"a Job's template is spec.template", "batch", "Job", "spec.template"},
		{"a CronJob's template is in its job template", "batch", "CronJob", "spec.jobTemplate.spec.template"},
		{"a Pod is its own pod", "", "Pod", ""},
		{"a Deployment of another group is not a workload", "example.com", "Deployment", "-"},
		{"a Deployment of the core group is not a workload", "", "Deployment", "-"},
		{"the retired extensions group is not read", "extensions", "Deployment", "-"},
		{"a Pod of another group is not a workload", "apps", "Pod", "-"},
		{"kinds are matched exactly, as the API server does", "apps", "deployment", "-"},
		{"a Service is not a workload", "", "Service", "-"},
		{"nothing is not a workload", "", "", "-"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, ok := PodTemplatePath(tt.group, tt.kind)
			got := strings.Join(path, ".")
			if !ok {
				got = "-"
			}
			if got != tt.want {
				t.Errorf("PodTemplatePath(%q, %q) = %q, %v; want %q", tt.group, tt.kind, path, ok, tt.want)
			}
			k, found := lookup(tt.group, tt.kind)
			if found != ok || (found && (k.Kind != tt.kind || k.Group != tt.group)) {
				t.Errorf("lookup(%q, %q) = %+v, %v; PodTemplatePath says %v", tt.group, tt.kind, k, found, ok)
			}
		})
	}
}

// TestPodTemplatePathIsNotShared checks a caller appending to a path, or
// changing what Kinds returned, cannot change the table.
func TestPodTemplatePathIsNotShared(t *testing.T) {
	p, _ := PodTemplatePath("apps", "Deployment")
	_ = append(p, "spec")
	k := Kinds()
	k[0].TemplatePath[1] = "evil"
	k[0].ShortNames[0] = "evil"
	if _, ok := Parse("deploy"); !ok {
		t.Error("deploy is no longer a name")
	}
	if p, _ := PodTemplatePath("apps", "Deployment"); strings.Join(p, ".") != "spec.template" {
		t.Errorf("path changed to %q", p)
	}
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in, want string // want "" when unknown
	}{
		{"deployment", "Deployment"},
		{"Deployments", "Deployment"},
		{"deploy", "Deployment"},
		{"sts", "StatefulSet"},
		{"StatefulSets", "StatefulSet"},
		{"DS", "DaemonSet"},
		{"rs", "ReplicaSet"},
		{"rc", "ReplicationController"},
		{"replicationcontrollers", "ReplicationController"},
		{"job", "Job"},
		{"jobs", "Job"},
		{"cj", "CronJob"},
		{"cronjob", "CronJob"},
		{"po", "Pod"},
		{"pods", "Pod"},
		{"service", ""},
		{"svc", ""},
		{"app", ""},
		{"", ""},
		{"deploy ", ""},
		{"deploy\x00", ""},
		{"apps/deployment", ""},
		{"deployment.apps", ""},
		{strings.Repeat("deployment", 100_000), ""},
	} {
		t.Run(tt.in, func(t *testing.T) {
			k, ok := Parse(tt.in)
			if ok != (tt.want != "") || k.Kind != tt.want {
				t.Errorf("Parse(%.40q) = %q, %v; want %q", tt.in, k.Kind, ok, tt.want)
			}
		})
	}
}

// TestNamesAreUnique: no name the table gives means two kinds, and every
// name fits Parse's bound.
func TestNamesAreUnique(t *testing.T) {
	seen := map[string]string{}
	for _, k := range Kinds() {
		for _, n := range append([]string{k.Kind, k.Resource}, k.ShortNames...) {
			n = strings.ToLower(n)
			if other, dup := seen[n]; dup && other != k.Kind {
				t.Errorf("%q names both %s and %s", n, other, k.Kind)
			}
			seen[n] = k.Kind
			if len(n) > maxNameLen {
				t.Errorf("%q is longer than maxNameLen", n)
			}
			if p, ok := Parse(n); !ok || p.Kind != k.Kind {
				t.Errorf("Parse(%q) = %q, %v; want %s", n, p.Kind, ok, k.Kind)
			}
		}
	}
}

func TestGenerated(t *testing.T) {
	controller := func(kind string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{Kind: kind, Name: "x", Controller: ptr.To(true)}}
	}
	notController := []metav1.OwnerReference{{Kind: "Deployment", Name: "x"}}
	// The controller is found among other owners, in any place.
	afterOthers := []metav1.OwnerReference{{Kind: "CronJob", Name: "other"}, {Kind: "CronJob", Name: "nightly", Controller: ptr.To(true)}}
	for _, tt := range []struct {
		name  string
		group string
		kind  string
		refs  []metav1.OwnerReference
		want  bool
	}{
		{"a Deployment's ReplicaSet is generated", "apps", "ReplicaSet", controller("Deployment"), true},
		{"a ReplicaSet of another controller is a workload of its own", "apps", "ReplicaSet", controller("Rollout"), false},
		{"an owner that is not the controller does not count", "apps", "ReplicaSet", notController, false},
		{"a bare ReplicaSet is a workload", "apps", "ReplicaSet", nil, false},
		{"a CronJob's Job is generated", "batch", "Job", controller("CronJob"), true},
		{"a Job of another controller is a workload of its own", "batch", "Job", controller("Workflow"), false},
		{"a CronJob's Job is generated whatever its other owners", "batch", "Job", afterOthers, true},
		{"a ReplicationController is never generated", "", "ReplicationController", controller("Deployment"), false},
		{"a Pod of any controller is generated", "", "Pod", controller("Whatever"), true},
		{"a bare Pod is a workload", "", "Pod", nil, false},
		{"a Pod with an owner that is not its controller is a workload", "", "Pod", notController, false},
		{"a Deployment is never generated", "apps", "Deployment", controller("Deployment"), false},
		{"a StatefulSet is never generated", "apps", "StatefulSet", controller("Something"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k, ok := lookup(tt.group, tt.kind)
			if !ok {
				t.Fatalf("no kind %s/%s", tt.group, tt.kind)
			}
			if got := k.Generated(tt.refs); got != tt.want {
				t.Errorf("Generated = %v, want %v", got, tt.want)
			}
			kind, name, ok := k.Creator(tt.refs)
			wantKind, wantName := "", ""
			if tt.want {
				last := tt.refs[len(tt.refs)-1] // the controller, in every case
				wantKind, wantName = last.Kind, last.Name
			}
			if ok != tt.want || kind != wantKind || name != wantName {
				t.Errorf("Creator = %q, %q, %v; want %q, %q, %v", kind, name, ok, wantKind, wantName, tt.want)
			}
		})
	}
}

func TestKindsListsEveryKindOnce(t *testing.T) {
	var names []string
	for _, k := range Kinds() {
		names = append(names, k.Kind)
	}
	want := []string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "Pod"}
	if !slices.Equal(names, want) {
		t.Errorf("Kinds() = %v, want %v", names, want)
	}
}

func TestGroupResource(t *testing.T) {
	want := map[string]string{
		"Deployment": "deployments.apps", "ReplicationController": "replicationcontrollers",
		"CronJob": "cronjobs.batch", "Pod": "pods",
	}
	for _, k := range Kinds() {
		if w, ok := want[k.Kind]; ok && k.GroupResource().String() != w {
			t.Errorf("%s: GroupResource = %q, want %q", k.Kind, k.GroupResource(), w)
		}
	}
}
