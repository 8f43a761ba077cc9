// Package envtest runs inzone's webhook against a real kube-apiserver and
// etcd, started by controller-runtime's envtest, for end-to-end tests.
//
// One control plane per test package: call Main from TestMain, then For(t)
// in each test. The webhook itself is started separately (StartWebhook), so
// each package chooses its inzone config and fault injection.
//
// A package that needs pods placed and published asks Options for
// kube-scheduler (Scheduler), kube-controller-manager (Controllers, e.g.
// ControllersForPlacement: Deployments, ReplicaSets, EndpointSlices) and a
// stand-in Kubelet: child processes in their own process groups, killed
// with the test process, their logs kept (ComponentLogTail) and copied to
// stderr with INZONE_E2E_VERBOSE=1. CreateNode makes schedulable nodes in a
// zone; the Kubelet makes bound pods Running and Ready with an IP, so the
// EndpointSlice controller publishes them with their nodes' zones.
//
// The binaries come from $KUBEBUILDER_ASSETS, else <repo root>/bin, where
// `make bin` builds them. Without them the tests skip, unless
// INZONE_E2E_REQUIRED=1 (as in CI), where they fail.
package envtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/webhook"
)

// Environment variables the harness reads.
const (
	// EnvAssets names the folder holding kube-apiserver and etcd.
	EnvAssets = "KUBEBUILDER_ASSETS"
	// EnvRequired, when "1", turns missing binaries into a failure.
	EnvRequired = "INZONE_E2E_REQUIRED"
	// EnvVerbose, when "1", sends the webhook's and envtest's logs to stderr.
	EnvVerbose = "INZONE_E2E_VERBOSE"
)

// Names of the webhook configuration the harness installs, matching what a
// real installation registers.
const (
	WebhookConfigurationName = "inzone"
	WebhookName              = "pods.inzone.io"
)

// Bounds on the harness's own waits.
const (
	startTimeout   = 60 * time.Second
	stopTimeout    = 30 * time.Second
	webhookTimeout = 30 * time.Second
)

// ErrNoBinaries means kube-apiserver or etcd is not where the harness looks.
var ErrNoBinaries = errors.New("control-plane binaries not found")

// Options configure the control plane.
type Options struct {
	// ExtraMutatingWebhooks are installed after inzone's configuration. Give
	// each webhook a ClientConfig.Service with a Path: envtest points it at
	// the local webhook server, where StartWebhook's Register serves it.
	// The API server calls configurations in name order, so a name after
	// "inzone" (e.g. "zz-…") runs after inzone.
	ExtraMutatingWebhooks []*admissionv1.MutatingWebhookConfiguration
	// WithoutInzoneWebhook leaves out the harness's own inzone webhook
	// configuration, for tests that install the chart's.
	WithoutInzoneWebhook bool

	// Scheduler runs kube-scheduler from the assets folder beside the API
	// server (no leader election, health on a loopback port).
	Scheduler bool
	// Controllers runs kube-controller-manager with these controllers, e.g.
	// ControllersForPlacement; none when empty.
	Controllers []string
	// SchedulerArgs and ControllerManagerArgs are appended to the flags the
	// harness passes (a later flag wins), e.g. --kube-api-qps.
	SchedulerArgs, ControllerManagerArgs []string
	// Kubelet plays the kubelet of every node (see Kubelet): bound pods
	// become Running and Ready with an IP, deleted ones go away.
	Kubelet bool
}

// Env is a running control plane and, once started, the inzone webhook.
type Env struct {
	// Config is the admin rest.Config. Its WarningHandlerWithContext records
	// the API server's warnings into the Warnings carried by a request's
	// context (see WithWarnings).
	Config *rest.Config
	// Client talks to the API server directly, without a cache.
	Client client.Client
	// Scheme has the client-go types.
	Scheme *runtime.Scheme

	env *crenvtest.Environment

	mu      sync.Mutex
	webhook *runningWebhook

	components []*component
	kubelet    *Kubelet
}

// AssetsDir is where the harness looks for kube-apiserver and etcd:
// $KUBEBUILDER_ASSETS, else the bin folder beside the module's go.mod.
func AssetsDir() (string, error) {
	if d := os.Getenv(EnvAssets); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bin"), nil
}

