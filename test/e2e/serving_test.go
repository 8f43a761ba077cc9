package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inzone-io/inzone/test/envtest"
)

// TestServing checks how the webhook serves: TLS 1.2 at least, no HTTP/2
// unless asked, and health, readiness and metrics endpoints.
func TestServing(t *testing.T) {
	env := envtest.For(t)
	host, port, _, caData := env.WebhookServing()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caData)
	dial := func(cfg *tls.Config) (*tls.Conn, error) {
		cfg.RootCAs, cfg.ServerName = pool, host
		return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	}

	t.Run("a client limited to TLS 1.1 is refused", func(t *testing.T) {
		conn, err := dial(&tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
			t.Fatal("TLS 1.1 handshake succeeded")
		}
	})
	t.Run("a TLS 1.2 client is served", func(t *testing.T) {
		conn, err := dial(&tls.Config{MaxVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	})
	t.Run("HTTP/2 is not negotiated", func(t *testing.T) {
		conn, err := dial(&tls.Config{NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if p := conn.ConnectionState().NegotiatedProtocol; p == "h2" {
			t.Errorf("negotiated %q", p)
		}
	})

	t.Run("health, readiness and metrics are served", func(t *testing.T) {
		health, metrics := freeAddr(t), freeAddr(t)
		opts := webhookOptions(testConfig())
		opts.HealthAddr, opts.MetricsAddr = health, metrics
		withWebhook(t, opts)
		for _, path := range []string{"/healthz", "/readyz"} {
			if code, body := get(t, "http://"+health+path); code != http.StatusOK {
				t.Errorf("%s: %d %.300s", path, code, body)
			}
		}
		create(t, webPod(t, namespace(t, true), ""))
		_, body := get(t, "http://"+metrics+"/metrics")
		for _, want := range []string{
			`inzone_mutations_total{mutation="sidecar",result="applied"}`,
			`inzone_mutations_total{mutation="ddsd-rewrite",result="applied"}`,
			"controller_runtime_webhook_requests_total",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
