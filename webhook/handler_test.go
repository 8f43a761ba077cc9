package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/inzone-io/inzone/mutate"
)

func testEngine(t testing.TB) *mutate.Engine {
	t.Helper()
	cfg := mutate.DefaultConfig()
	cfg.DDSD.ELBs = map[string]string{
		"internal-orders-1234567890.us-east-1.elb.amazonaws.com": "orders",
		"payments-0123456789abcdef.elb.us-west-2.amazonaws.com":  "payments",
	}
	cfg.DDSD.DNS = mutate.DDSDResolverExternal
	e, err := mutate.NewEngine(cfg, mutate.Options{NativeSidecarSupported: true, ControlPlaneCA: testCA(t)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// testPod is a Deployment's pod with containers*envPerContainer env vars,
// two of them ELB URLs.
func testPod(containers, envPerContainer int) *corev1.Pod {
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "web-7d4b9c8f6-", Namespace: "shop",
			Labels: map[string]string{"app.kubernetes.io/name": "web", "pod-template-hash": "7d4b9c8f6"},
		},
	}
	for c := 0; c < containers; c++ {
		ctr := corev1.Container{Name: fmt.Sprintf("c%d", c), Image: "example/web:1", Args: []string{"--port=8080"}}
		for i := 0; i < envPerContainer; i++ {
			ctr.Env = append(ctr.Env, corev1.EnvVar{Name: fmt.Sprintf("SETTING_%d", i), Value: fmt.Sprintf("value-%d-of-some-typical-length", i)})
		}
		pod.Spec.Containers = append(pod.Spec.Containers, ctr)
	}
	pod.Spec.Containers[0].Env[0].Value = "http://internal-orders-1234567890.us-east-1.elb.amazonaws.com:8080/v1/orders?limit=10"
	pod.Spec.Containers[0].Env[1].Value = "https://payments-0123456789abcdef.elb.us-west-2.amazonaws.com/v2"
	return pod
}

func review(t testing.TB, kind metav1.GroupVersionKind, op admissionv1.Operation, obj any) []byte {
	t.Helper()
	var raw []byte
	if obj != nil {
		var err error
		if raw, err = json.Marshal(obj); err != nil {
			t.Fatal(err)
		}
	}
	ar := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID("0f1e2d3c-0000-4000-8000-000000000001"), Kind: kind,
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: "shop", Operation: op, Object: runtime.RawExtension{Raw: raw},
		},
	}
	b, err := json.Marshal(ar)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var podGVK = metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}

// serve runs one review through controller-runtime's admission.Webhook, the
// way the server does.
func serve(t testing.TB, h admission.Handler, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	wh := &admission.Webhook{Handler: h}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	wh.ServeHTTP(rec, req)
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("response is not an AdmissionReview: %v\n%s", err, rec.Body.String())
	}
	if out.Response == nil {
		t.Fatalf("no response: %s", rec.Body.String())
	}
	return out.Response
}

func newMutator(m Mutator) *PodMutator { return &PodMutator{Mutator: m, Metrics: NewMetrics(nil)} }

// mutatorFunc adapts a function to Mutator, for fault injection.
type mutatorFunc func(*corev1.Pod, mutate.Namespace) (*mutate.Result, error)

func (f mutatorFunc) Mutate(p *corev1.Pod, ns mutate.Namespace) (*mutate.Result, error) {
	return f(p, ns)
}

func TestHandlerPatchesPods(t *testing.T) {
	pod := testPod(3, 20)
	body := review(t, podGVK, admissionv1.Create, pod)
	resp := serve(t, newMutator(testEngine(t)), body)
	if !resp.Allowed || resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("want an allowed JSON patch, got %+v", resp)
	}
	if resp.UID != "0f1e2d3c-0000-4000-8000-000000000001" {
		t.Errorf("response UID %q does not echo the request", resp.UID)
	}
	patch, err := jsonpatchapply.DecodePatch(resp.Patch)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(pod)
	out, err := patch.Apply(raw)
	if err != nil {
		t.Fatalf("patch does not apply: %v", err)
	}
	var mutated corev1.Pod
	if err := json.Unmarshal(out, &mutated); err != nil {
		t.Fatal(err)
	}
	if len(mutated.Spec.InitContainers) != 2 || mutated.Spec.InitContainers[1].Name != mutate.SidecarName { // after inzone-capture
		t.Errorf("no native sidecar in %v", mutated.Spec.InitContainers)
	}
	if got := mutated.Spec.Containers[0].Env[0].Value; got != "http://orders.service.prod.ddsd:8080/v1/orders?limit=10" {
		t.Errorf("ELB URL not rewritten: %s", got)
	}

	// Re-admitting the mutated pod (reinvocation) patches nothing.
	again := serve(t, newMutator(testEngine(t)), review(t, podGVK, admissionv1.Create, &mutated))
	if !again.Allowed || len(again.Patch) != 0 {
		t.Errorf("reinvocation produced a patch: %s", again.Patch)
	}
}

func TestHandlerRejectsMalformedRequests(t *testing.T) {
	h := newMutator(testEngine(t))
	tests := []struct {
		name     string
		body     []byte
		wantCode int32
		wantMsg  string
	}{
		{"a body that is not JSON is a bad request", []byte("{not json"), http.StatusBadRequest, ""},
		{"a Deployment is a bad request", review(t, metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, admissionv1.Create, map[string]any{}), http.StatusBadRequest, "v1 Pods"},
		{"a request without an object is a bad request", review(t, podGVK, admissionv1.Create, nil), http.StatusBadRequest, "no object"},
		{"an object that is not a pod is a bad request", review(t, podGVK, admissionv1.Create, []int{1}), http.StatusBadRequest, "decoding pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(t, h, tt.body)
			if resp.Allowed || resp.Result == nil || resp.Result.Code != tt.wantCode {
				t.Fatalf("want denied with %d, got %+v", tt.wantCode, resp)
			}
			if !strings.Contains(resp.Result.Message, tt.wantMsg) {
				t.Errorf("message %q lacks %q", resp.Result.Message, tt.wantMsg)
			}
		})
	}
}

