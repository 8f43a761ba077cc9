package auditcmd

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/inzone-io/inzone/audit"
	"github.com/inzone-io/inzone/cmd/internal/cli"
	"github.com/inzone-io/inzone/cmd/internal/cli/clitest"
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
	start := time.Now()
	code, out, errOut := clitest.Run(t, NewCommand, "", "audit", "-A", "-o", "json", "--server", srv.URL, "--timeout", timeout.String())
	elapsed := time.Since(start)
	if code == cli.ExitOK {
		t.Fatalf("exit 0 against a server that never answers:\n%s", out)
	}
	if bound := timeout + 10*time.Second; elapsed > bound {
		t.Errorf("returned after %s, over --timeout %s plus slack (%s)", elapsed, timeout, bound)
	}
	if !strings.Contains(errOut, "took longer than --timeout 1s") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

// TestTrimPods: a controller's pod keeps what the audit reads of it (node,
// zone spread, host network, container names: the sidecar); a bare pod,
// which the audit lints, keeps everything.
func TestTrimPods(t *testing.T) {
	spec := corev1.PodSpec{
		NodeName: "n1", HostNetwork: true,
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{TopologyKey: "topology.kubernetes.io/zone", MaxSkew: 1}},
		InitContainers: []corev1.Container{{Name: "inzone-proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
			Env: []corev1.EnvVar{{Name: "BOOTSTRAP", Value: strings.Repeat("x", 4096)}}}},
		Containers: []corev1.Container{{Name: "app", Image: "app", Args: []string{"--upstream", "internal-x.elb.amazonaws.com"}}},
		Volumes:    []corev1.Volume{{Name: "v"}},
	}
	owned := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a", OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", Controller: ptr.To(true)}}}, Spec: *spec.DeepCopy()}
	bare := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: *spec.DeepCopy()}
	pods := []corev1.Pod{owned, bare}
	trim(pods)
	want := corev1.PodSpec{
		NodeName: "n1", HostNetwork: true, TopologySpreadConstraints: spec.TopologySpreadConstraints,
		InitContainers: []corev1.Container{{Name: "inzone-proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}},
		Containers:     []corev1.Container{{Name: "app"}},
	}
	if !equality.Semantic.DeepEqual(pods[0].Spec, want) {
		t.Errorf("owned pod's spec:\n%+v\nwant\n%+v", pods[0].Spec, want)
	}
	if !audit.HasProxy(&pods[0]) {
		t.Error("the trimmed pod lost its sidecar")
	}
	if !equality.Semantic.DeepEqual(pods[1].Spec, spec) {
		t.Errorf("bare pod's spec trimmed: %+v", pods[1].Spec)
	}
}