// RepoRoot walks up from the working directory (a test's package folder) to
// the folder holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// checkBinaries returns ErrNoBinaries, with advice, when a binary is missing.
// extra names more binaries to check (kube-scheduler, ...).
func checkBinaries(dir string, extra ...string) error {
	for _, b := range append([]string{"kube-apiserver", "etcd"}, extra...) {
		p := filepath.Join(dir, b)
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%w: %s is missing or not executable; run `make bin` (hack/build-control-plane.sh) or set %s", ErrNoBinaries, p, EnvAssets)
		}
	}
	return nil
}

// Required reports whether missing binaries must fail the tests.
func Required() bool { return os.Getenv(EnvRequired) == "1" }

// InzoneWebhookConfiguration is the MutatingWebhookConfiguration of a real
// installation, with a Service client config envtest rewrites to the local
// webhook server.
func InzoneWebhookConfiguration() *admissionv1.MutatingWebhookConfiguration {
	return &admissionv1.MutatingWebhookConfiguration{
		TypeMeta:   metaType("MutatingWebhookConfiguration"),
		ObjectMeta: objectMeta(WebhookConfigurationName),
		Webhooks: []admissionv1.MutatingWebhook{{
			Name:         WebhookName,
			ClientConfig: ServiceClientConfig(webhook.Path),
			Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule: admissionv1.Rule{
					APIGroups:   []string{""},
					APIVersions: []string{"v1"},
					Resources:   []string{"pods"},
					Scope:       ptr.To(admissionv1.NamespacedScope),
				},
			}},
			SideEffects:             ptr.To(admissionv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      ptr.To(admissionv1.IfNeededReinvocationPolicy),
			FailurePolicy:           ptr.To(admissionv1.Fail),
			TimeoutSeconds:          ptr.To[int32](10),
			NamespaceSelector:       matchLabels(mutate.LabelInject, mutate.InjectEnabled),
		}},
	}
}

// ServiceClientConfig is a client config envtest turns into a URL on the
// local webhook server at path.
func ServiceClientConfig(path string) admissionv1.WebhookClientConfig {
	return admissionv1.WebhookClientConfig{Service: &admissionv1.ServiceReference{
		Namespace: "inzone-system", Name: "inzone-webhook", Path: ptr.To(path),
	}}
}

// Start starts etcd and kube-apiserver and installs the webhook
// configurations. It returns an error wrapping ErrNoBinaries when they are
// missing. Stop it with Stop.
func Start(opts Options) (*Env, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	var extra []string
	if opts.Scheduler {
		extra = append(extra, "kube-scheduler")
	}
	if len(opts.Controllers) > 0 {
		extra = append(extra, "kube-controller-manager")
	}
	if err := checkBinaries(assets, extra...); err != nil {
		return nil, err
	}
	setLogger()

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	var hooks []*admissionv1.MutatingWebhookConfiguration
	if !opts.WithoutInzoneWebhook {
		hooks = append(hooks, InzoneWebhookConfiguration())
	}
	for _, h := range opts.ExtraMutatingWebhooks {
		hooks = append(hooks, h.DeepCopy())
	}
	te := &crenvtest.Environment{
		Scheme:                   scheme,
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: startTimeout,
		ControlPlaneStopTimeout:  stopTimeout,
		WebhookInstallOptions: crenvtest.WebhookInstallOptions{
			MutatingWebhooks: hooks,
			LocalServingHost: "127.0.0.1",
			MaxTime:          startTimeout,
			PollInterval:     100 * time.Millisecond,
		},
	}
	if _, err := te.Start(); err != nil {
		_ = te.Stop()
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", assets, err)
	}
	cfg := rest.CopyConfig(te.Config)
	cfg.WarningHandlerWithContext = warningRecorder{}
	cfg.Timeout = 30 * time.Second
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = te.Stop()
		return nil, err
	}
	e := &Env{Config: cfg, Client: c, Scheme: scheme, env: te}
	if err := e.startComponents(opts); err != nil {
		return nil, errors.Join(err, e.Stop())
	}
	if opts.Kubelet {
		if e.kubelet, err = startKubelet(e.Config); err != nil {
			return nil, errors.Join(err, e.Stop())
		}
	}
	return e, nil
}

// Stop stops the kubelet, the scheduler and controller manager and the
// webhook, if running, then the control plane.
func (e *Env) Stop() error {
	var errs []error
	if e.kubelet != nil {
		e.kubelet.stop()
		e.kubelet = nil
	}
	errs = append(errs, e.stopComponents(), e.StopWebhook())
	if e.env != nil {
		errs = append(errs, e.env.Stop())
	}
	return errors.Join(errs...)
}

