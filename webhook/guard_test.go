package webhook

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// guarded is the handler chain the server registers at Path.
func guarded(t testing.TB, limits ReviewLimits) http.Handler {
	return newReviewGuard(&admission.Webhook{Handler: newMutator(testEngine(t))}, limits, NewMetrics(nil))
}

func post(h http.Handler, body io.Reader, length int64) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, Path, body)
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestGuardRefusesOtherAPIVersionsAndKinds(t *testing.T) {
	valid := review(t, podGVK, admissionv1.Create, testPod(1, 2))
	swap := func(old, new string) []byte { return bytes.Replace(valid, []byte(old), []byte(new), 1) }
	for _, tt := range []struct {
		name string
		body []byte
		code int
	}{
		{"admission.k8s.io/v1 AdmissionReview", valid, http.StatusOK},
		{"admission.k8s.io/v2", swap(`"apiVersion":"admission.k8s.io/v1"`, `"apiVersion":"admission.k8s.io/v2"`), http.StatusBadRequest},
		{"admission.k8s.io/v1beta1", swap(`"apiVersion":"admission.k8s.io/v1"`, `"apiVersion":"admission.k8s.io/v1beta1"`), http.StatusBadRequest},
		{"no apiVersion", swap(`"apiVersion":"admission.k8s.io/v1",`, ``), http.StatusBadRequest},
		{"another kind", swap(`"kind":"AdmissionReview"`, `"kind":"AdmissionResponse"`), http.StatusBadRequest},
		{"not JSON", []byte("apiVersion: admission.k8s.io/v1\n"), http.StatusBadRequest},
		{"an array", []byte(`[1,2]`), http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(guarded(t, ReviewLimits{}), bytes.NewReader(tt.body), int64(len(tt.body)))
			if rec.Code != tt.code {
				t.Fatalf("HTTP %d, want %d: %s", rec.Code, tt.code, rec.Body.String())
			}
			if tt.code == http.StatusOK && !strings.Contains(rec.Body.String(), `"patch"`) {
				t.Errorf("a valid review was not mutated: %s", rec.Body.String())
			}
		})
	}
}

func TestGuardRefusesLargeBodies(t *testing.T) {
	const limit = 64 << 10
	small := review(t, podGVK, admissionv1.Create, testPod(1, 2))
	big := bytes.Repeat([]byte(" "), limit+1)
	for _, tt := range []struct {
		name   string
		body   io.Reader
		length int64
		code   int
	}{
		{"declared over the limit, refused before reading", strings.NewReader("{}"), limit + 1, http.StatusRequestEntityTooLarge},
		{"undeclared and over the limit", bytes.NewReader(big), -1, http.StatusRequestEntityTooLarge},
		{"undeclared and small", bytes.NewReader(small), -1, http.StatusOK},
		{"a GET", nil, 0, http.StatusMethodNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := guarded(t, ReviewLimits{MaxBodyBytes: limit})
			var rec *httptest.ResponseRecorder
			if tt.body == nil {
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path, nil))
			} else {
				rec = post(h, tt.body, tt.length)
			}
			if rec.Code != tt.code {
				t.Fatalf("HTTP %d, want %d: %s", rec.Code, tt.code, rec.Body.String())
			}
		})
	}
}

// TestGuardBoundsReviewsInFlight holds reviews inside the handler and checks
// the next one is refused with 429 and Retry-After, by count and by bytes,
// and admitted again once they finish.
func TestGuardBoundsReviewsInFlight(t *testing.T) {
	for _, tt := range []struct {
		name   string
		limits ReviewLimits
		hold   int   // reviews held in the handler
		size   int64 // declared length of each
	}{
		{"by count", ReviewLimits{MaxInFlight: 3}, 3, 100},
		{"by bytes", ReviewLimits{MaxBodyBytes: 100 << 10, MaxInFlightBytes: 250 << 10}, 2, 100 << 10},
		{"an undeclared length counts as the maximum", ReviewLimits{MaxBodyBytes: 100 << 10, MaxInFlightBytes: 250 << 10}, 2, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				entered <- struct{}{}
				<-release
			})
			g := newReviewGuard(next, tt.limits, NewMetrics(nil))
			body := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`
			var wg sync.WaitGroup
			for range tt.hold {
				wg.Go(func() { post(g, strings.NewReader(body), tt.size) })
				<-entered
			}
			rec := post(g, strings.NewReader(body), tt.size)
			if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
				t.Errorf("HTTP %d, Retry-After %q; want 429 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
			}
			close(release)
			wg.Wait()
			go func() { <-entered }()
			if rec := post(g, strings.NewReader(body), int64(len(body))); rec.Code != http.StatusOK {
				t.Errorf("after the held reviews finished: HTTP %d, want 200", rec.Code)
			}
		})
	}
}

// TestGuardAnswersSmallReviewsWhileLargeOnesFillTheBudget checks ordinary
// reviews are not refused because large ones hold the byte budget.
func TestGuardAnswersSmallReviewsWhileLargeOnesFillTheBudget(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") == "hold" {
			entered <- struct{}{}
			<-release
		}
	})
	g := newReviewGuard(next, ReviewLimits{MaxBodyBytes: 1 << 20, MaxInFlightBytes: 2 << 20, MaxInFlight: 10}, NewMetrics(nil))
	head := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(head))
			req.ContentLength = 1 << 20
			req.Header.Set("Content-Type", "hold")
			g.ServeHTTP(httptest.NewRecorder(), req)
		})
		<-entered
	}
	if rec := post(g, strings.NewReader(head), 1<<20); rec.Code != http.StatusTooManyRequests {
		t.Errorf("a third large review: HTTP %d, want 429", rec.Code)
	}
	if rec := post(g, strings.NewReader(head), int64(len(head))); rec.Code != http.StatusOK {
		t.Errorf("a small review while the budget is full: HTTP %d, want 200", rec.Code)
	}
	close(release)
	wg.Wait()
}

// TestGuardCutsOffLargeBodiesThatTrickle: a client that declares a large
// body and sends it a byte at a time holds the budget only for
// bodyDeadline, not for the server's read timeout; then a large review is
// answered again.
func TestGuardCutsOffLargeBodiesThatTrickle(t *testing.T) {
	const size = 256 << 10
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	g := newReviewGuard(next, ReviewLimits{MaxBodyBytes: size, MaxInFlightBytes: size, MaxInFlight: 10}, NewMetrics(nil))
	srv := httptest.NewServer(g)
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n{", Path, size); err != nil {
		t.Fatal(err)
	}
	cut := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		// The server answers (and closes) when the body's deadline passes.
		_, _ = io.Copy(io.Discard, conn)
		cut <- time.Since(start)
	}()
	head := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`
	large := head + strings.Repeat(" ", size-len(head))
	postLarge := func() int {
		resp, err := http.Post(srv.URL+Path, "application/json", strings.NewReader(large))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Let the trickler's headers reach the guard first.
	deadline := time.Now().Add(5 * time.Second)
	for postLarge() != http.StatusTooManyRequests {
		if time.Now().After(deadline) {
			t.Fatal("the trickler never held the budget")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case d := <-cut:
		if d > bodyDeadline(size)+5*time.Second {
			t.Errorf("the trickler was cut off after %s, want about %s", d, bodyDeadline(size))
		}
	case <-time.After(bodyDeadline(size) + 10*time.Second):
		t.Fatalf("the trickler still holds the budget after %s", bodyDeadline(size)+10*time.Second)
	}
	if code := postLarge(); code != http.StatusOK {
		t.Errorf("a large review after the trickler was cut off: HTTP %d, want 200", code)
	}
}
