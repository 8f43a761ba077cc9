package auditcmd

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestConnectionFIFO: a named pipe as the kubeconfig or a file it names is
// refused at stat; opened, it would block until a writer came (unchecked,
// this test hangs until go test's -timeout).
func TestConnectionFIFO(t *testing.T) {
	_, kubeconfig := kubeconfigFixture(t)
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, tt := range []struct {
		name       string
		kubeconfig string
		args       []string
		want       string
	}{
		{"--kubeconfig", kubeconfig, []string{"--kubeconfig", fifo}, "--kubeconfig " + fifo + ": not a regular file (a named pipe)"},
		{"$KUBECONFIG", fifo, nil, "kubeconfig from $KUBECONFIG " + fifo + ": not a regular file (a named pipe)"},
		{"--certificate-authority", kubeconfig, []string{"--certificate-authority", fifo}, "--certificate-authority " + fifo + ": not a regular file (a named pipe)"},
		{"--client-key", kubeconfig, []string{"--client-key", fifo}, "--client-key " + fifo + ": not a regular file (a named pipe)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := parseConnection(t, tt.kubeconfig, tt.args...)
			if _, err := c.RESTConfig(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
			if _, err := c.Namespace(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("namespace: error %v, want %q", err, tt.want)
			}
		})
	}
}
