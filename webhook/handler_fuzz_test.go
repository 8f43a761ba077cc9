package webhook

import (
	"encoding/json"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/inzone-io/inzone/mutate"
)

// FuzzHandlerDecode feeds arbitrary pod JSON through the full admission
// path. Whatever comes in, the handler must answer (never panic through),
// and an allowed response with a patch must carry a patch that applies to
// the object it was sent, yielding a pod that still decodes.
func FuzzHandlerDecode(f *testing.F) {
	seed := func(v any) {
		b, _ := json.Marshal(v)
		f.Add(b)
	}
	seed(testPod(2, 3))
	hostNet := testPod(1, 2)
	hostNet.Spec.HostNetwork = true
	seed(hostNet)
	pinned := testPod(1, 2)
	pinned.Spec.NodeSelector = map[string]string{"topology.kubernetes.io/zone": "us-east-1a"}
	pinned.Annotations = map[string]string{mutate.AnnotationProxyCPU: "250m", mutate.AnnotationStatus: "{broken"}
	seed(pinned)
	seed(map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "a", "env": []any{}}}}})
	seed(map[string]any{"metadata": map[string]any{"name": "p", "labels": map[string]any{"app": "x"}, "annotations": nil},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "a", "env": nil, "args": []any{"internal-orders-1234567890.us-east-1.elb.amazonaws.com"}}}, "initContainers": nil}})
	f.Add([]byte(`{"metadata":{"annotations":{}},"spec":{"initContainers":[],"containers":[{"name":"x","args":["http://a-1.us-east-1.elb.amazonaws.com"]}]}}`))
	f.Add([]byte(`{"metadata":{"labels":{"app":"x"}},"spec":{"containers":null}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"spec":{"containers":[{"name":"a","env":[{"name":"E","value":"internal-orders-1234567890.us-east-1.elb.amazonaws.com."}]}]}}`))
	f.Add([]byte(`{"metadata":{"labels":{"app":"x","Inzone.io/inject":"false"}},"spec":{"topologySpreadConstraints":[{"topologyKey":"topology.kubernetes.io/zone"}]}}`))

	h := newMutator(testEngine(f))
	f.Fuzz(func(t *testing.T, obj []byte) {
		ar := admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
			Request: &admissionv1.AdmissionRequest{
				UID: "u", Kind: podGVK, Namespace: "shop", Operation: admissionv1.Create,
			},
		}
		if json.Valid(obj) {
			ar.Request.Object.Raw = obj
		}
		body, err := json.Marshal(ar)
		if err != nil {
			t.Skip()
		}
		resp := serve(t, h, body)
		if !resp.Allowed || len(resp.Patch) == 0 {
			return
		}
		patch, err := jsonpatchapply.DecodePatch(resp.Patch)
		if err != nil {
			t.Fatalf("undecodable patch: %v", err)
		}
		out, err := patch.Apply(obj)
		if err != nil {
			t.Fatalf("patch does not apply to the object sent: %v\nobject: %s\npatch: %s", err, obj, resp.Patch)
		}
		var pod corev1.Pod
		if err := json.Unmarshal(out, &pod); err != nil {
			t.Fatalf("patched object is not a pod: %v", err)
		}
	})
}
