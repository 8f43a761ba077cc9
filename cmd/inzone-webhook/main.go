// Command inzone-webhook serves inzone's pod mutating admission webhook.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/types"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/inzone-io/inzone/cmd/internal/serverflag"
	"github.com/inzone-io/inzone/internal/configfile"
	"github.com/inzone-io/inzone/webhook"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// run parses flags, loads the config and serves until a signal. Exit codes:
// 0 stopped cleanly, 1 runtime error, 2 bad flags or config (nothing served).
func run(args []string, stderr io.Writer) int {
	var (
		opts       webhook.Options
		configPath string
		certSecret string
		certs      webhook.CertRotation
		dnsNames   string
		drainDelay time.Duration
	)
	fs := flag.NewFlagSet("inzone-webhook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&configPath, "config", "", "inzone config file (YAML); empty uses the built-in defaults")
	fs.StringVar(&opts.CertDir, "cert-dir", "", "directory with tls.crt and tls.key, reloaded when they change")
	fs.StringVar(&opts.ControlPlaneCAFile, "control-plane-ca-file", "", "PEM of the CA that signs inzone-xds's certificate, put into every sidecar's bootstrap; read once the serving certificate is present. Default: ca.crt in --cert-dir (the same CA signs both). Unused with sidecar.controlPlane.plaintext")
	fs.StringVar(&opts.Host, "host", "", "address to bind the webhook to")
	fs.IntVar(&opts.Port, "port", 9443, "webhook port")
	fs.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", `metrics address, "0" to disable`)
	fs.StringVar(&opts.HealthAddr, "health-probe-bind-address", ":8081", `health probe address, "0" to disable`)
	fs.BoolVar(&opts.EnableHTTP2, "enable-http2", false, "serve HTTP/2 (off: rapid-reset hardening)")
	fs.DurationVar(&drainDelay, "shutdown-delay", 5*time.Second, "on SIGTERM, keep serving this long with readiness failing, so Service endpoints drop the pod before it stops answering")
	fs.StringVar(&certSecret, "cert-secret", "", "NAMESPACE/NAME of a Secret in which the webhook keeps its own CA and serving certificate (self-managed certificates); the Secret must be mounted at --cert-dir. Empty: certificates come from elsewhere (cert-manager)")
	fs.StringVar(&certs.WebhookConfiguration, "webhook-configuration", "inzone", "with --cert-secret: the MutatingWebhookConfiguration whose caBundle is kept current")
	fs.StringVar(&dnsNames, "cert-dns-names", "", "with --cert-secret: comma-separated DNS names of the serving certificate, the Service's <name>.<namespace>.svc first")
	fs.DurationVar(&certs.Validity, "cert-validity", webhook.DefaultCertValidity, "with --cert-secret: validity of each serving certificate")
	fs.DurationVar(&certs.RenewBefore, "cert-renew-before", webhook.DefaultCertRenewBefore, "with --cert-secret: renew a serving certificate this long before it expires")
	fs.DurationVar(&certs.CheckInterval, "cert-check-interval", webhook.DefaultCertCheckInterval, "with --cert-secret: how often to check the certificate's expiry")
	fs.Int64Var(&opts.Limits.MaxBodyBytes, "max-review-bytes", webhook.DefaultMaxBodyBytes, "largest admission review accepted; larger ones get HTTP 413")
	fs.Int64Var(&opts.Limits.MaxInFlightBytes, "max-inflight-bytes", webhook.DefaultMaxInFlightBytes, "bytes of admission reviews read or handled at once; beyond, HTTP 429")
	fs.IntVar(&opts.Limits.MaxInFlight, "max-inflight", webhook.DefaultMaxInFlight, "admission reviews read or handled at once; beyond, HTTP 429")
	zapOpts, ok := serverflag.Parse(fs, args)
	if !ok {
		return 2
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if opts.Limits.MaxBodyBytes <= 0 || opts.Limits.MaxInFlightBytes < opts.Limits.MaxBodyBytes || opts.Limits.MaxInFlight <= 0 {
		fmt.Fprintln(stderr, "--max-review-bytes and --max-inflight must be positive, and --max-inflight-bytes at least --max-review-bytes")
		return 2
	}

	if certSecret != "" {
		ns, name, ok := strings.Cut(certSecret, "/")
		if !ok {
			fmt.Fprintf(stderr, "--cert-secret %q: want NAMESPACE/NAME\n", certSecret)
			return 2
		}
		certs.Secret = types.NamespacedName{Namespace: ns, Name: name}
		if dnsNames != "" {
			certs.DNSNames = strings.Split(dnsNames, ",")
		}
		if err := certs.Validate(); err != nil {
			fmt.Fprintf(stderr, "--cert-secret: %v\n", err)
			return 2
		}
		opts.CertRotation = &certs
	}

	cfg, err := configfile.Load(configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	opts.Config = cfg
	restCfg, err := ctrl.GetConfig()
	if err != nil {
		fmt.Fprintln(stderr, "kubeconfig:", err)
		return 1
	}
	draining := make(chan struct{})
	opts.Draining = draining
	mgr, err := webhook.NewManager(restCfg, opts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := mgr.Start(drainOnSignal(draining, drainDelay)); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// drainOnSignal returns a context cancelled drainDelay after SIGTERM or
// SIGINT; draining is closed at the signal. The webhook keeps answering in
// between: endpoint removal reaches the API server's webhook client a moment
// after the pod turns unready, and with failurePolicy Fail a webhook that
// stopped at once would reject the pods sent to it meanwhile. A second
// signal exits at once.
func drainOnSignal(draining chan<- struct{}, drainDelay time.Duration) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		close(draining)
		ctrl.Log.WithName("inzone").Info("shutting down: readiness fails now, serving stops after the delay", "delay", drainDelay)
		select {
		case <-time.After(drainDelay):
		case <-sig:
			os.Exit(1)
		}
		cancel()
		<-sig
		os.Exit(1)
	}()
	return ctx
}
