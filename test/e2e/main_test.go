// Package e2e runs the inzone webhook against a real kube-apiserver and etcd
// (controller-runtime envtest) and asserts on the pods the API server stored.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/webhook"
)

// The load balancers the test pods call.
const (
	// ordersELB is in the config's static ELB map.
	ordersELB  = "internal-orders-1234567890.us-east-1.elb.amazonaws.com"
	ordersDDSD = "orders.service.prod.ddsd"
	ordersURL  = "http://" + ordersELB + ":8080/v1?x=1"
	// paymentsNLB is the ingress hostname of a live LoadBalancer Service
	// annotated inzone.io/ddsd-name: payments.
	paymentsNLB  = "payments-nlb-0123456789abcdef.elb.us-east-1.amazonaws.com"
	paymentsDDSD = "payments.service.prod.ddsd"
	paymentsArg  = "--payments=https://" + paymentsNLB + "/charge"
)

// Labels that make the test's wrapper around the engine fail.
const (
	labelPanic = "inzone-test/panic"
	labelError = "inzone-test/error"
	// labelLate selects pods for the second webhook, which runs after inzone.
	labelLate = "inzone-test/late"
)

// lateContainer is what the second webhook adds.
const lateContainer = "late"

// lateWebhookPath serves the second webhook on the same server as inzone's.
const lateWebhookPath = "/add-container"

// errInjected is the plain error the wrapper returns for labelError pods.
var errInjected = errors.New("injected engine failure for e2e")

// testConfig is the inzone config of the whole package: defaults, plus a
// static ELB map, env prod and a DDSD domain said to resolve.
func testConfig() *mutate.Config {
	return &mutate.Config{DDSD: mutate.DDSDConfig{
		Env:  "prod",
		ELBs: map[string]string{ordersELB: "orders"},
		DNS:  mutate.DDSDResolverExternal,
	}}
}

// calls counts the engine's calls per namespace/name (namespace/ for pods
// named by generateName), so tests can tell whether and how often the API
// server called inzone.
var calls = struct {
	sync.Mutex
	byPod map[string]int
	byNS  map[string]int
}{byPod: map[string]int{}, byNS: map[string]int{}}

func callsFor(ns, name string) int {
	calls.Lock()
	defer calls.Unlock()
	return calls.byPod[ns+"/"+name]
}

func callsInNamespace(ns string) int {
	calls.Lock()
	defer calls.Unlock()
	return calls.byNS[ns]
}

// faultyMutator records calls and fails on the fault labels: a panic, as a
// bug in the engine would, or a plain (non-annotation) error.
func faultyMutator(m webhook.Mutator) webhook.Mutator {
	return envtest.MutatorFunc(func(pod *corev1.Pod, ns mutate.Namespace) (*mutate.Result, error) {
		calls.Lock()
		calls.byPod[pod.Namespace+"/"+pod.Name]++
		calls.byNS[pod.Namespace]++
		calls.Unlock()
		if pod.Labels[labelPanic] == "true" {
			panic("injected panic for e2e")
		}
		if pod.Labels[labelError] == "true" {
			return nil, errInjected
		}
		return m.Mutate(pod, ns)
	})
}

// lateWebhookConfiguration is a second mutating webhook, ordered after
// inzone's by name, that adds a container to pods labelled labelLate: the API
// server must then reinvoke inzone (reinvocationPolicy IfNeeded).
func lateWebhookConfiguration() *admissionv1.MutatingWebhookConfiguration {
	return &admissionv1.MutatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: "zz-inzone-e2e-late"},
		Webhooks: []admissionv1.MutatingWebhook{{
			Name:         "late.e2e.inzone.io",
			ClientConfig: envtest.ServiceClientConfig(lateWebhookPath),
			Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule: admissionv1.Rule{
					APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"},
				},
			}},
			SideEffects:             ptr.To(admissionv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      ptr.To(admissionv1.NeverReinvocationPolicy),
			FailurePolicy:           ptr.To(admissionv1.Fail),
			TimeoutSeconds:          ptr.To[int32](10),
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{mutate.LabelInject: mutate.InjectEnabled}},
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{labelLate: "true"}},
		}},
	}
}

