package capture_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/inzone-io/inzone/mutate"
)

// proxyEnvClientVar makes the test binary act as the app in proxy-env
// mode: a plain Go HTTP client and a grpc-go client, configured by nothing
// but the environment the webhook sets.
const proxyEnvClientVar = "INZONE_TEST_PROXYENV_CLIENT"

// Names the app calls; they resolve nowhere, so only a proxy reaches them.
const (
	httpTarget  = "http://orders.service.prod.ddsd:8080/v1/orders?limit=10"
	httpsTarget = "https://payments.service.prod.ddsd:8443/v1"
	grpcTarget  = "orders.service.prod.ddsd:9000"
	svcTarget   = "http://api.shop.svc.cluster.local:8080/"
)

// proxyEnvClient runs in the child process and prints one line per call.
func proxyEnvClient() int {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c := &http.Client{Timeout: ioTimeout}
	if resp, err := c.Get(httpTarget); err != nil {
		fmt.Println("http error:", err)
	} else {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		fmt.Printf("http %d %s\n", resp.StatusCode, b)
	}
	_, err := c.Get(httpsTarget) // the stand-in ends the tunnel: an error is expected
	fmt.Println("https attempted:", err != nil)

	conn, err := grpc.NewClient(grpcTarget, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Println("grpc error:", err)
		return 1
	}
	defer conn.Close()
	if resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		fmt.Println("grpc error:", err)
	} else {
		fmt.Println("grpc", resp.GetStatus())
	}

	req, _ := http.NewRequest(http.MethodGet, svcTarget, nil)
	if u, _ := http.ProxyFromEnvironment(req); u == nil {
		fmt.Println("svc direct")
	} else {
		fmt.Println("svc proxied via", u)
	}
	return 0
}

// standInProxy plays Envoy's outbound listener: it answers absolute-form
// HTTP requests itself and, for CONNECT, serves gRPC health inside the
// tunnel. It records the request line of every connection.
type standInProxy struct {
	l    net.Listener
	grpc *grpc.Server
	conn chan net.Conn

	mu   sync.Mutex
	seen []string
}

func newStandInProxy(t *testing.T) *standInProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &standInProxy{l: l, grpc: grpc.NewServer(), conn: make(chan net.Conn)}
	healthpb.RegisterHealthServer(p.grpc, health.NewServer())
	go func() { _ = p.grpc.Serve(tunnelListener{p}) }()
	go p.accept()
	t.Cleanup(func() { l.Close(); p.grpc.Stop() })
	return p
}

func (p *standInProxy) port() int { return p.l.Addr().(*net.TCPAddr).Port }

func (p *standInProxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			close(p.conn)
			return
		}
		go p.handle(c)
	}
}

func (p *standInProxy) handle(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	br := bufio.NewReader(io.LimitReader(c, 64<<10))
	req, err := http.ReadRequest(br)
	if err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	p.mu.Lock()
	p.seen = append(p.seen, req.Method+" "+req.RequestURI)
	p.mu.Unlock()
	if req.Method != http.MethodConnect {
		body := "proxied " + req.RequestURI
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		c.Close()
		return
	}
	fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	if req.Host != grpcTarget {
		c.Close()
		return
	}
	p.conn <- c // the tunnel carries HTTP/2 from here: hand it to the gRPC server
}

func (p *standInProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// tunnelListener feeds tunneled connections to the gRPC server.
type tunnelListener struct{ p *standInProxy }

func (t tunnelListener) Accept() (net.Conn, error) {
	c, ok := <-t.p.conn
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (t tunnelListener) Close() error   { return nil }
func (t tunnelListener) Addr() net.Addr { return t.p.l.Addr() }

// TestProxyEnvReachesTheOutboundListener runs a Go HTTP client and a grpc-go
// client with exactly the env vars the webhook gives an app container in
// proxy-env mode, and checks both reach the stand-in outbound listener.
func TestProxyEnvReachesTheOutboundListener(t *testing.T) {
	p := newStandInProxy(t)
	cfg := mutate.DefaultConfig()
	cfg.Sidecar.OutboundPort = int32(p.port())
	cfg.Sidecar.Capture.Mode = mutate.CaptureProxyEnv
	e, err := mutate.NewEngine(cfg, mutate.Options{NativeSidecarSupported: true})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{proxyEnvClientVar + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	for _, v := range e.ProxyEnv() {
		env = append(env, v.Name+"="+v.Value)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		"http 200 proxied " + httpTarget, // absolute-form request
		"https attempted: true",
		"grpc SERVING", // through a CONNECT tunnel
		"svc direct",   // NO_PROXY has .svc and .cluster.local
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("client output lacks %q:\n%s", want, got)
		}
	}
	seen := strings.Join(p.requests(), "\n")
	u, _ := url.Parse(httpsTarget)
	for _, want := range []string{"GET " + httpTarget, "CONNECT " + u.Host, "CONNECT " + grpcTarget} {
		if !strings.Contains(seen, want) {
			t.Errorf("the proxy did not see %q; it saw:\n%s", want, seen)
		}
	}
	if want := "http://127.0.0.1:" + strconv.Itoa(p.port()); !strings.Contains(fmt.Sprint(e.ProxyEnv()), want) {
		t.Errorf("proxy env does not point at %s", want)
	}
}
