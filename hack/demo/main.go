// Command demo shows inzone end to end on a throwaway control plane, on the
// path a user takes: it starts kube-apiserver, etcd and
// kube-controller-manager's EndpointSlice controller from ./bin, installs
// what `helm install inzone charts/inzone` installs (RBAC, config, Secret,
// webhook configuration; the two Deployments' pods, inzone-webhook and
// inzone-xds, are this process's children, run with the chart's own flags
// as the chart's ServiceAccounts), waits for the webhook to issue its own
// certificate, which inzone-xds serves, then creates example pods and
// prints what the API server stored, creates a callee (orders) over three
// zones, and prints what inzone-xds serves the web pod's sidecar over ADS
// and answers for the orders DDSD name over DNS. `make demo` runs it;
// DEMO_KEEP=1 keeps the control plane up (with a kubeconfig in .demo/)
// until Ctrl-C.
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
)

func main() { os.Exit(run()) }

// options is the control plane the demo runs on. No kubelet runs: the
// harness's Kubelet makes bound pods Running and Ready with an IP, so the
// EndpointSlice controller publishes them.
var options = envtest.Options{WithoutInzoneWebhook: true, Kubelet: true, Controllers: []string{"endpointslice"}}

func run() int {
	fmt.Println("starting kube-apiserver, etcd and kube-controller-manager (EndpointSlice controller) from ./bin ...")
	env, err := envtest.Start(options)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err, "(run `make bin` first)")
		return 1
	}
	defer func() { _ = env.Stop() }()
	defer func() { _ = envtest.RemoveBuiltBinaries() }()

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	chart, xds, err := install(ctx, os.Stdout, env)
	if chart != nil {
		defer func() {
			_ = chart.Stop()
			_ = chart.Uninstall(context.Background())
		}()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	if _, err := demo(ctx, os.Stdout, env, chart, xds); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\ninzone-xds's log:\n%s", err, tail(xds.Logs.String(), 4<<10))
		return 1
	}
	if os.Getenv("DEMO_KEEP") == "1" {
		return keep(env, xds)
	}
	return 0
}

// install does what `helm install` gives: the chart installed, its
// inzone-webhook and inzone-xds Deployments run as child processes, both
// ready. A non-nil chart must be stopped and uninstalled, also on error.
func install(ctx context.Context, w io.Writer, env *envtest.Env) (*envtest.ChartInstall, *envtest.ChartXDS, error) {
	fmt.Fprintln(w, "helm install inzone charts/inzone -n inzone-system --set xds.dns.clusterDNSForwards=true,\n"+
		"then inzone-webhook with the chart's flags as its ServiceAccount ...")
	chart, err := env.InstallChart(ctx, envtest.ChartOptions{Sets: []string{
		// The one thing the default config cannot know: which ELBs are
		// which service (Services of type LoadBalancer are learned on
		// their own).
		`config.ddsd.elbs.internal-orders-1234567890\.us-east-1\.elb\.amazonaws\.com=orders`,
		// In a cluster, CoreDNS forwards the DDSD domain to inzone-xds's
		// Service (README, "DNS for the DDSD domain"); here the demo
		// stands in for that forward, querying inzone-xds itself. With it
		// the webhook rewrites ELB hostnames.
		"xds.dns.clusterDNSForwards=true",
	}})
	if err != nil {
		return nil, nil, err
	}
	for _, o := range chart.Objects {
		fmt.Fprintf(w, "  %s %s\n", o.GetKind(), o.GetName())
	}
	chart.ProjectSecret()
	if err := chart.WaitReady(90 * time.Second); err != nil {
		return chart, nil, fmt.Errorf("%w\n%s", err, tail(chart.Logs.String(), 4<<10))
	}
	if err := showCertificate(ctx, w, env); err != nil {
		return chart, nil, err
	}
	xds, err := startXDS(w, chart)
	return chart, xds, err
}

