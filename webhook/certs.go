package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Defaults of CertRotation, as flags of inzone-webhook and values of the chart.
const (
	DefaultCertValidity      = 365 * 24 * time.Hour
	DefaultCertRenewBefore   = 90 * 24 * time.Hour
	DefaultCertCheckInterval = 12 * time.Hour
	// CertFile and KeyFile are the names in the cert dir, as a
	// kubernetes.io/tls Secret mounted as a volume holds them.
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
)

// CertRotation makes the webhook its own certificate authority, as
// Gatekeeper does, through github.com/open-policy-agent/cert-controller: it
// keeps a CA and a serving certificate in a Secret, renews the serving
// certificate before it expires, and writes the CA into the caBundle of its
// MutatingWebhookConfiguration. The Secret must exist (the chart creates it
// empty) and be mounted at Options.CertDir: the kubelet puts the files there
// and the webhook server reloads them when they change. The serving
// certificate is renewed under the same CA, so the caBundle the API server
// trusts stays valid across a renewal and no admission call fails. The CA
// itself is valid for 10 years.
type CertRotation struct {
	// Secret holds ca.crt, ca.key, tls.crt and tls.key.
	Secret types.NamespacedName
	// WebhookConfiguration is the MutatingWebhookConfiguration whose
	// caBundle is kept current.
	WebhookConfiguration string
	// DNSNames of the serving certificate; the first is the Service's
	// <name>.<namespace>.svc, the name the API server verifies.
	DNSNames []string
	// Validity of each serving certificate. Default DefaultCertValidity.
	Validity time.Duration
	// RenewBefore is how long before expiry a certificate is replaced.
	// Default DefaultCertRenewBefore.
	RenewBefore time.Duration
	// CheckInterval is how often expiry is checked. Default DefaultCertCheckInterval.
	CheckInterval time.Duration
}

func (c *CertRotation) setDefaults() {
	if c.Validity == 0 {
		c.Validity = DefaultCertValidity
	}
	if c.RenewBefore == 0 {
		c.RenewBefore = DefaultCertRenewBefore
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = DefaultCertCheckInterval
	}
}

// Validate names the first field that is wrong.
func (c *CertRotation) Validate() error {
	switch {
	case c.Secret.Namespace == "" || c.Secret.Name == "":
		return errors.New("cert rotation: the Secret needs a namespace and a name (namespace/name)")
	case c.WebhookConfiguration == "":
		return errors.New("cert rotation: the MutatingWebhookConfiguration to keep the caBundle of is required")
	case len(c.DNSNames) == 0 || c.DNSNames[0] == "":
		return errors.New("cert rotation: at least one DNS name (the Service's <name>.<namespace>.svc) is required")
	case c.Validity < 0 || c.RenewBefore < 0 || c.CheckInterval < 0:
		return errors.New("cert rotation: durations must not be negative")
	case c.RenewBefore >= c.Validity:
		// Every certificate would be due for renewal as soon as it is made.
		return fmt.Errorf("cert rotation: renew-before (%s) must be shorter than the validity (%s)", c.RenewBefore, c.Validity)
	}
	return nil
}

// addCertRotation registers the rotator with the manager and returns a
// channel closed once the certificate is in the cert dir and the CA in the
// webhook configuration.
func addCertRotation(mgr manager.Manager, c CertRotation, certDir string) (<-chan struct{}, error) {
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	err := rotator.AddRotator(newNameScopedManager(mgr, c.Secret, c.WebhookConfiguration), &rotator.CertRotator{
		SecretKey:      c.Secret,
		CertDir:        certDir,
		CAName:         "inzone-ca",
		CAOrganization: "inzone",
		DNSName:        c.DNSNames[0],
		ExtraDNSNames:  c.DNSNames[1:],
		IsReady:        ready,
		Webhooks:       []rotator.WebhookInfo{{Name: c.WebhookConfiguration, Type: rotator.Mutating}},
		FieldOwner:     "inzone-webhook",
		// Every replica runs the rotator: writes are optimistic (resource
		// version), so two replicas racing at first start settle on one CA,
		// and a replica never waits for a leader to get its certificate.
		RequireLeaderElection:  false,
		ServerCertDuration:     c.Validity,
		LookaheadInterval:      c.RenewBefore,
		RotationCheckFrequency: c.CheckInterval,
		CertName:               CertFile,
		KeyName:                KeyFile,
	})
	if err != nil {
		return nil, fmt.Errorf("cert rotation: %w", err)
	}
	return ready, nil
}

// certGate starts the webhook server only once a certificate can be served:
// the server's certificate watcher fails at start without the files, and a
// fresh install has none until the rotator (or cert-manager) writes the
// Secret and the kubelet projects it. Until then readiness fails and
// liveness passes, so the pod waits instead of crash-looping.
type certGate struct {
	mgr       manager.Manager
	certDir   string
	rotated   <-chan struct{} // nil without self-managed certificates
	poll      time.Duration
	logPeriod time.Duration
	// engine, when it needs the CA file, is rebuilt once the certificates
	// are present, before the server starts.
	engine *engineBuilder
}

func (g *certGate) Start(ctx context.Context) error {
	log := ctrl.Log.WithName("inzone").WithName("certs")
	if g.rotated != nil {
		select {
		case <-g.rotated:
		case <-ctx.Done():
			return nil
		}
	}
	tick := time.NewTicker(g.poll)
	defer tick.Stop()
	lastLog := time.Time{}
	for {
		err := servable(g.certDir)
		if err == nil {
			err = g.buildEngine(log)
		}
		if err == nil {
			break
		}
		if time.Since(lastLog) >= g.logPeriod {
			log.Info("waiting for the serving certificate", "dir", g.certDir, "reason", err.Error())
			lastLog = time.Now()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
	}
	log.Info("serving certificate present; starting the webhook server", "dir", g.certDir)
	// Adds the server to the running manager, which starts it.
	g.mgr.GetWebhookServer()
	return nil
}

// buildEngine rebuilds the engine with the CA file, now that the Secret
// holding it is mounted; an error keeps the server from starting.
func (g *certGate) buildEngine(log logr.Logger) error {
	if g.engine == nil || !g.engine.needsCAFile() {
		return nil
	}
	missing, err := g.engine.build()
	if err != nil {
		return err
	}
	if missing {
		log.Error(nil, "no control-plane CA: sidecars will not be injected until the webhook restarts with one", "file", g.engine.caFile)
	}
	return nil
}

// NeedLeaderElection is false: every replica serves.
func (g *certGate) NeedLeaderElection() bool { return false }

// servable reports why the cert dir cannot be served yet, or nil.
func servable(dir string) error {
	_, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile))
	return err
}
