package auditcmd

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/inzone-io/inzone/cmd/internal/cli"
)

func TestProgressLine(t *testing.T) {
	for _, tt := range []struct {
		resource string
		n        int
		want     string
	}{
		{"pods", 0, "reading pods 0…"},
		{"pods", 999, "reading pods 999…"},
		{"pods", 12500, "reading pods 12,500…"},
		{"endpointslices.discovery.k8s.io", 1000000, "reading endpointslices.discovery.k8s.io 1,000,000…"},
		{"nodes", 100000, "reading nodes 100,000…"},
		{"x", -1234, "reading x -1,234…"},
	} {
		if got := progressLine(tt.resource, tt.n); got != tt.want {
			t.Errorf("progressLine(%s, %d) = %q, want %q", tt.resource, tt.n, got, tt.want)
		}
	}
}

// TestProgressOnlyOnATerminal: piped or redirected stderr gets no progress;
// a terminal gets each page's count, rewritten in place, then cleared.
func TestProgressOnlyOnATerminal(t *testing.T) {
	t.Run("a buffer is not a terminal", func(t *testing.T) {
		var out, errOut bytes.Buffer
		o := &Options{Client: fake.NewClientset(auditObjects()...), AllNamespaces: true, Output: "json", streams: cli.Streams{Out: &out, Err: &errOut}}
		if err := o.Validate(); err != nil {
			t.Fatal(err)
		}
		if err := o.Complete(); err != nil {
			t.Fatal(err)
		}
		if err := o.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if errOut.Len() != 0 {
			t.Errorf("stderr = %q, want nothing when it is not a terminal", errOut.String())
		}
	})
	t.Run("a pipe is not a terminal", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		if isTerminal(w) || newProgress(w).w != nil {
			t.Error("a pipe counts as a terminal")
		}
	})
	t.Run("on a terminal each page updates the line and done clears it", func(t *testing.T) {
		var tty bytes.Buffer
		p := &progress{w: &tty}
		pages := [][]corev1.Pod{make([]corev1.Pod, 500), make([]corev1.Pod, 500), make([]corev1.Pod, 7)}
		i := 0
		_, err := listAll(context.Background(), p, "pods", "", func(metav1.ListOptions) ([]corev1.Pod, string, error) {
			page := pages[i]
			i++
			if i < len(pages) {
				return page, "more", nil
			}
			return page, "", nil
		})
		if err != nil {
			t.Fatal(err)
		}
		p.done()
		got := tty.String()
		for _, want := range []string{clearLine + "reading pods 0…", clearLine + "reading pods 500…", clearLine + "reading pods 1,000…", clearLine + "reading pods 1,007…"} {
			if !strings.Contains(got, want) {
				t.Errorf("progress %q lacks %q", got, want)
			}
		}
		if !strings.HasSuffix(got, "1,007…"+clearLine) {
			t.Errorf("progress %q does not end by clearing the line", got)
		}
		p.done()
		if strings.Count(tty.String(), clearLine) != strings.Count(got, clearLine) {
			t.Error("a second done wrote again")
		}
	})
}

func TestTrim(t *testing.T) {
	pods := []corev1.Pod{{
		ObjectMeta: metav1.ObjectMeta{Name: "p", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
			Annotations: map[string]string{lastApplied: "{...}", "inzone.io/lint-ignore": "x"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", Conditions: []corev1.PodCondition{{Type: corev1.PodReady}}},
	}}
	trim(pods)
	p := pods[0]
	if p.ManagedFields != nil || p.Annotations[lastApplied] != "" || p.Annotations["inzone.io/lint-ignore"] != "x" {
		t.Errorf("metadata after trim = %+v", p.ObjectMeta)
	}
	if p.Status.Phase != corev1.PodRunning || p.Status.PodIP != "" || p.Status.Conditions != nil {
		t.Errorf("status after trim = %+v", p.Status)
	}
	svcs := []corev1.Service{{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}}, Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{Hostname: "h"}}}}}}
	trim(svcs)
	if svcs[0].ManagedFields != nil || len(svcs[0].Status.LoadBalancer.Ingress) != 1 {
		t.Errorf("service after trim = %+v", svcs[0])
	}
}
