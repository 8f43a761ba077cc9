package webhook

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	admissionv1 "k8s.io/api/admission/v1"
)

// ReviewLimits bound what admission reviews may cost, so the webhook cannot
// be run out of memory over the network. Memory in use is about
// (MaxInFlightBytes + MaxInFlight x 64 KiB) times the cost of decoding and
// mutating a review (see the README's Reliability section), plus the
// process's baseline.
type ReviewLimits struct {
	// MaxBodyBytes is the largest review accepted; larger ones get 413.
	// The API server refuses request bodies over 3 MiB, so a pod review
	// fits well within the default. Default: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxInFlightBytes bounds the bodies over 64 KiB being read or handled
	// at once, by their declared length (MaxBodyBytes for a body of unknown
	// length). Smaller ones, every ordinary pod, are bounded by MaxInFlight
	// alone, so they are answered while large ones fill this budget.
	// Default: DefaultMaxInFlightBytes.
	MaxInFlightBytes int64
	// MaxInFlight bounds the reviews being read or handled at once.
	// Default: DefaultMaxInFlight.
	MaxInFlight int
}

// Defaults of ReviewLimits: 4 MiB bodies, three of them at once, and up to 128
// reviews of ordinary pods (a few KiB each).
const (
	DefaultMaxBodyBytes     = 4 << 20
	DefaultMaxInFlightBytes = 12 << 20
	DefaultMaxInFlight      = 128
)

func (l *ReviewLimits) setDefaults() {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxInFlightBytes <= 0 {
		l.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	if l.MaxInFlightBytes < l.MaxBodyBytes {
		// Else a maximum-size review could never be admitted.
		l.MaxInFlightBytes = l.MaxBodyBytes
	}
	if l.MaxInFlight <= 0 {
		l.MaxInFlight = DefaultMaxInFlight
	}
}

// reviewGuard admits a review to the handler only within the limits and only
// when it is an admission.k8s.io/v1 AdmissionReview. It answers anything else
// with a plain HTTP error, before the body is decoded:
//   - 429 Too Many Requests (with Retry-After) when the in-flight limits are
//     reached: the API server's webhook client treats it as a failed call,
//     which its own retries and the webhook's failurePolicy then decide;
//   - 413 when the body is over MaxBodyBytes;
//   - 400 for another apiVersion or kind, 405 for a method other than POST.
type reviewGuard struct {
	next    http.Handler
	limits  ReviewLimits
	metrics *Metrics

	mu       sync.Mutex
	inFlight int
	bytes    int64
}

func newReviewGuard(next http.Handler, limits ReviewLimits, m *Metrics) *reviewGuard {
	limits.setDefaults()
	return &reviewGuard{next: next, limits: limits, metrics: m}
}

// reviewHeader is the part of an AdmissionReview the guard checks.
type reviewHeader struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

var reviewAPIVersion = admissionv1.SchemeGroupVersion.String()

func (g *reviewGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		g.refuse(w, http.StatusMethodNotAllowed, "bad-request", "admission reviews are POSTed")
		return
	}
	charge := r.ContentLength
	if charge > g.limits.MaxBodyBytes {
		g.refuse(w, http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("review of %d bytes is over the limit of %d", charge, g.limits.MaxBodyBytes))
		return
	}
	if charge < 0 {
		charge = g.limits.MaxBodyBytes
	}
	if !g.acquire(charge) {
		w.Header().Set("Retry-After", "1")
		g.refuse(w, http.StatusTooManyRequests, "busy", "too many admission reviews in flight; retry")
		return
	}
	defer g.release(charge)
	if charge > smallReview {
		// A reservation of the budget lasts only as long as the body takes
		// at bodyMinRate: a client that declares a large body and trickles
		// it cannot hold the budget, and with it every other large review,
		// for the server's whole read timeout.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyDeadline(charge)))
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, g.limits.MaxBodyBytes+1))
	if err != nil {
		// A client gone, or the server's read timeout.
		g.refuse(w, http.StatusBadRequest, "bad-request", "reading the review: "+err.Error())
		return
	}
	if int64(len(body)) > g.limits.MaxBodyBytes {
		g.refuse(w, http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("review is over the limit of %d bytes", g.limits.MaxBodyBytes))
		return
	}
	var h reviewHeader
	// Unknown fields are the rest of the review: only the header is read.
	if err := jsonv2.Unmarshal(body, &h, jsonv2.RejectUnknownMembers(false)); err != nil {
		g.refuse(w, http.StatusBadRequest, "bad-request", "decoding the review: "+err.Error())
		return
	}
	if h.APIVersion != reviewAPIVersion || h.Kind != "AdmissionReview" {
		g.refuse(w, http.StatusBadRequest, "bad-request", fmt.Sprintf("want apiVersion %s, kind AdmissionReview; got apiVersion %q, kind %q",
			reviewAPIVersion, truncate(h.APIVersion, 64), truncate(h.Kind, 64)))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	g.next.ServeHTTP(w, r)
}

// The slowest a large review's body may arrive: bodyMinTime, plus its size
// at bodyMinRate. The API server sends a review at once, from within the
// cluster's network; a body of 4 MiB gets 3 s.
const (
	bodyMinTime = time.Second
	bodyMinRate = 2 << 20 // bytes per second
)

func bodyDeadline(size int64) time.Duration {
	return bodyMinTime + time.Duration(size)*time.Second/bodyMinRate
}

// smallReview is the size under which a review is bounded by MaxInFlight
// alone: ordinary pods' reviews (a few KiB) are answered even while large
// ones fill MaxInFlightBytes. They cost at most MaxInFlight times this.
const smallReview = 64 << 10

func (g *reviewGuard) acquire(n int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inFlight >= g.limits.MaxInFlight {
		return false
	}
	if n > smallReview {
		if g.bytes+n > g.limits.MaxInFlightBytes {
			return false
		}
		g.bytes += n
	}
	g.inFlight++
	return true
}

func (g *reviewGuard) release(n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
	if n > smallReview {
		g.bytes -= n
	}
}

func (g *reviewGuard) refuse(w http.ResponseWriter, code int, kind, msg string) {
	g.metrics.Errors.WithLabelValues(kind).Inc()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, "inzone: "+msg+"\n")
}

// truncate bounds a client's value quoted in a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