// startXDS runs the chart's inzone-xds Deployment as a child process and
// waits for it to be ready.
func startXDS(w io.Writer, chart *envtest.ChartInstall) (*envtest.ChartXDS, error) {
	fmt.Fprintln(w, "inzone-xds with the chart's flags as its ServiceAccount, serving the webhook's Secret ...")
	xds, err := chart.StartXDS(envtest.XDSOptions{})
	if err != nil {
		return nil, err
	}
	if err := xds.WaitReady(60 * time.Second); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, tail(xds.Logs.String(), 4<<10))
	}
	fmt.Fprintf(w, "inzone-xds is ready: %s\n\n", strings.Join(xds.Args, " "))
	return xds, nil
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// showCertificate prints what the webhook did for its own TLS: the CA it
// created, now the caBundle the API server trusts.
func showCertificate(ctx context.Context, w io.Writer, env *envtest.Env) error {
	mwc := &admissionv1.MutatingWebhookConfiguration{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: envtest.ChartRelease}, mwc); err != nil {
		return err
	}
	block, _ := pem.Decode(mwc.Webhooks[0].ClientConfig.CABundle)
	if block == nil {
		return errors.New("the webhook configuration has no caBundle")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "inzone-webhook is ready: it created CA %q (valid until %s) in Secret %s/inzone-webhook-cert\nand wrote it into MutatingWebhookConfiguration %s's caBundle\n\n",
		ca.Subject.CommonName, ca.NotAfter.Format("2006-01-02"), envtest.ChartNamespace, mwc.Name)
	return nil
}

// demo creates the example pods and the orders callee, and shows what
// inzone-xds serves the web pod's sidecar.
func demo(ctx context.Context, w io.Writer, env *envtest.Env, chart *envtest.ChartInstall, xds *envtest.ChartXDS) (*result, error) {
	c := env.Client
	if err := createNodes(ctx, env); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "Nodes %s, one per zone\n", strings.Join(zones, ", "))
	// A LoadBalancer Service whose ELB the webhook learns from its informer.
	payments := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "payments", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{Port: 443}}, Selector: map[string]string{"app": "payments"}},
	}
	if err := c.Create(ctx, payments); err != nil {
		return nil, err
	}
	payments.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "payments-0123456789abcdef.elb.us-west-2.amazonaws.com"}}
	if err := c.Status().Update(ctx, payments); err != nil {
		return nil, err
	}
	ns, err := env.CreateNamespace(ctx, "shop-", true)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "namespace %s is labelled %s=%s\n\n", ns.Name, mutate.LabelInject, mutate.InjectEnabled)
	// Give the Service informer a moment so the payments ELB is known.
	time.Sleep(500 * time.Millisecond)

	web := examplePod(ns.Name, "web", map[string]string{"app.kubernetes.io/name": "web", "pod-template-hash": "7d4b9c8f6"}, nil,
		[]corev1.EnvVar{
			{Name: "ORDERS_URL", Value: "http://internal-orders-1234567890.us-east-1.elb.amazonaws.com:8080/v1/orders"},
			{Name: "PAYMENTS_URL", Value: "https://payments-0123456789abcdef.elb.us-west-2.amazonaws.com/charge"},
			{Name: "LEGACY_URL", Value: "http://legacy-999.eu-central-1.elb.amazonaws.com"},
		})
	pods := []struct {
		pod  *corev1.Pod
		zone string // the Node it is bound to; "" none
	}{
		{web, zones[0]},
		{examplePod(ns.Name, "cache", map[string]string{"app": "cache"}, map[string]string{"topology.kubernetes.io/zone": "us-east-1b"}, nil), "us-east-1b"},
		{examplePod(ns.Name, "batch", map[string]string{"app": "batch", mutate.LabelInject: "false"}, nil, nil), ""},
	}
	for _, p := range pods {
		wctx, warnings := envtest.WithWarnings(ctx)
		if err := c.Create(wctx, p.pod); err != nil {
			return nil, fmt.Errorf("creating pod %s: %w", p.pod.Name, err)
		}
		stored := &corev1.Pod{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(p.pod), stored); err != nil {
			return nil, err
		}
		describe(w, stored, warnings.List())
		if p.zone != "" {
			if err := bind(ctx, c, stored, p.zone); err != nil {
				return nil, err
			}
		}
	}
	if err := createOrders(ctx, w, c, ns.Name); err != nil {
		return nil, err
	}
	if err := waitOrdersSlices(ctx, w, c, ns.Name); err != nil {
		return nil, err
	}
	stored := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(web), stored); err != nil {
		return nil, err
	}
	return showXDS(ctx, w, env, chart, xds, stored)
}

