package workload

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// typedObjects is one empty typed object per kind, with the group and
// version of its Go package.
func typedObjects() map[string]struct {
	obj runtime.Object
	gv  schema.GroupVersion
} {
	type entry = struct {
		obj runtime.Object
		gv  schema.GroupVersion
	}
	return map[string]entry{
		"Deployment":            {&appsv1.Deployment{}, appsv1.SchemeGroupVersion},
		"StatefulSet":           {&appsv1.StatefulSet{}, appsv1.SchemeGroupVersion},
		"DaemonSet":             {&appsv1.DaemonSet{}, appsv1.SchemeGroupVersion},
		"ReplicaSet":            {&appsv1.ReplicaSet{}, appsv1.SchemeGroupVersion},
		"ReplicationController": {&corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Template: &corev1.PodTemplateSpec{}}}, corev1.SchemeGroupVersion},
		"Job":                   {&batchv1.Job{}, batchv1.SchemeGroupVersion},
		"CronJob":               {&batchv1.CronJob{}, batchv1.SchemeGroupVersion},
		"Pod":                   {&corev1.Pod{}, corev1.SchemeGroupVersion},
	}
}

// TestOfAgreesWithTemplatePath holds the typed accessor and the path table
// to the same field: a container named through Of's spec is found in the
// object's JSON at TemplatePath + spec.containers, and the kind's group and
// version are its Go package's.
func TestOfAgreesWithTemplatePath(t *testing.T) {
	objs := typedObjects()
	if len(objs) != len(Kinds()) {
		t.Fatalf("%d typed objects for %d kinds: add the new kind here", len(objs), len(Kinds()))
	}
	for _, want := range Kinds() {
		t.Run(want.Kind, func(t *testing.T) {
			e, ok := objs[want.Kind]
			if !ok {
				t.Fatalf("no typed object for %s", want.Kind)
			}
			k, spec, ok := Of(e.obj)
			if !ok || k.Kind != want.Kind {
				t.Fatalf("Of = %q, %v; want %s", k.Kind, ok, want.Kind)
			}
			if kk, ok := KindOf(e.obj); !ok || kk.Kind != want.Kind {
				t.Errorf("KindOf = %q, %v; want %s", kk.Kind, ok, want.Kind)
			}
			if gv := (schema.GroupVersion{Group: k.Group, Version: k.Version}); gv != e.gv {
				t.Errorf("group/version %s, want %s", gv, e.gv)
			}
			spec.Containers = []corev1.Container{{Name: "marker"}}
			data, err := json.Marshal(e.obj)
			if err != nil {
				t.Fatal(err)
			}
			var node any
			if err := json.Unmarshal(data, &node); err != nil {
				t.Fatal(err)
			}
			for _, key := range append(append([]string{}, k.TemplatePath...), "spec", "containers") {
				m, _ := node.(map[string]any)
				if node = m[key]; node == nil {
					t.Fatalf("no %q on the way to %v in %s", key, k.TemplatePath, data)
				}
			}
			if cs, _ := node.([]any); len(cs) != 1 || cs[0].(map[string]any)["name"] != "marker" {
				t.Errorf("containers at %v = %v, want the marker", k.TemplatePath, node)
			}
		})
	}
}

func TestOfRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		obj  runtime.Object
		kind string // KindOf's: a workload without a template has a kind
	}{
		{"nil", nil, ""},
		{"a nil Deployment", (*appsv1.Deployment)(nil), ""},
		{"a nil Pod", (*corev1.Pod)(nil), ""},
		{"a nil CronJob", (*batchv1.CronJob)(nil), ""},
		{"a nil ReplicationController", (*corev1.ReplicationController)(nil), ""},
		{"a ReplicationController without a template", &corev1.ReplicationController{}, "ReplicationController"},
		{"a Service", &corev1.Service{}, ""},
		{"a PodTemplate, which makes no pods", &corev1.PodTemplate{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if k, spec, ok := Of(tt.obj); ok || spec != nil || k.Kind != "" {
				t.Errorf("Of = %+v, %v, %v; want nothing", k, spec, ok)
			}
			if k, ok := KindOf(tt.obj); ok != (tt.kind != "") || k.Kind != tt.kind {
				t.Errorf("KindOf = %q, %v; want %q", k.Kind, ok, tt.kind)
			}
		})
	}
}
