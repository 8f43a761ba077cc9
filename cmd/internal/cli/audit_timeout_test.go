package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuditTimeoutBoundsDiscovery: against an API server that accepts
// connections and never answers, --timeout bounds the whole read, Istio's
// discovery (which takes no context) included. The check is an upper
// bound with generous slack, not a speed test: before the bound, the
// command waited as long as the server held the request (here 30 s).
func TestAuditTimeoutBoundsDiscovery(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	defer srv.Close()
	defer close(release)
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)

	const timeout = time.Second
	var out, errOut bytes.Buffer
	start := time.Now()
	code := RunPlugin([]string{"audit", "-A", "-o", "json", "--server", srv.URL, "--timeout", timeout.String()}, Streams{Out: &out, Err: &errOut})
	elapsed := time.Since(start)
	if code == ExitOK {
		t.Fatalf("exit 0 against a server that never answers:\n%s", out.String())
	}
	if bound := timeout + 10*time.Second; elapsed > bound {
		t.Errorf("returned after %s, over --timeout %s plus slack (%s)", elapsed, timeout, bound)
	}
	if !strings.Contains(errOut.String(), "took longer than --timeout 1s") {
		t.Errorf("stderr:\n%s", errOut.String())
	}
}