func examplePod(ns, name string, labels, nodeSelector map[string]string, env []corev1.EnvVar) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{
			NodeSelector: nodeSelector,
			Containers:   []corev1.Container{{Name: "app", Image: "example/" + name + ":1", Env: env}},
		},
	}
}

// describe prints what inzone did to a stored pod.
func describe(out io.Writer, p *corev1.Pod, warnings []string) {
	fmt.Fprintf(out, "pod %s (labels %v)\n", p.Name, p.Labels)
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "  status\t%s\n", or(p.Annotations[mutate.AnnotationStatus], "(not mutated)"))
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		kind := "container"
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			kind = "native sidecar"
		}
		fmt.Fprintf(w, "  %s %s\t%s\n", kind, c.Name, c.Image)
		for _, e := range c.Env {
			switch {
			case e.Name == "INZONE_ZONE" && e.ValueFrom != nil:
				fmt.Fprintf(w, "    env %s\tfrom %s\n", e.Name, e.ValueFrom.FieldRef.FieldPath)
			case strings.HasSuffix(e.Name, "_URL") || e.Name == "INZONE_ZONE":
				fmt.Fprintf(w, "    env %s\t%s\n", e.Name, e.Value)
			}
		}
		if c.Name == mutate.SidecarName {
			args := append([]string{}, c.Args...)
			for i := range args {
				if i > 0 && args[i-1] == "--config-yaml" {
					args[i] = fmt.Sprintf("<%d-byte bootstrap>", len(args[i]))
				}
			}
			fmt.Fprintf(w, "    args\t%s\n", strings.Join(args, " "))
			sc := c.SecurityContext
			fmt.Fprintf(w, "    security\trunAsUser %d, nonRoot, readOnlyRootFilesystem, drop ALL, seccomp %s\n", *sc.RunAsUser, sc.SeccompProfile.Type)
		}
	}
	for _, t := range p.Spec.TopologySpreadConstraints {
		sel, _ := metav1.LabelSelectorAsSelector(t.LabelSelector)
		fmt.Fprintf(w, "  spread\t%s maxSkew %d %s selector %s matchLabelKeys %v\n", t.TopologyKey, t.MaxSkew, t.WhenUnsatisfiable, sel, t.MatchLabelKeys)
	}
	if r := p.Annotations[mutate.AnnotationDDSDRewrites]; r != "" {
		var rewrites []mutate.DDSDRewrite
		_ = json.Unmarshal([]byte(r), &rewrites)
		for _, rw := range rewrites {
			fmt.Fprintf(w, "  rewrote\t%s %s: %s -> %s\n", rw.Container, rw.Field, rw.From, rw.To)
		}
	}
	for _, warn := range warnings {
		fmt.Fprintf(w, "  warning\t%s\n", warn)
	}
	_ = w.Flush()
	fmt.Fprintln(out)
}

// keep writes a kubeconfig and waits for Ctrl-C.
func keep(env *envtest.Env, xds *envtest.ChartXDS) int {
	dir, _ := filepath.Abs(".demo")
	_ = os.MkdirAll(dir, 0o700)
	path := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(path); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	fmt.Printf("control plane kept running: KUBECONFIG=%s kubectl get pods -A\n", path)
	fmt.Printf("inzone-xds: ADS (TLS) on 127.0.0.1:%d, DNS on 127.0.0.1:%d, metrics on http://127.0.0.1:%d/metrics\nCtrl-C to stop.\n",
		xds.Port, xds.DNSPort, xds.MetricsPort)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	<-sig
	return 0
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