// addLateContainer is the second webhook's handler.
func addLateContainer(_ context.Context, req admission.Request) admission.Response {
	pod := &corev1.Pod{}
	if err := json.Unmarshal(req.Object.Raw, pod); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == lateContainer {
			return admission.Allowed("already there")
		}
	}
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: lateContainer, Image: "registry.example.com/late:1.0"})
	out, err := json.Marshal(pod)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, out)
}

func TestMain(m *testing.M) {
	os.Exit(envtest.Main(m, envtest.Options{
		ExtraMutatingWebhooks: []*admissionv1.MutatingWebhookConfiguration{lateWebhookConfiguration()},
		// The Deployment and ReplicaSet controllers create a Deployment's
		// pods, so that a test sees what the API server reports when inzone
		// denies them (TestCallsAnnotationDeployments).
		Controllers: []string{"deployment", "replicaset"},
	}, func(env *envtest.Env) error {
		return env.StartWebhook(webhookOptions(testConfig()))
	}))
}

// webhookOptions run inzone with cfg, the fault-injecting wrapper and the
// second webhook. NativeSidecar is left to the config (auto by default: ask
// the API server, as in production).
func webhookOptions(cfg *mutate.Config) envtest.WebhookOptions {
	return envtest.WebhookOptions{
		Config:      cfg,
		WrapMutator: faultyMutator,
		Register: func(srv crwebhook.Server) {
			srv.Register(lateWebhookPath, &admission.Webhook{Handler: admission.HandlerFunc(addLateContainer)})
		},
	}
}

// withConfig runs the webhook with cfg for the rest of the test, then
// restores the package's webhook. Tests using it must not run in parallel.
func withConfig(t *testing.T, cfg *mutate.Config) {
	t.Helper()
	withWebhook(t, webhookOptions(cfg))
}

// withWebhook runs the webhook with opts for the rest of the test, then
// restores the package's webhook. Tests using it must not run in parallel.
func withWebhook(t *testing.T, opts envtest.WebhookOptions) {
	t.Helper()
	env := envtest.For(t)
	if err := env.StopWebhook(); err != nil {
		t.Fatalf("stopping the webhook: %v", err)
	}
	t.Cleanup(func() {
		_ = env.StopWebhook()
		if err := env.StartWebhook(webhookOptions(testConfig())); err != nil {
			t.Fatalf("restarting the package's webhook: %v", err)
		}
	})
	if err := env.StartWebhook(opts); err != nil {
		t.Fatalf("starting the webhook with other options: %v", err)
	}
}

// webPod is testdata/web-pod.yaml in namespace ns, named name (generateName
// when empty), changed by mods.
func webPod(t testing.TB, ns, name string, mods ...func(*corev1.Pod)) *corev1.Pod {
	t.Helper()
	webPodOnce.Do(func() {
		data, err := os.ReadFile("testdata/web-pod.yaml")
		if err == nil {
			err = yaml.UnmarshalStrict(data, &webPodTemplate)
		}
		webPodErr = err
	})
	if webPodErr != nil {
		t.Fatalf("loading testdata/web-pod.yaml: %v", webPodErr)
	}
	pod := webPodTemplate.DeepCopy()
	pod.Namespace = ns
	if name != "" {
		pod.Name, pod.GenerateName = name, ""
	}
	for _, m := range mods {
		m(pod)
	}
	return pod
}

var (
	webPodOnce     sync.Once
	webPodTemplate corev1.Pod
	webPodErr      error
)

// ctx is a bounded context for one test.
func ctx(t testing.TB) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// namespace creates a namespace for one test, labelled for injection or not.
func namespace(t testing.TB, inject bool) string {
	t.Helper()
	ns, err := envtest.For(t).CreateNamespace(ctx(t), "inzone-e2e-", inject)
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// create creates pod, fails the test if the API server refused it, and
// returns the stored pod and the warnings.
func create(t testing.TB, pod *corev1.Pod) (*corev1.Pod, []string) {
	t.Helper()
	stored, warnings, err := envtest.For(t).CreatePod(ctx(t), pod)
	if err != nil {
		t.Fatalf("creating pod %s/%s%s: %v", pod.Namespace, pod.Name, pod.GenerateName, err)
	}
	return stored, warnings
}
