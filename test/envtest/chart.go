package envtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/inzone-io/inzone/webhook"
)

// The release the harness installs the chart as, in the namespace the
// README's install command uses.
const (
	ChartRelease   = "inzone"
	ChartNamespace = "inzone-system"
	// ChartFieldOwner owns what the harness applies (server-side apply).
	ChartFieldOwner = "inzone-envtest"
)

// ErrNoHelm means ./bin/helm is missing.
var ErrNoHelm = errors.New("helm not found")

// HelmBinary is ./bin/helm (or $KUBEBUILDER_ASSETS/helm), built by `make
// bin` (hack/build-helm.sh).
func HelmBinary() (string, error) {
	dir, err := AssetsDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "helm")
	if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%w: %s is missing; run `make bin` (hack/build-helm.sh)", ErrNoHelm, p)
	}
	return p, nil
}

// ChartDir is charts/inzone in the repository.
func ChartDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "charts", "inzone"), nil
}

// Helm runs ./bin/helm with a private home, so no user config or repository
// cache leaks in, and returns stdout, or an error carrying stderr.
func Helm(ctx context.Context, args ...string) ([]byte, error) {
	bin, err := HelmBinary()
	if err != nil {
		return nil, err
	}
	home, err := os.MkdirTemp("", "inzone-helm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// SetArgs turns "key=value" pairs into helm --set flags; a pair starting
// with "string:" becomes --set-string.
func SetArgs(sets []string) []string {
	var args []string
	for _, s := range sets {
		if v, ok := strings.CutPrefix(s, "string:"); ok {
			args = append(args, "--set-string", v)
			continue
		}
		args = append(args, "--set", s)
	}
	return args
}

// RenderChart runs helm template on charts/inzone as ChartRelease in
// ChartNamespace and returns the output and its objects.
func RenderChart(ctx context.Context, sets ...string) ([]byte, []*unstructured.Unstructured, error) {
	dir, err := ChartDir()
	if err != nil {
		return nil, nil, err
	}
	out, err := Helm(ctx, append([]string{"template", ChartRelease, dir, "--namespace", ChartNamespace}, SetArgs(sets)...)...)
	if err != nil {
		return nil, nil, err
	}
	objs, err := DecodeObjects(out)
	if err != nil {
		return out, nil, fmt.Errorf("rendered manifests do not decode: %w", err)
	}
	return out, objs, nil
}

// DecodeObjects splits a YAML stream into objects, skipping empty documents.
func DecodeObjects(stream []byte) ([]*unstructured.Unstructured, error) {
	dec := yamlv3.NewDecoder(bytes.NewReader(stream))
	var objs []*unstructured.Unstructured
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, err
		}
		if doc == nil {
			continue
		}
		// Through JSON, so numbers and maps have the types unstructured expects.
		data, err := yaml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &u.Object); err != nil {
			return nil, err
		}
		objs = append(objs, u)
	}
}

// Apply server-side applies an object as ChartFieldOwner.
func (e *Env) Apply(ctx context.Context, o *unstructured.Unstructured, opts ...client.ApplyOption) error {
	opts = append(opts, client.FieldOwner(ChartFieldOwner), client.ForceOwnership)
	return e.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), opts...)
}

// EnsureNamespace creates a namespace, or adds labels to an existing one.
func (e *Env) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	if len(labels) == 0 {
		return nil
	}
	cur := &corev1.Namespace{}
	if err := e.Client.Get(ctx, types.NamespacedName{Name: name}, cur); err != nil {
		return err
	}
	before := cur.DeepCopy()
	if cur.Labels == nil {
		cur.Labels = map[string]string{}
	}
	for k, v := range labels {
		cur.Labels[k] = v
	}
	return e.Client.Patch(ctx, cur, client.MergeFrom(before))
}

