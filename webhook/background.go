package webhook

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/inzone-io/inzone/mutate"
)

// What the webhook learns from the API server after it starts serving. The
// webhook must start while the API server is unreachable (a restart during an
// outage would otherwise crash-loop for longer than the outage): it serves
// what it knows, and asks again in the background until it is answered.

// detectTimeout bounds one attempt at asking the API server.
const detectTimeout = 5 * time.Second

// retryBackoff spaces the background attempts: 1 s, doubling, at most 30 s.
func retryBackoff() wait.Backoff {
	return wait.Backoff{Duration: time.Second, Factor: 2, Cap: 30 * time.Second, Steps: 1 << 30}
}

// mutatorSwitch is the Mutator the handler calls: the engine built for what
// is known now, replaced when more is learnt.
type mutatorSwitch struct{ cur atomic.Pointer[Mutator] }

func (s *mutatorSwitch) set(m Mutator) { s.cur.Store(&m) }

func (s *mutatorSwitch) Mutate(pod *corev1.Pod, ns mutate.Namespace) (*mutate.Result, error) {
	m := s.cur.Load()
	if m == nil {
		// Not reached in practice: NewManager builds the engine before the
		// server is registered. The handler fails open on this error.
		return nil, errNoEngine
	}
	return (*m).Mutate(pod, ns)
}

// nativeSidecarDetector asks the API server whether it has native sidecars
// until it answers, then switches the engine. Until then the engine injects
// the proxy as a regular container, which every version runs.
type nativeSidecarDetector struct {
	restCfg   *rest.Config
	setNative func(native bool) error // rebuilds the engine with the answer
	metrics   *Metrics
	log       logr.Logger
}

var _ manager.Runnable = (*nativeSidecarDetector)(nil)

// Start retries until detection succeeds or ctx is done; it never fails the
// manager.
func (d *nativeSidecarDetector) Start(ctx context.Context) error {
	b := retryBackoff()
	for {
		native, err := detectNativeSidecars(d.restCfg)
		if err == nil {
			if err := d.setNative(native); err != nil {
				// The config was validated at start: not expected.
				d.log.Error(err, "building the engine after native sidecar detection; keeping regular-container sidecars")
				return nil
			}
			d.metrics.NativeSidecarPending.Set(0)
			d.log.Info("native sidecar detection done", "nativeSidecar", native)
			return nil
		}
		d.metrics.DetectionFailures.Inc()
		delay := b.Step()
		d.log.Info("warning: API server unreachable for nativeSidecar: auto; injecting regular-container sidecars meanwhile", "retryIn", delay, "error", err.Error())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

// NeedLeaderElection is false: every replica serves.
func (d *nativeSidecarDetector) NeedLeaderElection() bool { return false }

// detectNativeSidecars is ServerSupportsNativeSidecars bounded by
// detectTimeout.
func detectNativeSidecars(restCfg *rest.Config) (bool, error) {
	cfg := rest.CopyConfig(restCfg)
	cfg.Timeout = detectTimeout
	return ServerSupportsNativeSidecars(cfg)
}

// serviceWatch sets up the Service informer that feeds the ELB index,
// retrying while the API server is unreachable (the cache needs it to map
// the Service type before it can watch).
type serviceWatch struct {
	getInformer func(ctx context.Context) (crcache.Informer, error)
	handler     cache.ResourceEventHandler
	informer    atomic.Pointer[crcache.Informer]
	log         logr.Logger
}

func (w *serviceWatch) Start(ctx context.Context) error {
	b := retryBackoff()
	for {
		inf, err := w.getInformer(ctx)
		if err == nil {
			if _, err = inf.AddEventHandler(w.handler); err == nil {
				w.informer.Store(&inf)
				return nil
			}
		}
		delay := b.Step()
		w.log.Info("warning: cannot watch Services yet; retrying", "retryIn", delay, "error", err.Error())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

func (w *serviceWatch) NeedLeaderElection() bool { return false }

// ready fails until the informer has listed every Service.
func (w *serviceWatch) ready(*http.Request) error {
	inf := w.informer.Load()
	if inf == nil || !(*inf).HasSynced() {
		return errors.New("service informer not synced")
	}
	return nil
}
