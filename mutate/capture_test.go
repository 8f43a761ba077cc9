package mutate

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

func TestCaptureConfigIsValidated(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantLine string
		wantText string
	}{
		{"an unknown mode is rejected", "sidecar:\n  capture:\n    mode: ebpf\n", "line 3", `sidecar.capture.mode: Unsupported value: "ebpf"`},
		{"iptables with the proxy as root is refused", "sidecar:\n  uid: 0\n  capture:\n    mode: iptables\n", "line 2", "sidecar.uid"},
		{"iptables by default with the proxy as root is refused", "sidecar:\n  uid: 0\n", "line 2", "must not run as root"},
		{"cni with the proxy as root is refused", "sidecar:\n  uid: 0\n  capture: {mode: cni}\n", "line 2", "capture mode cni"},
		{"an excluded port out of range is rejected", "sidecar:\n  capture:\n    excludeOutboundPorts: [80, 70000]\n", "line 3", "sidecar.capture.excludeOutboundPorts[1]"},
		{"a CIDR with host bits set is rejected", "sidecar:\n  capture:\n    excludeOutboundCIDRs: [10.1.0.0/8]\n", "line 3", "sidecar.capture.excludeOutboundCIDRs[0]"},
		{"two CIDRs in one entry are rejected", "sidecar:\n  capture:\n    includeOutboundCIDRs: ['10.0.0.0/8,192.0.2.0/24']\n", "line 3", "sidecar.capture.includeOutboundCIDRs[0]"},
		{"a NO_PROXY entry with a comma is rejected", "sidecar:\n  capture:\n    noProxy: ['a.example,b.example']\n", "line 3", "sidecar.capture.noProxy[0]"},
		{"a NO_PROXY entry with shell characters is rejected", "sidecar:\n  capture:\n    noProxy: ['$(reboot)']\n", "line 3", "sidecar.capture.noProxy[0]"},
		{"an empty capture image is rejected", "sidecar:\n  capture:\n    image: ' x'\n", "line 3", "sidecar.capture.image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig([]byte(tt.yaml), "inzone.yaml")
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a ConfigError", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.wantLine+":") || !strings.Contains(msg, tt.wantText) {
				t.Errorf("error does not name %q and %q:\n%s", tt.wantLine, tt.wantText, msg)
			}
		})
	}
	t.Run("proxy-env and none accept any config UID", func(t *testing.T) {
		for _, mode := range []string{"proxy-env", "none"} {
			if _, err := LoadConfig([]byte("sidecar:\n  uid: 0\n  capture: {mode: "+mode+"}\n"), "x"); err != nil {
				t.Errorf("%s: %v", mode, err)
			}
		}
	})
}

func TestCaptureAnnotationsAreRejected(t *testing.T) {
	e := testEngine(t, true)
	tests := []struct{ annotation, value string }{
		{AnnotationCapture, "ebpf"},
		{AnnotationCapture, ""},
		{AnnotationExcludeOutboundPorts, "5432;rm -rf /"},
		{AnnotationExcludeOutboundPorts, "0"},
		{AnnotationExcludeInboundPorts, "http"},
		{AnnotationIncludeInboundPorts, "15006"},
		{AnnotationIncludeInboundPorts, "65536"},
		{AnnotationExcludeOutboundCIDRs, "10.0.0.1/8"},
		{AnnotationExcludeOutboundCIDRs, "metadata.google.internal"},
		{AnnotationIncludeOutboundCIDRs, "10.0.0.0/8\n-A OUTPUT -j ACCEPT"},
		{AnnotationIncludeOutboundCIDRs, strings.Repeat("10.0.0.0/8,", 300)},
	}
	for _, tt := range tests {
		t.Run(tt.annotation+"="+tt.value[:min(len(tt.value), 30)], func(t *testing.T) {
			pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
			pod.Annotations = map[string]string{tt.annotation: tt.value}
			_, err := e.Mutate(pod, Namespace{})
			var ae *AnnotationError
			if !errors.As(err, &ae) || ae.Annotation != tt.annotation {
				t.Fatalf("err = %v, want an AnnotationError naming %s", err, tt.annotation)
			}
		})
	}
}

func initNames(pod *corev1.Pod) []string {
	var n []string
	for _, c := range pod.Spec.InitContainers {
		n = append(n, c.Name)
	}
	return n
}

