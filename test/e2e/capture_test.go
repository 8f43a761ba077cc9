package e2e

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
)

// TestCaptureModes: each capture mode, asked for by annotation, is stored
// by the real API server as the webhook made it.
func TestCaptureModes(t *testing.T) {
	ns := namespace(t, true)
	for _, mode := range []mutate.CaptureMode{mutate.CaptureIPTables, mutate.CaptureCNI, mutate.CaptureProxyEnv, mutate.CaptureNone} {
		t.Run(string(mode), func(t *testing.T) {
			pod, _ := create(t, webPod(t, ns, "capture-"+string(mode), func(p *corev1.Pod) {
				if p.Annotations == nil {
					p.Annotations = map[string]string{}
				}
				p.Annotations[mutate.AnnotationCapture] = string(mode)
			}))
			if got := mutate.PodCaptureMode(pod); got != mode {
				t.Fatalf("stored pod captures with %s, want %s (init %v)", got, mode, names(pod.Spec.InitContainers))
			}
			if mode != mutate.CaptureIPTables {
				return
			}
			init := pod.Spec.InitContainers
			if len(init) < 2 || init[0].Name != mutate.CaptureContainerName || init[1].Name != mutate.SidecarName {
				t.Fatalf("init containers %v, want %s then %s", names(init), mutate.CaptureContainerName, mutate.SidecarName)
			}
			caps := init[0].SecurityContext.Capabilities
			if !slices.Equal(caps.Add, []corev1.Capability{"NET_ADMIN", "NET_RAW"}) || !slices.Equal(caps.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("capabilities %+v", caps)
			}
			if !slices.Contains(init[0].Args, "--exclude-inbound-ports=15000,15021") {
				t.Errorf("the admin and health ports are not excluded: %v", init[0].Args)
			}
		})
	}
}

// TestBadCaptureAnnotations: a value that is not a port, a CIDR or a mode
// is rejected, naming the annotation.
func TestBadCaptureAnnotations(t *testing.T) {
	env := envtest.For(t)
	ns := namespace(t, true)
	for _, tc := range []struct{ annotation, value string }{
		{mutate.AnnotationCapture, "ebpf"},
		{mutate.AnnotationExcludeOutboundPorts, "5432;reboot"},
		{mutate.AnnotationExcludeOutboundCIDRs, "10.0.0.1/8"},
		{mutate.AnnotationIncludeOutboundCIDRs, "example.com"},
	} {
		t.Run(tc.annotation+"="+tc.value, func(t *testing.T) {
			_, _, err := env.CreatePod(ctx(t), webPod(t, ns, "", func(p *corev1.Pod) {
				p.Name, p.GenerateName = "", "bad-capture-"
				p.Annotations = map[string]string{tc.annotation: tc.value}
			}))
			if err == nil || !strings.Contains(err.Error(), tc.annotation) || !strings.Contains(err.Error(), `"`+envtest.WebhookName+`" denied`) {
				t.Errorf("create with %s=%q: err = %v, want inzone's denial naming it", tc.annotation, tc.value, err)
			}
		})
	}
}
