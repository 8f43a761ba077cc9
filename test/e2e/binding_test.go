package e2e

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/test/envtest"
)

// TestZoneLabelAtBinding: the INZONE_ZONE fieldRef reads a label the pod
// does not have at admission; the API server's PodTopologyLabels admission
// copies it from the node when the pod is bound.
func TestZoneLabelAtBinding(t *testing.T) {
	env := envtest.For(t)
	ns := namespace(t, true)
	node, err := env.CreateNode(ctx(t), envtest.NodeSpec{Name: ns + "-node", Zone: "us-east-1b"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the harness's node is Ready, untainted and labelled with its zone", func(t *testing.T) {
		got := &corev1.Node{}
		if err := env.Client.Get(ctx(t), client.ObjectKeyFromObject(node), got); err != nil {
			t.Fatal(err)
		}
		ready := false
		for _, c := range got.Status.Conditions {
			ready = ready || c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
		}
		if !ready {
			t.Errorf("node conditions %+v, want Ready", got.Status.Conditions)
		}
		if len(got.Spec.Taints) != 0 {
			t.Errorf("node taints %+v, want none", got.Spec.Taints)
		}
		if got.Labels[corev1.LabelTopologyZone] != "us-east-1b" || got.Labels[corev1.LabelTopologyRegion] != "us-east-1" || got.Labels[corev1.LabelHostname] != node.Name {
			t.Errorf("node labels %v", got.Labels)
		}
		if got.Status.Allocatable.Pods().Value() == 0 || got.Status.Allocatable.Cpu().IsZero() {
			t.Errorf("node allocatable %v", got.Status.Allocatable)
		}
	})

	t.Run("a bound pod gets the zone label its INZONE_ZONE env var reads", func(t *testing.T) {
		pod, _ := create(t, webPod(t, ns, "bound"))
		checkMutations(t, pod, all)
		if _, ok := pod.Labels[zoneLabel]; ok {
			t.Fatalf("the pod has %s before binding: %v", zoneLabel, pod.Labels)
		}
		binding := &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pod.Name},
			Target:     corev1.ObjectReference{Kind: "Node", Name: node.Name},
		}
		if err := env.Client.SubResource("binding").Create(ctx(t), pod, binding); err != nil {
			t.Fatalf("binding the pod: %v", err)
		}
		bound := &corev1.Pod{}
		if err := env.Client.Get(ctx(t), client.ObjectKeyFromObject(pod), bound); err != nil {
			t.Fatal(err)
		}
		if bound.Spec.NodeName != node.Name || bound.Labels[zoneLabel] != "us-east-1b" {
			t.Errorf("bound pod: nodeName %q, labels %v; want %s and %s=us-east-1b", bound.Spec.NodeName, bound.Labels, node.Name, zoneLabel)
		}
	})
}
