// Package hostile runs attacks on the inzone webhook against a real
// kube-apiserver (controller-runtime envtest) and the built webhook binary:
// command injection through a Service annotation, escalation through the
// webhook's own ServiceAccount, memory and slow-client exhaustion, and a
// start with the API server down. Each test asserts what the attack must not
// achieve.
package hostile

import (
	"context"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
)

func TestMain(m *testing.M) {
	os.Exit(envtest.Main(m, envtest.Options{}, func(env *envtest.Env) error {
		native := true
		return env.StartWebhook(envtest.WebhookOptions{Config: testConfig(), NativeSidecar: &native})
	}))
}

// testConfig is the default config with env prod: Services are discovered.
// The DDSD domain is said to resolve elsewhere, so ELB hostnames are
// rewritten, and the sidecars reach the control plane in plaintext, as no
// CA is at hand here.
func testConfig() *mutate.Config {
	c := &mutate.Config{DDSD: mutate.DDSDConfig{Env: "prod", DNS: mutate.DDSDResolverExternal}}
	c.Sidecar.ControlPlane.Plaintext = true
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func namespace(t testing.TB, prefix string, inject bool) string {
	t.Helper()
	ns, err := envtest.For(t).CreateNamespace(ctx(t), prefix, inject)
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// loadBalancer creates a LoadBalancer Service and sets its status hostname,
// as the cloud's controller would.
func loadBalancer(t testing.TB, ns, name, hostname string, annotations map[string]string) {
	t.Helper()
	env := envtest.For(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	if err := env.Client.Create(ctx(t), svc); err != nil {
		t.Fatalf("creating Service %s/%s: %v", ns, name, err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: hostname}}
	if err := env.Client.Status().Update(ctx(t), svc); err != nil {
		t.Fatalf("setting Service %s/%s's load balancer status: %v", ns, name, err)
	}
}

// shellPod is a pod whose command calls url through sh -c.
func shellPod(ns, name, url string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:    "app",
			Image:   "registry.example.com/shop/app:1.0",
			Command: []string{"sh", "-c", "curl -s " + url + " > /tmp/out"},
			Env:     []corev1.EnvVar{{Name: "BACKEND", Value: url}},
		}}},
	}
}
