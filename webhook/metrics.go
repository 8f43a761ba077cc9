package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics are inzone's admission metrics, served with controller-runtime's
// (request latency and counts per path are already there).
type Metrics struct {
	// Mutations counts each mutation applied or skipped, by result.
	Mutations *prometheus.CounterVec
	// Skips counts skipped mutations ("" mutation: the whole pod) by reason.
	Skips *prometheus.CounterVec
	// Errors counts requests that could not be handled, by kind: bad-request,
	// too-large, busy (the in-flight limits), rejected (an invalid
	// annotation), internal (failed open).
	Errors *prometheus.CounterVec
	// NativeSidecarPending is 1 while nativeSidecar: auto waits for the API
	// server to say whether it has native sidecars (meanwhile the proxy is
	// injected as a regular container).
	NativeSidecarPending prometheus.Gauge
	// DetectionFailures counts failed attempts at asking the API server.
	DetectionFailures prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg when it is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Mutations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inzone_mutations_total",
			Help: "Pod mutations by mutation (sidecar, zone-env, spread, ddsd-rewrite) and result (applied, skipped, unchanged).",
		}, []string{"mutation", "result"}),
		Skips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inzone_skips_total",
			Help: "Mutations not applied, by mutation and reason.",
		}, []string{"mutation", "reason"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inzone_admission_errors_total",
			Help: "Admission requests inzone could not handle, by kind (bad-request, too-large, busy, rejected, internal).",
		}, []string{"kind"}),
		NativeSidecarPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "inzone_native_sidecar_detection_pending",
			Help: "1 while nativeSidecar: auto waits for the API server; sidecars are regular containers meanwhile.",
		}),
		DetectionFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inzone_native_sidecar_detection_failures_total",
			Help: "Failed attempts at reading the API server version for nativeSidecar: auto.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Mutations, m.Skips, m.Errors, m.NativeSidecarPending, m.DetectionFailures)
	}
	return m
}

// DefaultMetrics are registered with controller-runtime's registry, which
// its metrics server exposes.
var DefaultMetrics = NewMetrics(metrics.Registry)
