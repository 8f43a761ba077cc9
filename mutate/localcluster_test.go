package mutate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSidecarLocalCluster: the name read back from an injected sidecar is
// LocalClusterName's, for a container and a native sidecar alike; a pod
// without the sidecar or the flag has none.
func TestSidecarLocalCluster(t *testing.T) {
	for _, native := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Sidecar.ControlPlane.Plaintext = true
		e, err := NewEngine(cfg, Options{NativeSidecarSupported: native})
		if err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop", Labels: map[string]string{"app": "Cart"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
		res, err := e.Mutate(pod, Namespace{Name: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		injected, err := res.Apply(pod)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := e.LocalClusterName(injected)
		if got, ok := SidecarLocalCluster(injected); !ok || got != want || want != "cart.service.prod.ddsd" {
			t.Errorf("native=%v: read %q (%v), LocalClusterName %q", native, got, ok, want)
		}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
	}{
		{"no sidecar", &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Args: []string{ServiceClusterFlag, "x"}}}}}},
		{"a sidecar without the flag", &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: SidecarName, Args: []string{"--log-level", "info"}}}}}},
		{"the flag without a value", &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: SidecarName, Args: []string{ServiceClusterFlag}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := SidecarLocalCluster(tt.pod); ok {
				t.Errorf("read %q", got)
			}
		})
	}
}
