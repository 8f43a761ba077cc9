package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/inzone-io/inzone/test/envtest"
)

// TestNotReadyWhileNoClusterSynced: with its one cluster at a loopback
// port nobody listens on, the server is alive (/healthz) and not ready
// (/readyz 503), also past --cluster-sync-timeout: ready with no cluster
// would hand every sidecar an empty view. --plaintext is warned about.
func TestNotReadyWhileNoClusterSynced(t *testing.T) {
	f := newFixtures(t)
	healthAddr := freePort(t)
	logs := &lockedBuffer{}
	runT(t, logs, "--plaintext", "--kubeconfig", f.kubeconfig(nil, nil), "--xds-address=127.0.0.1:0",
		"--dns-address=0", "--metrics-bind-address=0", "--health-probe-bind-address", healthAddr, "--cluster-sync-timeout=1s")

	waitFor(t, "the log after the sync timeout", func() bool {
		return strings.Contains(logs.String(), "no cluster synced within --cluster-sync-timeout; not ready until one does")
	})
	if code, body := get(t, "http://"+healthAddr+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz %d %q, want 503", code, body)
	}
	if code, body := get(t, "http://"+healthAddr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d %q, want 200", code, body)
	}
	if !strings.Contains(logs.String(), `"msg":"WARNING: serving ADS in plaintext (--plaintext)`) {
		t.Errorf("no --plaintext warning in the logs:\n%s", truncate(logs.String()))
	}
}

// TestReadyWithoutAClusterThatDoesNotSync: of two clusters, one is behind
// a loopback proxy that refuses every connection. After
// --cluster-sync-timeout the server is ready with the other, serves its
// endpoints and counts the missing cluster; once the proxy lets
// connections through, the cluster's informers (which kept retrying)
// sync, it is counted out, and its endpoints are served beside the
// other's.
func TestReadyWithoutAClusterThatDoesNotSync(t *testing.T) {
	dir := t.TempDir()
	var kubeconfigs []string
	for i, zone := range []string{"us-east-1a", "us-west-2b"} {
		env := envtest.StartT(t, envtest.Options{WithoutInzoneWebhook: true})
		populate(t, env, []string{"node-0", "node-1"}[i], zone, []string{"10.10.0.1", "10.11.0.1"}[i])
		kc := filepath.Join(dir, []string{"reachable", "remote"}[i])
		if err := env.WriteKubeconfig(kc); err != nil {
			t.Fatal(err)
		}
		kubeconfigs = append(kubeconfigs, "--kubeconfig", kc)
	}
	// The remote cluster is reached through the gate.
	remote := filepath.Join(dir, "remote")
	raw, err := clientcmd.LoadFromFile(remote)
	if err != nil {
		t.Fatal(err)
	}
	cluster := raw.Clusters[raw.Contexts[raw.CurrentContext].Cluster]
	server, err := url.Parse(cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	gate := newGate(t, server.Host)
	server.Host = gate.addr
	cluster.Server = server.String()
	if err := clientcmd.WriteToFile(*raw, remote); err != nil {
		t.Fatal(err)
	}

	xdsAddr, metricsAddr, healthAddr := freePort(t), freePort(t), freePort(t)
	ctx := runT(t, io.Discard, append(kubeconfigs, "--plaintext", "--xds-address", xdsAddr, "--dns-address=0",
		"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", healthAddr, "--cluster-sync-timeout=2s")...)
	waitHTTP(t, "http://"+healthAddr+"/readyz", "ok")
	waitHTTP(t, "http://"+metricsAddr+"/metrics", "\ninzone_xds_clusters_not_synced 1\n")
	if gate.refused.Load() == 0 {
		t.Fatal("the remote cluster was never dialled")
	}

	endpoints := func() string {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		return strings.Join(deltaEndpoints(t, sctx, xdsAddr, insecure.NewCredentials(), "multi.service.prod.ddsd:80"), " ")
	}
	if got, want := endpoints(), "us-east-1/us-east-1a=10.10.0.1"; got != want {
		t.Errorf("without the remote cluster: endpoints %s, want %s", got, want)
	}

	gate.open.Store(true)
	waitHTTP(t, "http://"+metricsAddr+"/metrics", "\ninzone_xds_clusters_not_synced 0\n")
	want := "us-east-1/us-east-1a=10.10.0.1 us-west-2/us-west-2b=10.11.0.1"
	var got string
	waitFor(t, "the remote cluster's endpoints", func() bool {
		got = endpoints()
		return got == want
	})
}

// runT runs the command with args until the test ends, logging to logs;
// it must then exit 0. The context is the run's.
func runT(t *testing.T, logs io.Writer, args ...string) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, logs) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d after cancel, want 0", code)
		}
	})
	return ctx
}

// gate is a loopback TCP proxy to a target that closes every connection
// until open is set: an API server unreachable, then reachable.
type gate struct {
	addr    string
	open    atomic.Bool
	refused atomic.Int64
}

func newGate(t *testing.T, target string) *gate {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{addr: l.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if !g.open.Load() {
				g.refused.Add(1)
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			track(c)
			track(up)
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(up, c); up.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return g
}

// lockedBuffer collects logs written from the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// get returns url's status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body)
}

// waitFor polls cond; the deadline is a failure bound, not a measurement.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
