package server

import (
	"context"
	"errors"
	"strings"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are inzone-xds's Prometheus series.
type metrics struct {
	connected   *prometheus.GaugeVec   // open streams, by protocol (sotw, delta) and client (sidecar, grpc, unknown)
	responses   *prometheus.CounterVec // responses sent to proxies, by resource type
	snapshots   prometheus.Counter     // snapshots published (one per coalesced burst)
	pushLatency prometheus.Histogram   // first change seen -> snapshot published
	resources   *prometheus.GaugeVec   // resources in the current snapshot, by type
	unzoned     prometheus.Gauge       // endpoints served without a zone
	problems    prometheus.Gauge       // objects left out
	rejected    prometheus.Counter     // translations not served because ValidateAll failed
	budgetHeld  prometheus.Gauge       // bytes of sent, unacknowledged responses
	budgetWait  prometheus.Gauge       // streams waiting for send budget
	ackTimeouts prometheus.Counter     // responses whose budget was released unacknowledged
	views       prometheus.Gauge       // identities served a scoped view
	badCalls    prometheus.Gauge       // pods whose inzone.io/calls was ignored
	refusals    *prometheus.CounterVec // streams refused or ended by a limit, by limit
	throttled   prometheus.Counter     // requests that waited for their stream's request rate
	typeLabels  sync.Map               // type URL -> short label, so labels stay few
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "inzone_xds_connected_streams",
			Help: "ADS streams open, by protocol (sotw or delta) and client (sidecar, grpc for proxyless gRPC, unknown before a stream's first request names its node): one per connected proxy."},
			[]string{"protocol", "client"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inzone_xds_responses_total",
			Help: "xDS responses pushed to proxies, by resource type."}, []string{"type"}),
		snapshots: prometheus.NewCounter(prometheus.CounterOpts{Name: "inzone_xds_snapshots_total",
			Help: "Snapshots published: one per coalesced burst of changes that changed what is served."}),
		pushLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "inzone_xds_push_latency_seconds",
			Help:    "From the first Kubernetes change of a burst to its snapshot being published.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		resources: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "inzone_xds_resources",
			Help: "Resources in the served snapshot, by type."}, []string{"type"}),
		unzoned: prometheus.NewGauge(prometheus.GaugeOpts{Name: "inzone_xds_endpoints_without_zone",
			Help: "Endpoints served with an empty locality because neither they nor their node carry a zone."}),
		problems: prometheus.NewGauge(prometheus.GaugeOpts{Name: "inzone_xds_objects_not_served",
			Help: "Services, slice endpoints and pods left out (a DDSD name that is not a DNS name, an address that is not an IP)."}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{Name: "inzone_xds_invalid_translations_total",
			Help: "Translations not served because a resource failed validation (a bug): the previous snapshot stays."}),
		budgetHeld: prometheus.NewGauge(prometheus.GaugeOpts{Name: "inzone_xds_send_budget_bytes",
			Help: "Bytes of responses sent to proxies and not yet acknowledged, bounded by the send budget."}),
		budgetWait: prometheus.NewGauge(prometheus.GaugeOpts{Name: "inzone_xds_send_budget_waiting_streams",
			Help: "Streams waiting for send budget before their next response."}),
		ackTimeouts: prometheus.NewCounter(prometheus.CounterOpts{Name: "inzone_xds_ack_timeouts_total",
			Help: "Responses not acknowledged within the ACK timeout, whose send budget was released."}),
		views: prometheus.NewGauge(prometheus.GaugeOpts{Name: "inzone_xds_scoped_views",
			Help: "Service identities served only the clusters and routes of the callees their pods declare (inzone.io/calls)."}),
		badCalls: prometheus.NewGauge(prometheus.GaugeOpts{Name: "inzone_xds_calls_annotations_ignored",
			Help: "Pods whose inzone.io/calls annotation does not parse and is ignored: their identity gets the full view."}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inzone_xds_limit_refusals_total",
			Help: "ADS streams refused or ended with RESOURCE_EXHAUSTED, by limit: streams (--max-streams), types, names, name_bytes (per type per stream)."},
			[]string{"limit"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{Name: "inzone_xds_requests_throttled_total",
			Help: "ADS requests that waited because their stream asked faster than its request rate (100 a second, one more per 1,000 names)."}),
	}
	if reg != nil {
		reg.MustRegister(m.connected, m.responses, m.snapshots, m.pushLatency, m.resources, m.unzoned, m.problems, m.rejected,
			m.budgetHeld, m.budgetWait, m.ackTimeouts, m.views, m.badCalls, m.refusals, m.throttled)
	}
	return m
}

// The send budget's observer (budget.go).
func (m *metrics) held(delta int64)  { m.budgetHeld.Add(float64(delta)) }
func (m *metrics) waiting(delta int) { m.budgetWait.Add(float64(delta)) }
func (m *metrics) timedOut()         { m.ackTimeouts.Inc() }

// refused counts err when a limit refused or ended its stream, and
// returns it.
func (m *metrics) refused(err error) error {
	if le, ok := errors.AsType[*limitError](err); ok {
		m.refusals.WithLabelValues(le.limit).Inc()
	}
	return err
}

// typeLabel shortens a type URL to its message name ("Cluster").
func (m *metrics) typeLabel(url string) string {
	if v, ok := m.typeLabels.Load(url); ok {
		return v.(string)
	}
	l := url[strings.LastIndexByte(url, '.')+1:]
	m.typeLabels.Store(url, l)
	return l
}

// callbacks counts responses; nothing per stream is kept.
func (m *metrics) callbacks() serverv3.Callbacks {
	return serverv3.CallbackFuncs{
		StreamResponseFunc: func(_ context.Context, _ int64, _ *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
			m.responses.WithLabelValues(m.typeLabel(resp.GetTypeUrl())).Inc()
		},
		StreamDeltaResponseFunc: func(_ int64, _ *discoveryv3.DeltaDiscoveryRequest, resp *discoveryv3.DeltaDiscoveryResponse) {
			m.responses.WithLabelValues(m.typeLabel(resp.GetTypeUrl())).Inc()
		},
	}
}

// Client labels of the connected-streams gauge.
const (
	clientUnknown = "unknown" // no request naming the node yet
	clientSidecar = "sidecar"
	clientGRPC    = "grpc" // a proxyless gRPC client (isProxyless)
)

// connection is one stream's count in the connected-streams gauge: under
// client "unknown" from its start until a request names its node, then
// under the kind of client that node is.
type connection struct {
	m                *metrics
	protocol, client string
	mu               sync.Mutex
	closed           bool
}

func (m *metrics) connect(protocol string) *connection {
	m.connected.WithLabelValues(protocol, clientUnknown).Inc()
	return &connection{m: m, protocol: protocol, client: clientUnknown}
}

// identify moves the stream to its node's kind of client, once.
func (c *connection) identify(n *corev3.Node) {
	if n == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.client != clientUnknown {
		return
	}
	c.client = clientSidecar
	if isProxyless(n) {
		c.client = clientGRPC
	}
	c.m.connected.WithLabelValues(c.protocol, clientUnknown).Dec()
	c.m.connected.WithLabelValues(c.protocol, c.client).Inc()
}

// paced counts a request of the stream that waited for its request
// rate, and returns err.
func (c *connection) paced(waited bool, err error) error {
	if waited {
		c.m.throttled.Inc()
	}
	return err
}

func (c *connection) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		c.m.connected.WithLabelValues(c.protocol, c.client).Dec()
	}
}
