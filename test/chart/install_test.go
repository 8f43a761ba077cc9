package chart

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/webhook"
)

const fieldOwner = "inzone-chart-test"

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
				if err := apply(ctx, env, o, client.DryRunAll); err != nil {
					t.Errorf("%s %s: %v", o.GetKind(), o.GetName(), err)
				}
			}
		})
	}
	t.Run("an invalid object is refused, so the check can fail", func(t *testing.T) {
		_, objs := render(t)
		d := find(t, objs, "Deployment", "").DeepCopy()
		if err := unstructured.SetNestedField(d.Object, int64(-1), "spec", "replicas"); err != nil {
			t.Fatal(err)
		}
		if err := apply(ctx, env, d, client.DryRunAll); err == nil {
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
	if code, body := wh.readyz(); code == http.StatusOK {
		t.Fatalf("ready before any certificate was projected: %d %s", code, body)
	}
	wh.projectSecret(t, env)
	wh.waitReady(t)

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
		})
	}

	// No deadlock: with the webhook down (failurePolicy Fail), inzone's own
	// pods and kube-system's are still admitted; only selected pods fail.
	wh.stop(t)
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
	wh.projectSecret(t, env)
	wh.waitReady(t)
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
			if fp, err := wh.servedCertificate(); err == nil {
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

// runningWebhook is the inzone-webhook process of one test.
type runningWebhook struct {
	cmd          *exec.Cmd
	exited       chan error
	logs         *bytes.Buffer
	certDir      string
	port, health int
	stopProject  context.CancelFunc
	projectDone  chan struct{}
	stopped      bool
}

// installAndRun installs the default rendering for real, with the webhook
// configuration pointed at a local port, and starts the built binary with
// the Deployment's args, overridden for running out of cluster.
func installAndRun(t *testing.T, env *envtest.Env, overrides map[string]string) *runningWebhook {
	t.Helper()
	ctx := context.Background()
	bin := buildWebhook(t)
	dir := t.TempDir()
	wh := &runningWebhook{certDir: filepath.Join(dir, "certs"), logs: &bytes.Buffer{}, exited: make(chan error, 1)}
	if err := os.MkdirAll(wh.certDir, 0o755); err != nil {
		t.Fatal(err)
	}
	wh.port, wh.health = freePort(t), freePort(t)

	ensureNamespace(t, env, namespace, nil)
	_, objs := render(t)
	for _, o := range objs {
		switch o.GetKind() {
		case "MutatingWebhookConfiguration":
			// Out of cluster: the API server calls localhost, which the
			// serving certificate names through --cert-dns-names.
			hooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
			h := hooks[0].(map[string]any)
			h["clientConfig"] = map[string]any{"url": fmt.Sprintf("https://localhost:%d%s", wh.port, webhook.Path)}
			if err := unstructured.SetNestedSlice(o.Object, hooks, "webhooks"); err != nil {
				t.Fatal(err)
			}
		case "Secret":
			// A fresh install: the Secret starts empty.
			_ = env.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: o.GetName()}})
		}
		if err := apply(ctx, env, o); err != nil {
			t.Fatalf("installing %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	t.Cleanup(func() {
		// Leave no webhook configuration pointing at a stopped process.
		_ = env.Client.Delete(context.Background(), &admissionv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "inzone"}})
	})

	cm := into[corev1.ConfigMap](t, find(t, objs, "ConfigMap", ""))
	configPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configPath, []byte(cm.Data["config.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	writeServiceAccountKubeconfig(t, env, kubeconfig, "system:serviceaccount:"+namespace+":inzone-webhook")

	args := deployment(t, objs).Spec.Template.Spec.Containers[0].Args
	dns := flagValue(args, "cert-dns-names")
	set := map[string]string{
		"config": configPath, "cert-dir": wh.certDir, "host": "127.0.0.1", "port": strconv.Itoa(wh.port),
		"metrics-bind-address": "0", "health-probe-bind-address": "127.0.0.1:" + strconv.Itoa(wh.health),
		"cert-dns-names": dns + ",localhost",
	}
	for k, v := range overrides {
		set[k] = v
	}
	args = overrideFlags(args, set)
	wh.cmd = exec.Command(bin, args...)
	wh.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	wh.cmd.Stdout, wh.cmd.Stderr = wh.logs, wh.logs
	if err := wh.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { wh.exited <- wh.cmd.Wait() }()
	t.Cleanup(func() {
		wh.stop(t)
		if t.Failed() {
			t.Logf("inzone-webhook %s\n%s", strings.Join(args, " "), wh.logs.String())
		}
	})
	return wh
}

func (wh *runningWebhook) stop(t *testing.T) {
	if wh.stopProject != nil {
		wh.stopProject()
		<-wh.projectDone
		wh.stopProject = nil
	}
	if wh.stopped {
		return
	}
	wh.stopped = true
	_ = wh.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-wh.exited:
	case <-time.After(15 * time.Second):
		_ = wh.cmd.Process.Kill()
		<-wh.exited
		t.Error("inzone-webhook did not stop within 15s of SIGTERM")
	}
}

