package xds

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
)

// injectedPod creates a pod as the webhook would have mutated it (the
// engine's own patch), binds it to node through pods/binding (the API
// server then copies the node's zone label onto it), and plays the kubelet:
// Running, Ready as asked, with ip.
func injectedPod(t *testing.T, env *envtest.Env, ns, name, app, node, ip string, ready bool) *corev1.Pod {
	t.Helper()
	return annotatedPod(t, env, ns, name, app, node, ip, ready, nil)
}

// annotatedPod is injectedPod with annotations on the pod as created.
func annotatedPod(t *testing.T, env *envtest.Env, ns, name, app, node, ip string, ready bool, annotations map[string]string) *corev1.Pod {
	t.Helper()
	engine, err := mutate.NewEngine(testConfig(), mutate.Options{NativeSidecarSupported: true})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app}, Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
	res, err := engine.Mutate(pod, mutate.Namespace{Name: ns})
	if err != nil {
		t.Fatal(err)
	}
	if pod, err = res.Apply(pod); err != nil {
		t.Fatal(err)
	}
	if !mutate.HasSidecar(pod) {
		t.Fatalf("pod %s: no sidecar injected: %+v", name, res.Skips)
	}
	if err := env.Client.Create(ctx(t), pod); err != nil {
		t.Fatal(err)
	}
	binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}
	if err := env.Client.SubResource("binding").Create(ctx(t), pod, binding); err != nil {
		t.Fatalf("binding %s: %v", name, err)
	}
	if err := env.Client.Get(ctx(t), client.ObjectKeyFromObject(pod), pod); err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = ip
	pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	setReady(pod, ready)
	if err := env.Client.Status().Update(ctx(t), pod); err != nil {
		t.Fatal(err)
	}
	return pod
}

func setReady(pod *corev1.Pod, ready bool) {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
}

// markReady changes a pod's Ready condition, as the kubelet would.
func markReady(t *testing.T, env *envtest.Env, pod *corev1.Pod, ready bool) {
	t.Helper()
	got := &corev1.Pod{}
	if err := env.Client.Get(ctx(t), client.ObjectKeyFromObject(pod), got); err != nil {
		t.Fatal(err)
	}
	setReady(got, ready)
	if err := env.Client.Status().Update(ctx(t), got); err != nil {
		t.Fatal(err)
	}
}

// deletePod deletes a pod at once (no kubelet runs to finish it).
func deletePod(t *testing.T, env *envtest.Env, pod *corev1.Pod) {
	t.Helper()
	if err := env.Client.Delete(ctx(t), pod, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
}

// nodes creates the zoned nodes of a test; names are prefixed so tests do
// not collide.
func nodes(t *testing.T, env *envtest.Env, prefix string, zones map[string]string) {
	t.Helper()
	for name, zone := range zones {
		if _, err := env.CreateNode(context.Background(), envtest.NodeSpec{Name: prefix + name, Zone: zone}); err != nil {
			t.Fatal(err)
		}
	}
}

func podIP(i int) string { return fmt.Sprintf("10.244.%d.%d", i/200, i%200+10) }