// WebhookServing is where the API server expects the webhook.
func (e *Env) WebhookServing() (host string, port int, certDir string, caData []byte) {
	o := e.env.WebhookInstallOptions
	return o.LocalServingHost, o.LocalServingPort, o.LocalServingCertDir, o.LocalServingCAData
}

// WebhookOptions configure the inzone webhook the harness runs.
type WebhookOptions struct {
	// Config is inzone's config; it is defaulted and validated. Required.
	Config *mutate.Config
	// WrapMutator wraps the engine (fault injection).
	WrapMutator func(webhook.Mutator) webhook.Mutator
	// NativeSidecar, when set, skips asking the API server.
	NativeSidecar *bool
	// HealthAddr and MetricsAddr default to "0" (off).
	HealthAddr, MetricsAddr string
	// Register serves extra handlers on the manager's webhook server (for
	// ExtraMutatingWebhooks) before it starts.
	Register func(srv crwebhook.Server)
}

type runningWebhook struct {
	cancel context.CancelFunc
	done   chan error
}

// StartWebhook starts webhook.NewManager on the serving address envtest
// chose and returns once the API server calls it: the port accepts TLS with
// envtest's CA, and a dry-run pod in an injected namespace reached the
// mutator. Only one webhook runs at a time; StopWebhook stops it.
func (e *Env) StartWebhook(opts WebhookOptions) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.webhook != nil {
		return errors.New("a webhook is already running; StopWebhook first")
	}
	if opts.Config == nil {
		return errors.New("WebhookOptions.Config is required")
	}
	cfg := *opts.Config
	cfg.Default()
	if errs := cfg.Validate(); len(errs) > 0 {
		return fmt.Errorf("invalid inzone config: %w", errs.ToAggregate())
	}
	host, port, certDir, caData := e.WebhookServing()
	probe := newProbe()
	wopts := webhook.Options{
		Config:        &cfg,
		Host:          host,
		Port:          port,
		CertDir:       certDir,
		MetricsAddr:   or(opts.MetricsAddr, "0"),
		HealthAddr:    or(opts.HealthAddr, "0"),
		NativeSidecar: opts.NativeSidecar,
		WrapMutator: func(m webhook.Mutator) webhook.Mutator {
			if opts.WrapMutator != nil {
				m = opts.WrapMutator(m)
			}
			return probe.wrap(m)
		},
	}
	wopts.ControlPlaneCA = ControlPlaneCA()
	mgr, err := webhook.NewManager(rest.CopyConfig(e.env.Config), wopts)
	if err != nil {
		return fmt.Errorf("webhook.NewManager: %w", err)
	}
	if opts.Register != nil {
		opts.Register(mgr.GetWebhookServer())
	}
	ctx, cancel := context.WithCancel(context.Background())
	rw := &runningWebhook{cancel: cancel, done: make(chan error, 1)}
	go func() { rw.done <- mgr.Start(ctx) }()

	stop := func(err error) error {
		cancel()
		select {
		case <-rw.done:
		case <-time.After(stopTimeout):
		}
		return err
	}
	if err := waitTLS(ctx, host, port, caData, rw.done); err != nil {
		return stop(err)
	}
	if err := e.waitCalled(probe, rw.done); err != nil {
		return stop(err)
	}
	e.webhook = rw
	return nil
}

// StopWebhook stops the running webhook, if any, and waits for it.
func (e *Env) StopWebhook() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	rw := e.webhook
	if rw == nil {
		return nil
	}
	e.webhook = nil
	rw.cancel()
	select {
	case err := <-rw.done:
		return err
	case <-time.After(stopTimeout):
		return errors.New("webhook manager did not stop within " + stopTimeout.String())
	}
}

// waitTLS waits until the webhook port completes a TLS handshake that
// verifies against envtest's CA, or the manager exits.
func waitTLS(ctx context.Context, host string, port int, caData []byte, done <-chan error) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caData) {
		return errors.New("envtest gave no usable webhook CA")
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	deadline := time.Now().Add(webhookTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("webhook manager exited before serving: %v", err)
		default:
		}
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: time.Second}, Config: &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}}
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			_ = conn.Close()
			return nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("webhook at %s did not accept TLS within %s: %v", addr, webhookTimeout, last)
}

// probeLabel marks the pods the harness sends to check the API server calls
// the webhook.
const probeLabel = "envtest.inzone.io/probe"

// probe records that the mutator saw a probe pod.
type probe struct {
	nonce string
	seen  chan struct{}
	once  sync.Once
}