func (wh *runningWebhook) readyz() (int, string) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", wh.health))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func (wh *runningWebhook) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-wh.exited:
			wh.stopped = true
			t.Fatalf("inzone-webhook exited: %v\n%s", err, wh.logs.String())
		default:
		}
		if code, _ := wh.readyz(); code == http.StatusOK {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	code, body := wh.readyz()
	t.Fatalf("inzone-webhook not ready within 90s: %d %s", code, body)
}

// servedCertificate is the SHA-256 of the leaf certificate the webhook
// presents now.
func (wh *runningWebhook) servedCertificate() ([32]byte, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(wh.port)),
		&tls.Config{InsecureSkipVerify: true}) // only reading which certificate is served
	if err != nil {
		return [32]byte{}, err
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return [32]byte{}, errors.New("no certificate")
	}
	return sha256.Sum256(certs[0].Raw), nil
}

// projectSecret does what the kubelet does for a Secret volume: it writes
// the Secret's keys into the cert dir whenever the Secret changes, swapping
// a ..data symlink so a reader never sees half of an update.
func (wh *runningWebhook) projectSecret(t *testing.T, env *envtest.Env) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wh.stopProject, wh.projectDone = cancel, make(chan struct{})
	go func() {
		defer close(wh.projectDone)
		lastRV := ""
		for ctx.Err() == nil {
			s := &corev1.Secret{}
			if err := env.Client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: "inzone-webhook-cert"}, s); err == nil && s.ResourceVersion != lastRV && len(s.Data) > 0 {
				if err := atomicWrite(wh.certDir, s.Data); err == nil {
					lastRV = s.ResourceVersion
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
}

// atomicWrite follows the kubelet's AtomicWriter layout:
// dir/..<ts>/<key> files, dir/..data -> ..<ts>, dir/<key> -> ..data/<key>.
func atomicWrite(dir string, data map[string][]byte) error {
	ts, err := os.MkdirTemp(dir, "..ts-")
	if err != nil {
		return err
	}
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(ts, k), v, 0o600); err != nil {
			return err
		}
	}
	tmpLink := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(ts), tmpLink); err != nil {
		return err
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	if err := os.Rename(tmpLink, filepath.Join(dir, "..data")); err != nil {
		return err
	}
	for k := range data {
		link := filepath.Join(dir, k)
		if _, err := os.Lstat(link); errors.Is(err, os.ErrNotExist) {
			if err := os.Symlink(filepath.Join("..data", k), link); err != nil {
				return err
			}
		}
	}
	if old != "" {
		_ = os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildWebhook builds cmd/inzone-webhook once per test binary.
func buildWebhook(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := envtest.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "inzone-chart-test-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "inzone-webhook")
		cmd := exec.Command("go", "build", "-o", builtBin, "./cmd/inzone-webhook")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building inzone-webhook: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// writeServiceAccountKubeconfig writes a kubeconfig that authenticates as
// the admin and impersonates user, so every request is authorized as that
// ServiceAccount by the chart's RBAC.
func writeServiceAccountKubeconfig(t *testing.T, env *envtest.Env, path, user string) {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	kc.AuthInfos["sa"] = &clientcmdapi.AuthInfo{ClientCertificateData: env.Config.CertData, ClientKeyData: env.Config.KeyData, Impersonate: user}
	kc.Contexts["sa"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "sa"}
	kc.CurrentContext = "sa"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
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

// apply server-side applies an object as the chart test's field owner.
func apply(ctx context.Context, env *envtest.Env, o *unstructured.Unstructured, opts ...client.ApplyOption) error {
	opts = append(opts, client.FieldOwner(fieldOwner), client.ForceOwnership)
	return env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), opts...)
}

// ensureNamespace creates the namespace or adds the labels to it.
func ensureNamespace(t *testing.T, env *envtest.Env, name string, labels map[string]string) string {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	err := env.Client.Create(ctx, ns)
	if apierrors.IsAlreadyExists(err) && len(labels) > 0 {
		patch := client.MergeFrom(&corev1.Namespace{})
		cur := &corev1.Namespace{}
		if err := env.Client.Get(ctx, types.NamespacedName{Name: name}, cur); err != nil {
			t.Fatal(err)
		}
		before := cur.DeepCopy()
		if cur.Labels == nil {
			cur.Labels = map[string]string{}
		}
		for k, v := range labels {
			cur.Labels[k] = v
		}
		_ = patch
		err = env.Client.Patch(ctx, cur, client.MergeFrom(before))
	} else if apierrors.IsAlreadyExists(err) {
		err = nil
	}
	if err != nil {
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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// flagValue is the value of --name=value in args.
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// overrideFlags replaces --name=value flags in args and appends the ones
// args lacks; everything else is kept, so the chart's own flags are run.
func overrideFlags(args []string, set map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if v, ok := set[name]; ok {
			out = append(out, "--"+name+"="+v)
			seen[name] = true
			continue
		}
		out = append(out, a)
	}
	for name, v := range set {
		if !seen[name] {
			out = append(out, "--"+name+"="+v)
		}
	}
	return out
}