// ChartOptions configure InstallChart.
type ChartOptions struct {
	// Sets are helm --set values ("string:" prefix for --set-string).
	Sets []string
	// Flags override the webhook's flags from the rendered Deployment (name
	// without dashes -> value).
	Flags map[string]string
	// Logs receives the webhook's output. Default: kept in ChartInstall.Logs.
	Logs io.Writer
}

// ChartInstall is the chart installed on the control plane, with the
// inzone-webhook binary running out of cluster as the chart's ServiceAccount.
type ChartInstall struct {
	// Objects are what helm rendered.
	Objects []*unstructured.Unstructured
	// Args the webhook runs with: the Deployment's, adjusted for running
	// out of cluster.
	Args []string
	// Port of the webhook and of its health probes, on 127.0.0.1.
	Port, HealthPort int
	// CertDir is where the Secret is projected.
	CertDir string
	// Kubeconfig is the admin kubeconfig helm runs with.
	Kubeconfig string
	// Logs holds the webhook's output unless ChartOptions.Logs was set.
	Logs *bytes.Buffer

	env         *Env
	dir         string
	configPath  string
	xds         *ChartXDS
	cmd         *exec.Cmd
	exited      chan error
	stopped     bool
	terminated  bool
	stopProject context.CancelFunc
	projectDone chan struct{}
}

// InstallChart runs `helm install` of charts/inzone as ChartRelease into
// ChartNamespace on the control plane, points the webhook configuration at
// https://localhost:<port> (where the Service would route in a cluster), and
// starts the built inzone-webhook with the Deployment's own flags, as the
// chart's ServiceAccount (impersonated, so the chart's RBAC is what
// authorizes it). Nothing writes the cert dir until ProjectSecret, as
// nothing does in a pod until the kubelet mounts the Secret. Stop stops the
// webhook; Uninstall runs `helm uninstall`.
func (e *Env) InstallChart(ctx context.Context, opts ChartOptions) (*ChartInstall, error) {
	bin, err := BuildBinary("./cmd/inzone-webhook")
	if err != nil {
		return nil, err
	}
	chartDir, err := ChartDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "inzone-chart-")
	if err != nil {
		return nil, err
	}
	ci := &ChartInstall{CertDir: filepath.Join(dir, "certs"), Logs: &bytes.Buffer{}, env: e, dir: dir, exited: make(chan error, 1),
		Kubeconfig: filepath.Join(dir, "admin.kubeconfig")}
	fail := func(err error) (*ChartInstall, error) {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := os.MkdirAll(ci.CertDir, 0o755); err != nil {
		return fail(err)
	}
	if ci.Port, err = freePort(); err != nil {
		return fail(err)
	}
	if ci.HealthPort, err = freePort(); err != nil {
		return fail(err)
	}
	if err := e.WriteKubeconfig(ci.Kubeconfig); err != nil {
		return fail(err)
	}
	install := append([]string{"install", ChartRelease, chartDir, "--namespace", ChartNamespace, "--create-namespace", "--kubeconfig", ci.Kubeconfig}, SetArgs(opts.Sets)...)
	if _, err := Helm(ctx, install...); err != nil {
		return fail(err)
	}
	manifest, err := Helm(ctx, "get", "manifest", ChartRelease, "--namespace", ChartNamespace, "--kubeconfig", ci.Kubeconfig)
	if err != nil {
		return fail(err)
	}
	if ci.Objects, err = DecodeObjects(manifest); err != nil {
		return fail(err)
	}
	if err := ci.PointWebhookAtLocalhost(ctx); err != nil {
		return fail(err)
	}
	deployment, configMap := ci.ObjectNamed("Deployment", WebhookDeployment), ci.Object("ConfigMap")
	if deployment == nil || configMap == nil {
		return fail(fmt.Errorf("the chart installed no Deployment %s or no ConfigMap", WebhookDeployment))
	}

	config, _, _ := unstructured.NestedString(configMap.Object, "data", "config.yaml")
	ci.configPath = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(ci.configPath, []byte(config), 0o644); err != nil {
		return fail(err)
	}
	args, err := containerArgs(deployment, "")
	if err != nil {
		return fail(err)
	}
	set := map[string]string{
		"config": ci.configPath, "cert-dir": ci.CertDir, "host": "127.0.0.1", "port": strconv.Itoa(ci.Port),
		"metrics-bind-address": "0", "health-probe-bind-address": "127.0.0.1:" + strconv.Itoa(ci.HealthPort),
	}
	if dns := FlagValue(args, "cert-dns-names"); dns != "" {
		// The API server calls localhost out of cluster.
		set["cert-dns-names"] = dns + ",localhost"
	}
	for k, v := range opts.Flags {
		set[k] = v
	}
	var logs io.Writer = ci.Logs
	if opts.Logs != nil {
		logs = opts.Logs
	}
	if ci.Args, ci.cmd, err = ci.runContainer(bin, deployment, "", set, logs); err != nil {
		return fail(err)
	}
	go func() { ci.exited <- ci.cmd.Wait() }()
	return ci, nil
}

