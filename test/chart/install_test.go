package chart

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
)

// TestRenderedManifestsPassServerSideDryRun applies every toggle's
// rendering to the real kube-apiserver with server-side apply in dry-run:
// the API server validates each object against its schema (the real
// cert-manager and prometheus-operator CRDs for theirs) and admission,
// without persisting anything.
func TestRenderedManifestsPassServerSideDryRun(t *testing.T) {
	env := envtest.For(t)
	ctx := context.Background()
	installCRDs(t, env)
	ensureNamespace(t, env, namespace, nil)

	for _, tt := range toggles {
		t.Run(tt.name, func(t *testing.T) {
			_, objs := render(t, tt.sets...)
			for _, o := range objs {
				if err := env.Apply(ctx, o, client.DryRunAll); err != nil {
					t.Errorf("%s %s: %v", o.GetKind(), o.GetName(), err)
				}
			}
		})
	}
	t.Run("an invalid object is refused, so the check can fail", func(t *testing.T) {
		_, objs := render(t)
		d := find(t, objs, "Deployment", webhookName).DeepCopy()
		if err := unstructured.SetNestedField(d.Object, int64(-1), "spec", "replicas"); err != nil {
			t.Fatal(err)
		}
		if err := env.Apply(ctx, d, client.DryRunAll); err == nil {
			t.Error("the API server accepted replicas: -1")
		}
	})
}

