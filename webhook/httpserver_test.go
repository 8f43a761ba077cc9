package webhook

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startBoundedServer serves echo at /echo on loopback with short timeouts.
func startBoundedServer(t *testing.T, tm Timeouts) (addr string, srv *boundedServer) {
	t.Helper()
	dir := t.TempDir()
	cert, key := selfSigned(t)
	if err := os.WriteFile(filepath.Join(dir, CertFile), cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	srv = newBoundedServer("127.0.0.1", port, dir, nil, tm)
	srv.Register("/echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write(b)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for srv.StartedChecker()(nil) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("server not started: %v", srv.StartedChecker()(nil))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, srv
}

// TestBoundedServerCutsOffSlowClients checks a client trickling its headers
// or its body loses its connection, while a prompt one is answered.
func TestBoundedServerCutsOffSlowClients(t *testing.T) {
	addr, _ := startBoundedServer(t, Timeouts{ReadHeader: 300 * time.Millisecond, Read: 600 * time.Millisecond, Write: time.Second, Idle: time.Second})
	dial := func(t *testing.T) *tls.Conn {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a self-signed test certificate
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		return c
	}
	// trickle writes s a byte at a time until the server closes the
	// connection; false if all of it was written and answered.
	trickle := func(c *tls.Conn, s string) bool {
		closed := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, c); close(closed) }()
		for i := range len(s) {
			select {
			case <-closed:
				return true
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := c.Write([]byte{s[i]}); err != nil {
				return true
			}
		}
		return false
	}
	t.Run("headers", func(t *testing.T) {
		if !trickle(dial(t), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-Padding: "+strings.Repeat("a", 200)+"\r\n\r\n{}") {
			t.Error("a client trickling its headers kept its connection")
		}
	})
	t.Run("body", func(t *testing.T) {
		c := dial(t)
		body := strings.Repeat("a", 200)
		if _, err := fmt.Fprintf(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(body)); err != nil {
			t.Fatal(err)
		}
		if !trickle(c, body) {
			t.Error("a client trickling its body kept its connection")
		}
	})
	t.Run("a prompt client is answered", func(t *testing.T) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // a self-signed test certificate
		resp, err := c.Post("https://"+addr+"/echo", "application/json", strings.NewReader(`{"ok":true}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(b) != `{"ok":true}` {
			t.Errorf("HTTP %d %q", resp.StatusCode, b)
		}
	})
}

func TestTimeoutsDefaults(t *testing.T) {
	tm := Timeouts{Read: time.Minute}
	tm.setDefaults()
	want := DefaultTimeouts
	want.Read = time.Minute
	if tm != want {
		t.Errorf("defaults = %+v, want %+v", tm, want)
	}
}