// The chart's Deployments, by name, for release ChartRelease.
const (
	WebhookDeployment = ChartRelease + "-webhook"
	XDSDeployment     = ChartRelease + "-xds"
)

// containerArgs are the args of the rendered Deployment's container named
// container ("": the first).
func containerArgs(deployment *unstructured.Unstructured, container string) ([]string, error) {
	containers, _, _ := unstructured.NestedSlice(deployment.Object, "spec", "template", "spec", "containers")
	for i, c := range containers {
		m, _ := c.(map[string]any)
		if name, _ := m["name"].(string); container != "" && name != container || container == "" && i > 0 {
			continue
		}
		raw, _ := m["args"].([]any)
		args := make([]string, 0, len(raw))
		for _, a := range raw {
			s, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("Deployment %s: container %q has a non-string arg %v", deployment.GetName(), container, a)
			}
			args = append(args, s)
		}
		return args, nil
	}
	return nil, fmt.Errorf("Deployment %s has no container %q", deployment.GetName(), container)
}

// runContainer starts bin as the Deployment's container (named container,
// "" the first) would run: with the container's own args, the flags in set
// overriding or added (name without dashes -> value), as the Deployment's
// ServiceAccount (a kubeconfig impersonating it, so the chart's RBAC is
// what authorizes the process), its output into logs. It returns the args
// and the started command; the caller waits for it.
func (ci *ChartInstall) runContainer(bin string, deployment *unstructured.Unstructured, container string, set map[string]string, logs io.Writer) ([]string, *exec.Cmd, error) {
	sa, _, _ := unstructured.NestedString(deployment.Object, "spec", "template", "spec", "serviceAccountName")
	if sa == "" {
		return nil, nil, fmt.Errorf("Deployment %s names no serviceAccountName", deployment.GetName())
	}
	kubeconfig := filepath.Join(ci.dir, deployment.GetName()+".kubeconfig")
	if err := ci.env.writeKubeconfig(kubeconfig, "system:serviceaccount:"+ChartNamespace+":"+sa); err != nil {
		return nil, nil, err
	}
	args, err := containerArgs(deployment, container)
	if err != nil {
		return nil, nil, err
	}
	args = OverrideFlags(args, set)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	return args, cmd, nil
}