// TestInstalledChartMutatesPods installs the chart's RBAC, Secret, config
// and webhook configuration for real and runs the inzone-webhook binary out
// of cluster, with the chart's own flags and as the chart's ServiceAccount
// (impersonated, so RBAC is the chart's), its certificate Secret projected
// into the cert dir as a kubelet would. The webhook issues its own
// certificate and injects the CA; then pods in a labelled namespace come
// back mutated, and pods in kube-system and inzone's own do not, even
// labelled for injection, and still start while the webhook is down.
func TestInstalledChartMutatesPods(t *testing.T) {
	env := envtest.For(t)
	ctx := context.Background()
	wh := installAndRun(t, env, nil)

	// Not ready until the certificate is issued, projected and injected.
	time.Sleep(1500 * time.Millisecond)
	if code, body := wh.Readyz(); code == http.StatusOK {
		t.Fatalf("ready before any certificate was projected: %d %s", code, body)
	}
	wh.ProjectSecret()
	waitReady(t, wh)

	secret := &corev1.Secret{}
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: "inzone-webhook-cert"}, secret); err != nil {
		t.Fatal(err)
	}
	mwc := &admissionv1.MutatingWebhookConfiguration{}
	if err := env.Client.Get(ctx, types.NamespacedName{Name: "inzone"}, mwc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mwc.Webhooks[0].ClientConfig.CABundle, secret.Data["ca.crt"]) || len(secret.Data["ca.crt"]) == 0 {
		t.Fatal("the webhook configuration's caBundle is not the CA in the Secret")
	}

	shop := ensureNamespace(t, env, "shop-"+strconv.FormatInt(time.Now().UnixNano()%1e6, 36), map[string]string{mutate.LabelInject: mutate.InjectEnabled})
	// The protected namespaces, labelled for injection as a careless user might.
	ensureNamespace(t, env, "kube-system", map[string]string{mutate.LabelInject: mutate.InjectEnabled})
	ensureNamespace(t, env, namespace, map[string]string{mutate.LabelInject: mutate.InjectEnabled})
	t.Cleanup(func() {
		for _, ns := range []string{"kube-system", namespace} {
			unlabel(env, ns)
		}
	})

	_, objs := render(t)
	own := deployment(t, objs).Spec.Template
	tests := []struct {
		name    string
		pod     *corev1.Pod
		mutated bool
	}{
		{"a pod in a labelled namespace", plainPod(shop, "app", nil), true},
		{"a pod in kube-system", plainPod("kube-system", "dns", nil), false},
		{"inzone's own pod in its namespace", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "inzone-webhook-", Namespace: namespace, Labels: own.Labels}, Spec: own.Spec}, false},
		{"a pod with inzone's labels elsewhere", plainPod(shop, "copy", own.Labels), false},
		{"any pod in inzone's namespace", plainPod(namespace, "other", nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := env.Client.Create(ctx, tt.pod); err != nil {
				t.Fatal(err)
			}
			_, status := tt.pod.Annotations[mutate.AnnotationStatus]
			if status != tt.mutated {
				t.Errorf("mutated = %v, want %v (annotations %v)", status, tt.mutated, tt.pod.Annotations)
			}
			if tt.mutated && !mutate.HasSidecar(tt.pod) {
				t.Error("no sidecar")
			}
			if tt.mutated {
				checkSidecarTrustsXDS(t, tt.pod, secret)
			}
		})
	}

	// Termination drains: on SIGTERM readiness fails at once, so the
	// Service drops the pod, while reviews are still answered for
	// --shutdown-delay (5 s), so none lands on a closed port meanwhile.
	if err := wh.Terminate(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if code, body := wh.Readyz(); code == http.StatusOK || code == 0 {
		t.Errorf("while draining, /readyz = %d %s; want a failure from a live server", code, body)
	}
	drained := plainPod(shop, "draining", nil)
	if err := env.Client.Create(ctx, drained); err != nil {
		t.Errorf("a review during the drain failed: %v", err)
	} else if drained.Annotations[mutate.AnnotationStatus] == "" {
		t.Error("a pod created during the drain was not mutated")
	}

	// No deadlock: with the webhook down (failurePolicy Fail), inzone's own
	// pods and kube-system's are still admitted; only selected pods fail.
	if err := wh.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{GenerateName: "inzone-webhook-", Namespace: namespace, Labels: own.Labels}, Spec: own.Spec},
		plainPod("kube-system", "dns", nil),
	} {
		if err := env.Client.Create(ctx, p); err != nil {
			t.Errorf("with the webhook down, a pod in %s is refused: %v", p.Namespace, err)
		}
	}
	if err := env.Client.Create(ctx, plainPod(shop, "app", nil)); err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
		t.Errorf("with the webhook down and failurePolicy Fail, a selected pod must be refused; got %v", err)
	}

	// helm upgrade, with the webhook down so nothing re-injects, keeps what
	// the webhook wrote: the Secret's certificates and the caBundle (no
	// manifest sets them, so helm's three-way merge leaves them).
	if err := wh.PointWebhookAtService(ctx); err != nil {
		t.Fatal(err)
	}
	if err := wh.Upgrade(ctx, "webhook.timeoutSeconds=7"); err != nil {
		t.Fatal(err)
	}
	after := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(secret), after); err != nil {
		t.Fatal(err)
	}
	for k, v := range secret.Data {
		if !bytes.Equal(after.Data[k], v) {
			t.Errorf("helm upgrade changed the Secret's %s", k)
		}
	}
	upgraded := &admissionv1.MutatingWebhookConfiguration{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(mwc), upgraded); err != nil {
		t.Fatal(err)
	}
	if *upgraded.Webhooks[0].TimeoutSeconds != 7 {
		t.Errorf("the upgrade did not apply: timeoutSeconds %d", *upgraded.Webhooks[0].TimeoutSeconds)
	}
	if !bytes.Equal(upgraded.Webhooks[0].ClientConfig.CABundle, secret.Data["ca.crt"]) {
		t.Error("helm upgrade dropped the caBundle the webhook injected")
	}
}

