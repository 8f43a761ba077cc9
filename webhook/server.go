// Package webhook serves inzone's mutation engine as a Kubernetes mutating
// admission webhook: controller-runtime glue, TLS with certificate rotation,
// health checks, metrics and the live ELB map. It holds no mutation logic;
// that is package mutate.
package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	apimachineryversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/inzone-io/inzone/elb"
	"github.com/inzone-io/inzone/mutate"
)

// Options configure the webhook server. The zero value of each field means
// its default.
type Options struct {
	// Config is the validated inzone configuration. Required.
	Config *mutate.Config
	// CertDir holds tls.crt and tls.key; they are re-read when they change,
	// so certificates rotate without a restart.
	// Default: controller-runtime's, $TMPDIR/k8s-webhook-server/serving-certs.
	CertDir string
	// Host to bind the webhook to. Default: all interfaces.
	Host string
	// Port of the webhook. Default: 9443.
	Port int
	// MetricsAddr serves Prometheus metrics; "0" turns them off. Default: ":8080".
	MetricsAddr string
	// HealthAddr serves /healthz and /readyz; "0" turns them off. Default: ":8081".
	HealthAddr string
	// EnableHTTP2 serves HTTP/2. Off by default, as hardening against HTTP/2
	// rapid reset (CVE-2023-44487) and stream cancellation attacks.
	EnableHTTP2 bool
	// NativeSidecar, when not nil, skips asking the API server whether it
	// supports native sidecars (Kubernetes >= 1.29).
	NativeSidecar *bool
	// CertRotation, when set, has the webhook manage its own CA and serving
	// certificate in a Secret mounted at CertDir (see CertRotation). Unset,
	// something else (cert-manager, a test) puts them in CertDir.
	CertRotation *CertRotation
	// Draining, when closed, fails readiness while the webhook keeps
	// serving: the process is about to stop, and the API server should be
	// sent elsewhere before it does (see cmd/inzone-webhook's --shutdown-delay).
	Draining <-chan struct{}
	// Limits bound the size and number of reviews in flight; zero fields
	// take their defaults.
	Limits ReviewLimits
	// Timeouts of the HTTP server; zero fields take DefaultTimeouts.
	Timeouts Timeouts
	// WrapMutator, when set, wraps the engine; tests use it to inject faults.
	WrapMutator func(Mutator) Mutator
	// ControlPlaneCA is the PEM of the CA that signs inzone-xds's serving
	// certificate, put into every sidecar's bootstrap. Empty: read from
	// ControlPlaneCAFile once the serving certificate is present.
	ControlPlaneCA []byte
	// ControlPlaneCAFile holds that CA. Default: ca.crt in CertDir, which
	// is right when inzone-xds's certificate comes from the webhook's CA
	// (the chart's design). Missing, sidecars are not injected (a skip
	// reason says why); not a CA bundle, the webhook does not start serving.
	// Unused when the config sets sidecar.controlPlane.plaintext.
	ControlPlaneCAFile string
}

func (o *Options) setDefaults() {
	if o.Port == 0 {
		o.Port = 9443
	}
	if o.MetricsAddr == "" {
		o.MetricsAddr = ":8080"
	}
	if o.HealthAddr == "" {
		o.HealthAddr = ":8081"
	}
	if o.CertDir == "" {
		// controller-runtime's own default, spelled out so the certificate
		// gate watches the folder the server reads.
		o.CertDir = filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs")
	}
	if o.ControlPlaneCAFile == "" {
		o.ControlPlaneCAFile = defaultCAFile(o.CertDir)
	}
}

// NativeSidecarMinVersion is the first Kubernetes release with native
// sidecars on by default.
var NativeSidecarMinVersion = utilversion.MajorMinor(1, 29)