// ObjectNamed returns the rendered object of kind and name, or nil.
func (ci *ChartInstall) ObjectNamed(kind, name string) *unstructured.Unstructured {
	for _, o := range ci.Objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// XDSOptions configure StartXDS.
type XDSOptions struct {
	// Flags override inzone-xds's flags from the rendered Deployment (name
	// without dashes -> value).
	Flags map[string]string
	// Logs receives inzone-xds's output. Default: kept in ChartXDS.Logs.
	Logs io.Writer
}

// ChartXDS is the chart's inzone-xds Deployment run as a child process.
type ChartXDS struct {
	// Args inzone-xds runs with: the Deployment's, adjusted for running out
	// of cluster.
	Args []string
	// Ports on 127.0.0.1: ADS (gRPC, TLS unless the chart says plaintext),
	// DNS (UDP and TCP; 0 when the chart turns it off), health probes and
	// metrics.
	Port, DNSPort, HealthPort, MetricsPort int
	// Logs holds inzone-xds's output unless XDSOptions.Logs was set.
	Logs *bytes.Buffer

	cmd     *exec.Cmd
	exited  chan error
	stopped bool
}

// StartXDS starts the built inzone-xds as the chart's inzone-xds
// Deployment runs it: the xds container's own flags, as its ServiceAccount
// (impersonated), the chart's config, the Secret the Deployment mounts read
// from CertDir (so call ProjectSecret first, and wait for the webhook to
// have issued it), every address on a free 127.0.0.1 port. Stop stops it.
func (ci *ChartInstall) StartXDS(opts XDSOptions) (*ChartXDS, error) {
	if ci.xds != nil {
		return nil, errors.New("inzone-xds is already started")
	}
	deployment := ci.ObjectNamed("Deployment", XDSDeployment)
	if deployment == nil {
		return nil, fmt.Errorf("the chart installed no Deployment %s (xds.enabled=false?)", XDSDeployment)
	}
	bin, err := BuildBinary("./cmd/inzone-xds")
	if err != nil {
		return nil, err
	}
	args, err := containerArgs(deployment, "xds")
	if err != nil {
		return nil, err
	}
	x := &ChartXDS{Logs: &bytes.Buffer{}, exited: make(chan error, 1)}
	for _, p := range []*int{&x.Port, &x.HealthPort, &x.MetricsPort} {
		if *p, err = freePort(); err != nil {
			return nil, err
		}
	}
	loopback := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
	set := map[string]string{
		"config": ci.configPath, "xds-address": loopback(x.Port),
		"health-probe-bind-address": loopback(x.HealthPort), "metrics-bind-address": loopback(x.MetricsPort),
	}
	if FlagValue(args, "cert-dir") != "" {
		set["cert-dir"] = ci.CertDir
	}
	if dns := FlagValue(args, "dns-address"); dns != "" && dns != "0" {
		if x.DNSPort, err = freePort(); err != nil {
			return nil, err
		}
		set["dns-address"] = loopback(x.DNSPort)
	}
	for k, v := range opts.Flags {
		set[k] = v
	}
	var logs io.Writer = x.Logs
	if opts.Logs != nil {
		logs = opts.Logs
	}
	if x.Args, x.cmd, err = ci.runContainer(bin, deployment, "xds", set, logs); err != nil {
		return nil, err
	}
	go func() { x.exited <- x.cmd.Wait() }()
	ci.xds = x
	return x, nil
}

// WaitReady waits for inzone-xds's /readyz to answer 200 (informers
// synced, a first snapshot served), or the process to exit.
func (x *ChartXDS) WaitReady(timeout time.Duration) error {
	err := waitReadyz("inzone-xds", x.HealthPort, x.exited, timeout)
	if errors.Is(err, errExited) {
		x.stopped = true
	}
	return err
}

// Stop stops inzone-xds (SIGTERM, then kill). Idempotent.
func (x *ChartXDS) Stop() error {
	if x.stopped {
		return nil
	}
	x.stopped = true
	return stopProcess("inzone-xds", x.cmd, x.exited, true)
}

// Object returns the rendered object of kind, or nil.
func (ci *ChartInstall) Object(kind string) *unstructured.Unstructured {
	for _, o := range ci.Objects {
		if o.GetKind() == kind {
			return o
		}
	}
	return nil
}

// Stop stops projecting the Secret and the webhook (SIGTERM, then kill).
// The installed objects stay; Uninstall removes the webhook configuration.
// Idempotent.
func (ci *ChartInstall) Stop() error {
	if ci.stopProject != nil {
		ci.stopProject()
		<-ci.projectDone
		ci.stopProject = nil
	}
	var errs []error
	if ci.xds != nil {
		errs = append(errs, ci.xds.Stop())
	}
	if !ci.stopped {
		ci.stopped = true
		errs = append(errs, stopProcess("inzone-webhook", ci.cmd, ci.exited, !ci.terminated))
	}
	return errors.Join(errs...)
}

// stopProcess sends SIGTERM (if term) and waits for exited, killing the
// process after 30s.
func stopProcess(name string, cmd *exec.Cmd, exited <-chan error, term bool) error {
	if term {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not stop within 30s of SIGTERM", name)
	}
}

// Uninstall runs `helm uninstall`, which also removes the webhook
// configuration, so nothing points at a stopped process, and removes the
// webhook's files. Call it after Stop.
func (ci *ChartInstall) Uninstall(ctx context.Context) error {
	_, err := Helm(ctx, "uninstall", ChartRelease, "--namespace", ChartNamespace, "--kubeconfig", ci.Kubeconfig, "--wait")
	return errors.Join(err, os.RemoveAll(ci.dir))
}

// Upgrade runs `helm upgrade --reuse-values` with more values.
func (ci *ChartInstall) Upgrade(ctx context.Context, sets ...string) error {
	dir, err := ChartDir()
	if err != nil {
		return err
	}
	_, err = Helm(ctx, append([]string{"upgrade", ChartRelease, dir, "--namespace", ChartNamespace, "--kubeconfig", ci.Kubeconfig, "--reuse-values"}, SetArgs(sets)...)...)
	return err
}

// PointWebhookAtLocalhost sets the installed webhook configuration's
// clientConfig to the local webhook, keeping its caBundle.
func (ci *ChartInstall) PointWebhookAtLocalhost(ctx context.Context) error {
	url := fmt.Sprintf("https://localhost:%d%s", ci.Port, webhook.Path)
	return ci.setClientConfig(ctx, func(cc *admissionv1.WebhookClientConfig, _ int) {
		cc.Service, cc.URL = nil, &url
	})
}

// PointWebhookAtService puts back the clientConfig the chart installed
// (the Service), keeping the caBundle: the state of a real cluster, which
// `helm upgrade` expects.
func (ci *ChartInstall) PointWebhookAtService(ctx context.Context) error {
	rendered, err := Into[admissionv1.MutatingWebhookConfiguration](ci.Object("MutatingWebhookConfiguration"))
	if err != nil {
		return err
	}
	return ci.setClientConfig(ctx, func(cc *admissionv1.WebhookClientConfig, i int) {
		cc.Service, cc.URL = rendered.Webhooks[i].ClientConfig.Service, nil
	})
}

func (ci *ChartInstall) setClientConfig(ctx context.Context, set func(cc *admissionv1.WebhookClientConfig, i int)) error {
	mwc := &admissionv1.MutatingWebhookConfiguration{}
	if err := ci.env.Client.Get(ctx, types.NamespacedName{Name: ChartRelease}, mwc); err != nil {
		return err
	}
	for i := range mwc.Webhooks {
		set(&mwc.Webhooks[i].ClientConfig, i)
	}
	return ci.env.Client.Update(ctx, mwc)
}

// Terminate sends SIGTERM, as the kubelet does to a terminating pod, and
// returns at once; Stop then waits for the exit.
func (ci *ChartInstall) Terminate() error {
	ci.terminated = true
	return ci.cmd.Process.Signal(syscall.SIGTERM)
}

// Readyz returns the status code and body of GET /readyz.
func (ci *ChartInstall) Readyz() (int, string) { return readyz(ci.HealthPort) }

// WaitReady waits for /readyz to answer 200, or the process to exit.
func (ci *ChartInstall) WaitReady(timeout time.Duration) error {
	err := waitReadyz("inzone-webhook", ci.HealthPort, ci.exited, timeout)
	if errors.Is(err, errExited) {
		ci.stopped = true
	}
	return err
}

// errExited means the process waited for exited.
var errExited = errors.New("exited")

// readyz returns the status code and body of GET /readyz on a loopback port.
func readyz(port int) (int, string) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b.String()
}