// TestCertificateRotationDuringPodCreation has the webhook renew its
// serving certificate every few seconds while pods are being created: every
// admission call succeeds, and the server is seen presenting several
// certificates.
func TestCertificateRotationDuringPodCreation(t *testing.T) {
	env := envtest.For(t)
	ctx := context.Background()
	// Each certificate lives 20 s and is renewed 12 s before it expires:
	// a new one about every 8 s.
	wh := installAndRun(t, env, map[string]string{"cert-validity": "20s", "cert-renew-before": "12s", "cert-check-interval": "1s"})
	wh.ProjectSecret()
	waitReady(t, wh)
	shop := ensureNamespace(t, env, "rotate-"+strconv.FormatInt(time.Now().UnixNano()%1e6, 36), map[string]string{mutate.LabelInject: mutate.InjectEnabled})

	const duration = 22 * time.Second
	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var (
		created, failed atomic.Int64
		mu              sync.Mutex
		firstErr        error
		served          = map[[32]byte]bool{}
		wg              sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				p := plainPod(shop, "load", nil)
				err := env.Client.Create(ctx, p)
				switch {
				case err != nil:
					failed.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				case p.Annotations[mutate.AnnotationStatus] == "":
					failed.Add(1)
				default:
					created.Add(1)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for runCtx.Err() == nil {
			if fp, err := wh.ServedCertificate(); err == nil {
				mu.Lock()
				served[fp] = true
				mu.Unlock()
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	wg.Wait()

	t.Logf("%d pods created and mutated, %d failed, %d distinct serving certificates seen in %s", created.Load(), failed.Load(), len(served), duration)
	if failed.Load() != 0 {
		t.Errorf("%d admission calls failed during rotation; first: %v", failed.Load(), firstErr)
	}
	if created.Load() < 100 {
		t.Errorf("only %d pods created; the load is too light to show anything", created.Load())
	}
	if len(served) < 3 {
		t.Errorf("the server presented %d certificates in %s; want the certificate replaced at least twice", len(served), duration)
	}
}

// installAndRun installs the chart and starts the webhook (see
// envtest.InstallChart), stopped and uninstalled at the test's end, with
// its logs printed when the test failed.
func installAndRun(t *testing.T, env *envtest.Env, flags map[string]string) *envtest.ChartInstall {
	t.Helper()
	ctx := context.Background()
	ci, err := env.InstallChart(ctx, envtest.ChartOptions{Flags: flags})
	skipWithoutHelm(t, err)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ci.Stop(); err != nil {
			t.Error(err)
		}
		if err := ci.Uninstall(context.Background()); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("inzone-webhook %s\n%s", strings.Join(ci.Args, " "), ci.Logs.String())
		}
	})
	return ci
}

func waitReady(t *testing.T, ci *envtest.ChartInstall) {
	t.Helper()
	if err := ci.WaitReady(90 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, ci.Logs.String())
	}
}

// installCRDs installs the real CRDs hack/fetch-crds.sh put in ./bin/crds.
func installCRDs(t *testing.T, env *envtest.Env) {
	t.Helper()
	assets, err := envtest.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(assets, "crds")
	if _, err := os.Stat(dir); err != nil {
		msg := fmt.Sprintf("%s is missing; run `make bin` (hack/fetch-crds.sh)", dir)
		if envtest.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := crenvtest.InstallCRDs(env.Config, crenvtest.CRDInstallOptions{Paths: []string{dir}, ErrorIfPathMissing: true}); err != nil {
		t.Fatal(err)
	}
}

func ensureNamespace(t *testing.T, env *envtest.Env, name string, labels map[string]string) string {
	t.Helper()
	if err := env.EnsureNamespace(context.Background(), name, labels); err != nil {
		t.Fatal(err)
	}
	return name
}

func unlabel(env *envtest.Env, name string) {
	ctx := context.Background()
	cur := &corev1.Namespace{}
	if err := env.Client.Get(ctx, types.NamespacedName{Name: name}, cur); err != nil {
		return
	}
	before := cur.DeepCopy()
	delete(cur.Labels, mutate.LabelInject)
	_ = env.Client.Patch(ctx, cur, client.MergeFrom(before))
}

func plainPod(ns, app string, labels map[string]string) *corev1.Pod {
	l := map[string]string{"app": app}
	for k, v := range labels {
		l[k] = v
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: app + "-", Namespace: ns, Labels: l},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
	}
}
