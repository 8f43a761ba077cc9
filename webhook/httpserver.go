package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crlog "sigs.k8s.io/controller-runtime/pkg/log"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
)

// Timeouts of the webhook's HTTP server. The API server sends a review in
// one go right after its headers and gives up after the webhook's
// timeoutSeconds (at most 30), so a client slower than these is not the API
// server; each also bounds how long a trickling client holds a connection
// and its share of the in-flight limits.
type Timeouts struct {
	// ReadHeader bounds the TLS handshake and the request headers.
	ReadHeader time.Duration
	// Read bounds the whole request, headers and body.
	Read time.Duration
	// Write bounds the time from the end of the headers to the end of the
	// response.
	Write time.Duration
	// Idle closes a kept-alive connection that sends no request for this
	// long. The default matches the idle timeout of the API server's
	// client (90 s), so it rarely reuses a connection just closed.
	Idle time.Duration
}

// DefaultTimeouts are the server's timeouts when Options.Timeouts is zero.
var DefaultTimeouts = Timeouts{ReadHeader: 5 * time.Second, Read: 15 * time.Second, Write: 35 * time.Second, Idle: 90 * time.Second}

func (t *Timeouts) setDefaults() {
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.ReadHeader, &DefaultTimeouts.ReadHeader}, {&t.Read, &DefaultTimeouts.Read},
		{&t.Write, &DefaultTimeouts.Write}, {&t.Idle, &DefaultTimeouts.Idle},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
}

// boundedServer is controller-runtime's webhook server (its mux, handler
// registration and instrumentation are reused) with its own Start: the
// default server sets no read timeout, so a client trickling a body holds
// its connection and buffers for as long as it likes.
type boundedServer struct {
	*crwebhook.DefaultServer
	host, certDir string
	port          int
	tlsOpts       []func(*tls.Config)
	timeouts      Timeouts

	mu      sync.Mutex
	started bool
}

var _ crwebhook.Server = (*boundedServer)(nil)

func newBoundedServer(host string, port int, certDir string, tlsOpts []func(*tls.Config), t Timeouts) *boundedServer {
	t.setDefaults()
	def := crwebhook.NewServer(crwebhook.Options{Host: host, Port: port, CertDir: certDir, TLSOpts: tlsOpts, WebhookMux: http.NewServeMux()}).(*crwebhook.DefaultServer)
	return &boundedServer{DefaultServer: def, host: host, port: port, certDir: certDir, tlsOpts: tlsOpts, timeouts: t}
}

// Start serves TLS until ctx is done, reloading the certificate when its
// files change.
func (s *boundedServer) Start(ctx context.Context) error {
	log := crlog.Log.WithName("inzone").WithName("server")
	watcher, err := certwatcher.New(filepath.Join(s.certDir, CertFile), filepath.Join(s.certDir, KeyFile))
	if err != nil {
		return err
	}
	go func() {
		if err := watcher.Start(ctx); err != nil {
			log.Error(err, "certificate watcher stopped")
		}
	}()
	cfg := &tls.Config{NextProtos: []string{"h2"}, GetCertificate: watcher.GetCertificate}
	for _, o := range s.tlsOpts {
		o(cfg)
	}
	ln, err := tls.Listen("tcp", net.JoinHostPort(s.host, strconv.Itoa(s.port)), cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{
		BaseContext:       func(net.Listener) context.Context { return ctx },
		Handler:           s.WebhookMux(),
		MaxHeaderBytes:    64 << 10,
		ReadHeaderTimeout: s.timeouts.ReadHeader,
		ReadTimeout:       s.timeouts.Read,
		WriteTimeout:      s.timeouts.Write,
		IdleTimeout:       s.timeouts.Idle,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Error(err, "shutting down the webhook server")
		}
	}()
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	log.Info("serving webhook", "host", s.host, "port", s.port, "readHeaderTimeout", s.timeouts.ReadHeader,
		"readTimeout", s.timeouts.Read, "writeTimeout", s.timeouts.Write, "idleTimeout", s.timeouts.Idle)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done
	return nil
}

// StartedChecker passes once the server is started and completes a TLS
// handshake.
func (s *boundedServer) StartedChecker() healthz.Checker {
	return func(*http.Request) error {
		s.mu.Lock()
		started := s.started
		s.mu.Unlock()
		if !started {
			return errors.New("webhook server not started yet")
		}
		d := &net.Dialer{Timeout: 10 * time.Second}
		conn, err := tls.DialWithDialer(d, "tcp", net.JoinHostPort(s.host, strconv.Itoa(s.port)), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a liveness dial to itself
		if err != nil {
			return fmt.Errorf("webhook server not reachable: %w", err)
		}
		return conn.Close()
	}
}
