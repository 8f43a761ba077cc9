package server

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/translate"
)

// TestTrimKeepsWhatTranslationReads: a pod as the webhook injects it and
// its trimmed copy translate to the same resources; status churn that
// changes nothing served is not a change.
func TestTrimKeepsWhatTranslationReads(t *testing.T) {
	cfg := mutate.DefaultConfig()
	cfg.Sidecar.ControlPlane.Plaintext = true // no CA to hand; what is kept does not depend on it
	engine, err := mutate.NewEngine(cfg, mutate.Options{NativeSidecarSupported: true})
	if err != nil {
		t.Fatal(err)
	}
	in := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"app": "x"},
		Annotations: map[string]string{mutate.AnnotationService: "billing", "big": string(make([]byte, 1<<16))}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app", Env: make([]corev1.EnvVar, 1000)}}}}
	res, err := engine.Mutate(in, mutate.Namespace{Name: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	full, err := res.Apply(in)
	if err != nil {
		t.Fatal(err)
	}
	full.Spec.NodeName = "n1"
	full.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	trimmed, _ := trim(full.DeepCopy())
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{corev1.LabelTopologyZone: "z"}}}
	a := tr.Translate(translate.Input{Sources: []translate.Source{{Pods: []*corev1.Pod{full}, Nodes: []*corev1.Node{node}}}})
	b := tr.Translate(translate.Input{Sources: []translate.Source{{Pods: []*corev1.Pod{trimmed.(*corev1.Pod)}, Nodes: []*corev1.Node{node}}}})
	if len(a.Local) != 1 || a.Local[0].String() != b.Local[0].String() {
		t.Fatalf("trimmed pod translates differently:\n%v\n%v", a.Local, b.Local)
	}
	if a.Local[0].ClusterName != "billing.service.prod.ddsd" {
		t.Errorf("local cluster %s", a.Local[0].ClusterName)
	}
	tp := trimmed.(*corev1.Pod)
	if len(tp.Annotations) != 1 || len(tp.Spec.Containers) != 1 || len(tp.Spec.Containers[0].Env) != 0 {
		t.Errorf("trim kept too much: %d annotations, containers %v", len(tp.Annotations), tp.Spec.Containers)
	}

	churn := full.DeepCopy()
	churn.ResourceVersion = "2"
	churn.Status.Conditions[0].Message = "scheduled again"
	t2, _ := trim(churn)
	if !sameKept(trimmed, t2) {
		t.Error("a status change translation does not read counts as a change")
	}
	unready := churn.DeepCopy()
	unready.Status.Conditions[1].Status = corev1.ConditionFalse
	t3, _ := trim(unready)
	if sameKept(trimmed, t3) {
		t.Error("readiness change not seen")
	}
}