func TestHandlerDeniesInvalidAnnotationNamingIt(t *testing.T) {
	pod := testPod(1, 2)
	pod.Annotations = map[string]string{mutate.AnnotationProxyCPU: "lots"}
	resp := serve(t, newMutator(testEngine(t)), review(t, podGVK, admissionv1.Create, pod))
	if resp.Allowed || !strings.Contains(resp.Result.Message, mutate.AnnotationProxyCPU) {
		t.Fatalf("want a denial naming %s, got %+v", mutate.AnnotationProxyCPU, resp)
	}
}

func TestHandlerFailsOpen(t *testing.T) {
	tests := []struct {
		name string
		m    Mutator
	}{
		{"a panic", mutatorFunc(func(*corev1.Pod, mutate.Namespace) (*mutate.Result, error) { panic("boom") })},
		{"an internal error", mutatorFunc(func(*corev1.Pod, mutate.Namespace) (*mutate.Result, error) { return nil, errors.New("boom") })},
	}
	for _, tt := range tests {
		t.Run(tt.name+" admits the pod unmutated with a warning", func(t *testing.T) {
			h := newMutator(tt.m)
			resp := serve(t, h, review(t, podGVK, admissionv1.Create, testPod(1, 2)))
			if !resp.Allowed || len(resp.Patch) != 0 {
				t.Fatalf("want allowed without patch, got %+v", resp)
			}
			if len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "boom") {
				t.Errorf("warnings = %v", resp.Warnings)
			}
			if got := counterValue(t, h.Metrics.Errors.WithLabelValues("internal")); got != 1 {
				t.Errorf("internal error metric = %v, want 1", got)
			}
		})
	}
}

func TestHandlerAllowsNonCreateUnchanged(t *testing.T) {
	resp := serve(t, newMutator(testEngine(t)), review(t, podGVK, admissionv1.Update, testPod(1, 2)))
	if !resp.Allowed || len(resp.Patch) != 0 {
		t.Fatalf("UPDATE must pass unchanged, got %+v", resp)
	}
}

func TestHandlerCountsMutations(t *testing.T) {
	h := newMutator(testEngine(t))
	serve(t, h, review(t, podGVK, admissionv1.Create, testPod(1, 2)))
	pod := testPod(1, 2)
	pod.Spec.HostNetwork = true
	serve(t, h, review(t, podGVK, admissionv1.Create, pod))
	if got := counterValue(t, h.Metrics.Mutations.WithLabelValues(mutate.MutationSidecar, "applied")); got != 1 {
		t.Errorf("sidecar applied = %v, want 1", got)
	}
	if got := counterValue(t, h.Metrics.Skips.WithLabelValues(mutate.MutationSidecar, string(mutate.SkipHostNetwork))); got != 1 {
		t.Errorf("host-network skips = %v, want 1", got)
	}
}

func TestHandlerUsesRequestNamespace(t *testing.T) {
	pod := testPod(1, 2)
	pod.Namespace = ""
	var seen string
	h := newMutator(mutatorFunc(func(_ *corev1.Pod, ns mutate.Namespace) (*mutate.Result, error) {
		seen = ns.Name
		return &mutate.Result{}, nil
	}))
	serve(t, h, review(t, podGVK, admissionv1.Create, pod))
	if seen != "shop" {
		t.Errorf("namespace = %q, want the request's", seen)
	}
	// The engine names the pod's own service with the request's namespace.
	cfg := mutate.DefaultConfig()
	cfg.DDSD.NameTemplate = "{service}.{namespace}.svc"
	e, err := mutate.NewEngine(cfg, mutate.Options{NativeSidecarSupported: true, ControlPlaneCA: testCA(t)})
	if err != nil {
		t.Fatal(err)
	}
	resp := serve(t, newMutator(e), review(t, podGVK, admissionv1.Create, pod))
	if !strings.Contains(string(resp.Patch), "web.shop.svc") {
		t.Error("local cluster does not use the request's namespace")
	}
}

// BenchmarkHandler measures the full path (AdmissionReview JSON in, response
// JSON out) against the floor: the same path with a handler that decodes
// nothing and answers "allowed".
func BenchmarkHandler(b *testing.B) {
	pods := []struct {
		name string
		pod  *corev1.Pod
	}{
		{"small-1x2env", testPod(1, 2)},
		{"realistic-3x20env", testPod(3, 20)},
		{"large-1x2000env", testPod(1, 2000)},
	}
	floor := admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
		return admission.Allowed("")
	})
	for _, p := range pods {
		body := review(b, podGVK, admissionv1.Create, p.pod)
		for _, h := range []struct {
			name string
			h    admission.Handler
		}{{"floor", floor}, {"inzone", newMutator(testEngine(b))}} {
			b.Run(p.name+"/"+h.name, func(b *testing.B) {
				wh := &admission.Webhook{Handler: h.h}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					rec := httptest.NewRecorder()
					req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					wh.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatal(rec.Body.String())
					}
				}
			})
		}
	}
}

// BenchmarkMutate measures the engine alone on a decoded pod.
func BenchmarkMutate(b *testing.B) {
	e := testEngine(b)
	for _, p := range []struct {
		name string
		pod  *corev1.Pod
	}{{"realistic-3x20env", testPod(3, 20)}, {"large-1x2000env", testPod(1, 2000)}} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Mutate(p.pod, mutate.Namespace{Name: "shop"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
