package hostile

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/client-go/rest"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/webhook"
)

// blackhole stands between the webhook and the API server: down, it accepts
// connections and never answers (the worst outage: no refusal, no reset);
// up, it forwards them.
type blackhole struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	up       bool
	held     []net.Conn
}

func newBlackhole(t *testing.T, upstream string) *blackhole {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, upstream: upstream}
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.held {
			c.Close()
		}
	})
	go b.serve()
	return b
}

func (b *blackhole) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		up := b.up
		b.held = append(b.held, c)
		b.mu.Unlock()
		if !up {
			continue
		}
		go func() {
			u, err := net.Dial("tcp", b.upstream)
			if err != nil {
				c.Close()
				return
			}
			b.mu.Lock()
			b.held = append(b.held, u)
			b.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			_, _ = io.Copy(c, u)
			c.Close()
		}()
	}
}

// setUp forwards from now on and drops the connections held so far, as an
// API server coming back after its clients' connections timed out.
func (b *blackhole) setUp() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.up = true
	for _, c := range b.held {
		c.Close()
	}
	b.held = nil
}

// TestStartWithTheAPIServerDown starts the webhook with nativeSidecar: auto
// while the API server accepts connections and never answers: it must serve
// TLS and answer reviews (regular-container sidecars, the pending metric at
// 1), then switch to native sidecars once the API server answers.
func TestStartWithTheAPIServerDown(t *testing.T) {
	env := envtest.For(t)
	api, err := url.Parse(env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	hole := newBlackhole(t, api.Host)
	cfg := rest.CopyConfig(env.Config)
	cfg.Host = "https://" + hole.ln.Addr().String()

	_, _, certDir, caData := env.WebhookServing()
	addr, port := freeAddr(t)
	wcfg := mutate.DefaultConfig()
	wcfg.DDSD.Env = "prod"
	wcfg.Sidecar.ControlPlane.Plaintext = true // no CA at hand: without it no sidecar is injected at all
	mgr, err := webhook.NewManager(cfg, webhook.Options{Config: wcfg, Host: "127.0.0.1", Port: port, CertDir: certDir, MetricsAddr: "0", HealthAddr: "0"})
	if err != nil {
		t.Fatalf("NewManager with the API server down: %v", err)
	}
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(c) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("manager: %v", err)
			}
		case <-time.After(90 * time.Second):
			t.Error("the manager did not stop")
		}
	})

	client := reviewClient(caData)
	body := reviewBody(t, shellPod("shop", "web", "http://example.com"))
	placement := func() (string, error) {
		code, resp, err := postReview(client, addr, body)
		if err != nil {
			return "", err
		}
		if code != 200 || resp == nil || !resp.Allowed {
			return "", errors.New("review not answered with an admission")
		}
		return sidecarPlacement(t, resp), nil
	}
	var where string
	deadline := time.Now().Add(60 * time.Second)
	for {
		if where, err = placement(); err == nil || time.Now().After(deadline) {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the webhook exited with the API server down: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err != nil {
		t.Fatalf("no review answered with the API server down: %v", err)
	}
	if where != "containers" {
		t.Errorf("with the API server down the sidecar went to %q, want a regular container", where)
	}
	if got := pending(t); got != 1 {
		t.Errorf("inzone_native_sidecar_detection_pending = %v, want 1", got)
	}

	hole.setUp()
	deadline = time.Now().Add(90 * time.Second)
	for where != "initContainers" {
		if time.Now().After(deadline) {
			t.Fatalf("detection did not complete within 90s of the API server answering: sidecar in %q", where)
		}
		time.Sleep(250 * time.Millisecond)
		if where, err = placement(); err != nil {
			t.Fatalf("review after the API server came back: %v", err)
		}
	}
	if got := pending(t); got != 0 {
		t.Errorf("inzone_native_sidecar_detection_pending = %v after detection, want 0", got)
	}
}

// pending is inzone_native_sidecar_detection_pending.
func pending(t *testing.T) float64 {
	t.Helper()
	var m dto.Metric
	if err := webhook.DefaultMetrics.NativeSidecarPending.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}
