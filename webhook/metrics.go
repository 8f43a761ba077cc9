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
	// rejected (an invalid annotation), internal (failed open).
	Errors *prometheus.CounterVec
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
			Help: "Admission requests inzone could not handle, by kind (bad-request, rejected, internal).",
		}, []string{"kind"}),
	}
	if reg != nil {
		reg.MustRegister(m.Mutations, m.Skips, m.Errors)
	}
	return m
}

// DefaultMetrics are registered with controller-runtime's registry, which
// its metrics server exposes.
var DefaultMetrics = NewMetrics(metrics.Registry)
