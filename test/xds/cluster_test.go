package xds

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
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
	engine, err := mutate.NewEngine(testConfig(), mutate.Options{NativeSidecarSupported: true})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app}},
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

// syncSlice plays the EndpointSlice controller for one Service: one IPv4
// slice of the pods its selector selects, ready per the pods' Ready
// condition, zone and node from the pod's binding. It is the one place the
// tests build slices, to be replaced by kube-controller-manager's
// controller.
func syncSlice(t *testing.T, env *envtest.Env, svc *corev1.Service) {
	t.Helper()
	c := ctx(t)
	pods := &corev1.PodList{}
	if err := env.Client.List(c, pods, client.InNamespace(svc.Namespace), client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(svc.Spec.Selector)}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(pods.Items, func(a, b corev1.Pod) int { return cmp.Compare(a.Name, b.Name) })
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc.Name + "-test", Namespace: svc.Namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: "inzone-test"}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, sp := range svc.Spec.Ports {
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: ptr.To(sp.Name), Port: ptr.To(sp.TargetPort.IntVal), Protocol: ptr.To(corev1.ProtocolTCP)})
	}
	for _, p := range pods.Items {
		if p.Status.PodIP == "" || p.DeletionTimestamp != nil {
			continue
		}
		ready := false
		for _, cond := range p.Status.Conditions {
			ready = ready || cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue
		}
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{p.Status.PodIP},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready), Serving: ptr.To(ready), Terminating: ptr.To(false)},
			NodeName:   ptr.To(p.Spec.NodeName),
			Zone:       ptr.To(p.Labels[corev1.LabelTopologyZone]),
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name},
		})
	}
	existing := &discoveryv1.EndpointSlice{}
	err := env.Client.Get(c, client.ObjectKeyFromObject(slice), existing)
	switch {
	case apierrors.IsNotFound(err):
		err = env.Client.Create(c, slice)
	case err == nil:
		slice.ResourceVersion = existing.ResourceVersion
		err = env.Client.Update(c, slice)
	}
	if err != nil {
		t.Fatalf("slice of %s: %v", svc.Name, err)
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