// NewManager builds a controller-runtime manager that serves the pod
// mutating webhook at Path, with health checks and metrics. Start it with
// mgr.Start(ctx).
func NewManager(restCfg *rest.Config, opts Options) (manager.Manager, error) {
	opts.setDefaults()
	if opts.Config == nil {
		return nil, errors.New("webhook: Options.Config is required")
	}
	native, detectLater := false, false
	if opts.NativeSidecar != nil {
		native = *opts.NativeSidecar
	} else if opts.Config.Sidecar.NativeSidecar == mutate.NativeSidecarAuto {
		var err error
		if native, err = detectNativeSidecars(restCfg); err != nil {
			// Serve regular-container sidecars, which every version runs,
			// and ask again in the background (see nativeSidecarDetector).
			ctrl.Log.WithName("inzone").Info("warning: API server unreachable for nativeSidecar: auto; starting with regular-container sidecars", "error", err.Error())
			detectLater = true
		}
	}

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	tlsOpts := []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12 }}
	if !opts.EnableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	whServer := newBoundedServer(opts.Host, opts.Port, opts.CertDir, tlsOpts, opts.Timeouts)
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                 scheme,
		WebhookServer:          whServer,
		Metrics:                metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress: opts.HealthAddr,
		// The webhook only reads Services, and only their type, annotations and status.
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
	})
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}

	// The handler is registered now, but the server joins the manager (via
	// GetWebhookServer, the only path that makes mgr.Start serve it) once
	// certGate sees a certificate to serve.
	srv := whServer
	engineOpts := mutate.Options{NativeSidecarSupported: native}
	ready := []healthz.Checker{srv.StartedChecker()}
	if opts.Draining != nil {
		ready = append(ready, func(*http.Request) error {
			select {
			case <-opts.Draining:
				return errors.New("shutting down")
			default:
				return nil
			}
		})
	}
	var rotated <-chan struct{}
	if opts.CertRotation != nil {
		if rotated, err = addCertRotation(mgr, *opts.CertRotation, opts.CertDir); err != nil {
			return nil, err
		}
		// Ready only once the CA is in the webhook configuration, so the API
		// server trusts the certificate this replica serves.
		ready = append(ready, func(*http.Request) error {
			select {
			case <-rotated:
				return nil
			default:
				return errors.New("certificate not yet issued and injected")
			}
		})
	}
	sw := &mutatorSwitch{}
	builder := &engineBuilder{cfg: opts.Config, caFile: opts.ControlPlaneCAFile, wrap: opts.WrapMutator, sw: sw}
	if err := mgr.Add(&certGate{mgr: mgr, certDir: opts.CertDir, rotated: rotated, poll: 500 * time.Millisecond, logPeriod: 30 * time.Second, engine: builder}); err != nil {
		return nil, err
	}
	if *opts.Config.DDSD.DiscoverServices {
		index := elb.NewIndex(ctrl.Log.WithName("inzone").WithName("elbs"))
		watch := &serviceWatch{
			getInformer: func(ctx context.Context) (cache.Informer, error) {
				return mgr.GetCache().GetInformer(ctx, &corev1.Service{}, cache.BlockUntilSynced(false))
			},
			handler: serviceEvents(index),
			log:     ctrl.Log.WithName("inzone").WithName("services"),
		}
		if err := mgr.Add(watch); err != nil {
			return nil, err
		}
		engineOpts.ELBs = index
		// Not ready until the ELB map is complete, so no pod is admitted
		// with an ELB hostname the map would have known.
		ready = append(ready, watch.ready)
	}
	engineOpts.ControlPlaneCA = opts.ControlPlaneCA
	builder.opts = engineOpts
	// Build now to fail on a bad config or CA before anything is served;
	// certGate rebuilds it with the CA file once the certificates exist.
	if _, err := builder.build(); err != nil {
		return nil, err
	}
	if opts.Config.Sidecar.ControlPlane.Plaintext {
		ctrl.Log.WithName("inzone").Info("WARNING: sidecar.controlPlane.plaintext is set: sidecars take routes over plaintext from whatever answers at the control plane's address; use it only for tests and local runs",
			"address", opts.Config.Sidecar.ControlPlane.Address)
	}
	if detectLater {
		DefaultMetrics.NativeSidecarPending.Set(1)
		if err := mgr.Add(&nativeSidecarDetector{restCfg: restCfg, setNative: builder.setNative, metrics: DefaultMetrics, log: ctrl.Log.WithName("inzone").WithName("detect")}); err != nil {
			return nil, err
		}
	}
	srv.Register(Path, newReviewGuard(&admission.Webhook{Handler: &PodMutator{Mutator: sw, Metrics: DefaultMetrics}}, opts.Limits, DefaultMetrics))

	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("webhook", func(r *http.Request) error {
		for _, c := range ready {
			if err := c(r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	ctrl.Log.WithName("inzone").Info("webhook configured", "path", Path, "port", opts.Port,
		"nativeSidecar", native, "nativeSidecarPending", detectLater, "discoverServices", *opts.Config.DDSD.DiscoverServices, "http2", opts.EnableHTTP2,
		"certDir", opts.CertDir, "selfManagedCerts", opts.CertRotation != nil)
	return mgr, nil
}

// ServerSupportsNativeSidecars asks the API server for its version.
func ServerSupportsNativeSidecars(restCfg *rest.Config) (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(restCfg)
	if err != nil {
		return false, err
	}
	info, err := dc.ServerVersion()
	if err != nil {
		return false, fmt.Errorf("reading the API server version for nativeSidecar: auto: %w", err)
	}
	v, err := effectiveVersion(info)
	if err != nil {
		return false, err
	}
	return v.AtLeast(NativeSidecarMinVersion), nil
}

// effectiveVersion is the Kubernetes version whose features the server
// offers: the emulation version when it reports one (a 1.36 server run with
// --emulated-version=1.28 has no native sidecars), else major.minor, else
// the git version. major.minor is set even on builds without a stamped git
// version.
func effectiveVersion(info *apimachineryversion.Info) (*utilversion.Version, error) {
	for _, mm := range [][2]string{{info.EmulationMajor, info.EmulationMinor}, {info.Major, info.Minor}} {
		if mm[0] == "" || mm[1] == "" {
			continue
		}
		if v, err := utilversion.ParseGeneric(mm[0] + "." + strings.TrimSuffix(mm[1], "+")); err == nil {
			return v, nil
		}
	}
	v, err := utilversion.ParseGeneric(info.GitVersion)
	if err != nil {
		return nil, fmt.Errorf("parsing API server version %q: %w", info.GitVersion, err)
	}
	return v, nil
}