func TestCaptureInitContainerOrder(t *testing.T) {
	tests := []struct {
		name   string
		native bool
		file   string
		want   []string
	}{
		{"native: capture right before the sidecar, both before the app's init containers", true, "web-all-mutations.yaml", []string{CaptureContainerName, SidecarName, "migrate"}},
		{"native without init containers", true, "capture-exclusions.yaml", []string{CaptureContainerName, SidecarName}},
		{"regular sidecar: capture last, after the app's init containers, which run with no proxy", false, "web-all-mutations.yaml", []string{"migrate", CaptureContainerName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mutated, _ := mutateFile(t, testEngine(t, tt.native), filepath.Join("testdata", "pods", tt.file))
			if got := initNames(mutated); !slices.Equal(got, tt.want) {
				t.Errorf("init containers = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("a pod injected before capture existed is left as it was", func(t *testing.T) {
		e := testEngine(t, true)
		pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
		pod.Annotations = map[string]string{AnnotationCapture: "none"}
		res, err := e.Mutate(pod, Namespace{})
		if err != nil {
			t.Fatal(err)
		}
		before, _ := res.Apply(pod)
		delete(before.Annotations, AnnotationCapture) // now the default, iptables
		again, err := e.Mutate(before, Namespace{})
		if err != nil {
			t.Fatal(err)
		}
		after, _ := again.Apply(before)
		if got := initNames(after); !slices.Equal(got, []string{SidecarName, "migrate"}) || len(again.Patch) != 0 {
			t.Errorf("init containers = %v, patch %v", got, again.Patch)
		}
	})
}

// TestCaptureContainerPrivileges: NET_ADMIN and NET_RAW and nothing else;
// the one container that fails PSS restricted, and only on the checks its
// job needs (capabilities, running as root).
func TestCaptureContainerPrivileges(t *testing.T) {
	mutated, _ := mutateFile(t, testEngine(t, true), filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
	c := mutated.Spec.InitContainers[0]
	sc := c.SecurityContext
	if c.Name != CaptureContainerName || !slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_ADMIN", "NET_RAW"}) ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || *sc.Privileged || *sc.AllowPrivilegeEscalation {
		t.Fatalf("capture container security context: %+v", sc)
	}
	evaluator, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	only := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	only.Spec.InitContainers = []corev1.Container{c}
	only.Spec.Containers = []corev1.Container{{Name: "app", Image: "x", SecurityContext: sidecarOf(t, mutated).SecurityContext}}
	var failed []string
	for _, r := range evaluator.EvaluatePod(psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}, &only.ObjectMeta, &only.Spec) {
		if !r.Allowed {
			failed = append(failed, r.ForbiddenReason)
		}
	}
	slices.Sort(failed)
	want := []string{"runAsNonRoot != true", "runAsUser=0", "unrestricted capabilities"}
	if !slices.Equal(failed, want) {
		t.Errorf("PSS restricted failures = %q, want %q", failed, want)
	}
}

func TestProxyEnv(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sidecar.Capture.NoProxy = []string{"10.0.0.0/8", ".internal.example"}
	cfg.Sidecar.OutboundPort = 16001
	e, err := NewEngine(cfg, Options{NativeSidecarSupported: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range e.ProxyEnv() {
		got[v.Name] = v.Value
	}
	for _, n := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		if got[n] != "http://127.0.0.1:16001" {
			t.Errorf("%s = %q", n, got[n])
		}
	}
	for _, n := range []string{"NO_PROXY", "no_proxy"} {
		if got[n] != "localhost,127.0.0.1,::1,.svc,.cluster.local,10.0.0.0/8,.internal.example" {
			t.Errorf("%s = %q", n, got[n])
		}
	}

	mutated, _ := mutateFile(t, testEngine(t, true), filepath.Join("testdata", "pods", "capture-proxy-env.yaml"))
	for _, c := range append(slices.Clone(mutated.Spec.InitContainers), mutated.Spec.Containers...) {
		if hasEnv(&c, "HTTP_PROXY") != (c.Name != SidecarName) {
			t.Errorf("container %s: HTTP_PROXY set = %v", c.Name, hasEnv(&c, "HTTP_PROXY"))
		}
	}
	for _, v := range mutated.Spec.Containers[0].Env {
		if v.Name == "no_proxy" && v.Value != "internal.example" {
			t.Errorf("the user's no_proxy was replaced: %q", v.Value)
		}
	}
}

func TestPodCaptureMode(t *testing.T) {
	e := testEngine(t, true)
	for _, mode := range captureModes {
		t.Run(string(mode), func(t *testing.T) {
			pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
			pod.Annotations = map[string]string{AnnotationCapture: string(mode)}
			res, err := e.Mutate(pod, Namespace{})
			if err != nil {
				t.Fatal(err)
			}
			mutated, _ := res.Apply(pod)
			if got := PodCaptureMode(mutated); got != mode {
				t.Errorf("PodCaptureMode = %s, want %s", got, mode)
			}
		})
	}
	t.Run("the app's own corporate proxy is not capture", func(t *testing.T) {
		pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
		pod.Spec.Containers[0].Env = append(pod.Spec.Containers[0].Env, corev1.EnvVar{Name: "HTTP_PROXY", Value: "http://proxy.corp.example:3128"})
		if got := PodCaptureMode(pod); got != CaptureNone {
			t.Errorf("PodCaptureMode = %s", got)
		}
	})
}