func newProbe() *probe {
	return &probe{nonce: strconv.FormatInt(time.Now().UnixNano(), 36), seen: make(chan struct{})}
}

func (p *probe) wrap(m webhook.Mutator) webhook.Mutator {
	return MutatorFunc(func(pod *corev1.Pod, ns mutate.Namespace) (*mutate.Result, error) {
		if pod.Labels[probeLabel] == p.nonce {
			p.once.Do(func() { close(p.seen) })
		}
		return m.Mutate(pod, ns)
	})
}

// MutatorFunc adapts a function to webhook.Mutator.
type MutatorFunc func(pod *corev1.Pod, ns mutate.Namespace) (*mutate.Result, error)

// Mutate implements webhook.Mutator.
func (f MutatorFunc) Mutate(pod *corev1.Pod, ns mutate.Namespace) (*mutate.Result, error) {
	return f(pod, ns)
}

// waitCalled dry-run creates a probe pod in an injected namespace until the
// webhook sees it: the API server's webhook configuration and its TLS client
// are then ready.
func (e *Env) waitCalled(p *probe, done <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), webhookTimeout)
	defer cancel()
	ns, err := e.CreateNamespace(ctx, "inzone-e2e-probe-", true)
	if err != nil {
		return err
	}
	var last error
	for {
		pod := &corev1.Pod{}
		pod.GenerateName = "probe-"
		pod.Namespace = ns.Name
		pod.Labels = map[string]string{probeLabel: p.nonce}
		pod.Spec.Containers = []corev1.Container{{Name: "probe", Image: "registry.k8s.io/pause:3.10"}}
		if err := e.Client.Create(ctx, pod, client.DryRunAll); err != nil {
			last = err
		}
		select {
		case <-p.seen:
			return nil
		case err := <-done:
			return fmt.Errorf("webhook manager exited: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("the API server did not call the webhook within %s (last create error: %v)", webhookTimeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

var (
	current    *Env
	skipReason string
	loggerOnce sync.Once
)

// Main starts one control plane for a test package and runs its tests; call
// it from TestMain as os.Exit(envtest.Main(m, opts, setup)). setup (may be
// nil) runs once the control plane is up, typically to StartWebhook. When the
// binaries are missing the tests run and skip (For skips them), or, with
// INZONE_E2E_REQUIRED=1, Main fails.
func Main(m *testing.M, opts Options, setup func(*Env) error) (code int) {
	defer func() {
		if err := RemoveBuiltBinaries(); err != nil {
			fmt.Fprintf(os.Stderr, "envtest: removing built binaries: %v\n", err)
			code = 1
		}
	}()
	env, err := Start(opts)
	if err != nil {
		if errors.Is(err, ErrNoBinaries) && !Required() {
			skipReason = err.Error()
			return m.Run()
		}
		fmt.Fprintf(os.Stderr, "envtest: %v\n", err)
		if errors.Is(err, ErrNoBinaries) {
			fmt.Fprintf(os.Stderr, "envtest: %s=1, so missing binaries fail the run\n", EnvRequired)
		}
		return 1
	}
	code = 1
	func() {
		defer func() {
			if err := env.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "envtest: stopping: %v\n", err)
				code = 1
			}
		}()
		if setup != nil {
			if err := setup(env); err != nil {
				fmt.Fprintf(os.Stderr, "envtest: setup: %v\n", err)
				return
			}
		}
		current = env
		code = m.Run()
		current = nil
	}()
	return code
}

// For returns the package's control plane started by Main; it skips the test
// when the binaries are missing.
func For(t testing.TB) *Env {
	t.Helper()
	if current == nil {
		if skipReason != "" {
			t.Skip(skipReason)
		}
		t.Fatal("envtest: no control plane; call envtest.Main from TestMain")
	}
	return current
}

// StartT starts a control plane of its own for one test, stopped at the
// test's end; it skips (or fails, with INZONE_E2E_REQUIRED=1) without the
// binaries.
func StartT(t testing.TB, opts Options) *Env {
	t.Helper()
	env, err := Start(opts)
	if errors.Is(err, ErrNoBinaries) && !Required() {
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	return env
}

// setLogger sends controller-runtime's logs, and client-go's (klog: the
// Kubelet's informer), to stderr when verbose, else nowhere.
func setLogger() {
	loggerOnce.Do(func() {
		l := discardLogger()
		if os.Getenv(EnvVerbose) == "1" {
			l = newStderrLogger()
		}
		ctrl.SetLogger(l)
		klog.SetLogger(l)
	})
}
