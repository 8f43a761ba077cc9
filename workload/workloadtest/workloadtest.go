// Package workloadtest builds typed workload objects for tests from package
// workload's table alone, so that a kind added there is tested everywhere
// it is listed without a test changing.
package workloadtest

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/inzone-io/inzone/workload"
)

// Object is a typed object of kind k, as a clientset lists it, named
// namespace/name, with spec at k.TemplatePath.
func Object(t testing.TB, k workload.Kind, namespace, name string, spec corev1.PodSpec) runtime.Object {
	t.Helper()
	doc := map[string]any{"spec": spec}
	for i := len(k.TemplatePath) - 1; i >= 0; i-- {
		doc = map[string]any{k.TemplatePath[i]: doc}
	}
	doc["metadata"] = map[string]any{"namespace": namespace, "name": name}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := scheme.Scheme.New(k.GroupVersionKind())
	if err != nil {
		t.Fatalf("%s: %v", k.Kind, err)
	}
	if err := json.Unmarshal(data, obj); err != nil {
		t.Fatalf("%s: %v", k.Kind, err)
	}
	return obj
}