// waitReadyz polls /readyz on port until it answers 200, the process exits
// (errExited), or timeout.
func waitReadyz(name string, port int, exited <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("%s %w: %v", name, errExited, err)
		default:
		}
		if code, _ := readyz(port); code == http.StatusOK {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	code, body := readyz(port)
	return fmt.Errorf("%s not ready within %s: %d %s", name, timeout, code, body)
}

// ServedCertificate is the SHA-256 of the leaf certificate the webhook
// presents now.
func (ci *ChartInstall) ServedCertificate() ([32]byte, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ci.Port)),
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

// ProjectSecret does what the kubelet does for the Deployment's Secret
// volume: it writes the Secret's keys into CertDir whenever the Secret
// changes (polled every 200 ms), swapping a ..data symlink so a reader
// never sees half of an update. Stop ends it.
func (ci *ChartInstall) ProjectSecret() {
	secret := ci.Object("Secret")
	name := "inzone-webhook-cert"
	if secret != nil {
		name = secret.GetName()
	}
	ctx, cancel := context.WithCancel(context.Background())
	ci.stopProject, ci.projectDone = cancel, make(chan struct{})
	go func() {
		defer close(ci.projectDone)
		lastRV := ""
		for ctx.Err() == nil {
			s := &corev1.Secret{}
			if err := ci.env.Client.Get(ctx, types.NamespacedName{Namespace: ChartNamespace, Name: name}, s); err == nil && s.ResourceVersion != lastRV && len(s.Data) > 0 {
				if err := atomicWrite(ci.CertDir, s.Data); err == nil {
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
	buildMu    sync.Mutex
	builtBins  = map[string]string{}
	builtDir   string
	buildError = map[string]error{}
)

// BuildBinary builds a main package of the repository (e.g.
// "./cmd/inzone-webhook") once per process and returns its path, in a
// temporary directory that RemoveBuiltBinaries removes (Main does, when
// the tests are done).
func BuildBinary(pkg string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := builtBins[pkg]; ok {
		return p, buildError[pkg]
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	if builtDir == "" {
		if builtDir, err = os.MkdirTemp("", "inzone-bin-"); err != nil {
			return "", err
		}
	}
	out := filepath.Join(builtDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		buildError[pkg] = fmt.Errorf("building %s: %v\n%s", pkg, err, b)
	}
	builtBins[pkg] = out
	return out, buildError[pkg]
}

// RemoveBuiltBinaries removes what BuildBinary built; a later BuildBinary
// builds again. Each binary is some 100 MB, so a process that builds them
// must call it before it exits, or every test run leaves them behind.
func RemoveBuiltBinaries() error {
	buildMu.Lock()
	defer buildMu.Unlock()
	if builtDir == "" {
		return nil
	}
	err := os.RemoveAll(builtDir)
	builtDir, builtBins, buildError = "", map[string]string{}, map[string]error{}
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FlagValue is the value of --name=value in args.
func FlagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// OverrideFlags replaces --name=value flags in args and appends those args
// lacks, in name order; every other flag is kept.
func OverrideFlags(args []string, set map[string]string) []string {
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
	var rest []string
	for name := range set {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range rest {
		out = append(out, "--"+name+"="+set[name])
	}
	return out
}

// Into converts an unstructured object into a typed one.
func Into[T any](u *unstructured.Unstructured) (*T, error) {
	v := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, v, true); err != nil {
		return nil, fmt.Errorf("%s %s does not convert to %T: %w", u.GetKind(), u.GetName(), v, err)
	}
	return v, nil
}
