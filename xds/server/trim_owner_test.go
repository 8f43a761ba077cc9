package server

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/translate"
)

// TestTrimKeepsOwnership: who owns a DDSD name is decided by creation time
// (translate's claim), so trimmed Services and pods must decide it as the
// full objects do: here the newer namespace loses both the Service's name
// and the worker identity, and would win on namespace order alone.
func TestTrimKeepsOwnership(t *testing.T) {
	created := func(year int) metav1.Time { return metav1.NewTime(time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)) }
	svc := func(ns string, year int) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "orders", CreationTimestamp: created(year)},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	}
	pod := func(ns string, year int, ip string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w", CreationTimestamp: created(year), Labels: map[string]string{"app": "worker"}},
			Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app"},
				{Name: mutate.SidecarName, Args: []string{"--log-level", "info", mutate.ServiceClusterFlag, "worker.service.prod.ddsd"}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	}
	full := translate.Source{Name: "c", Nodes: []*corev1.Node{testNode},
		Services: []*corev1.Service{svc("b-old", 2020), svc("a-new", 2025)},
		Pods:     []*corev1.Pod{pod("b-old", 2020, "10.0.0.1"), pod("a-new", 2025, "10.0.0.2")}}
	var trimmed translate.Source
	trimmed.Name, trimmed.Nodes = full.Name, full.Nodes
	for _, s := range full.Services {
		o, _ := trim(s.DeepCopy())
		trimmed.Services = append(trimmed.Services, o.(*corev1.Service))
	}
	for _, p := range full.Pods {
		o, _ := trim(p.DeepCopy())
		trimmed.Pods = append(trimmed.Pods, o.(*corev1.Pod))
	}
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	problems := func(src translate.Source) []string {
		var s []string
		for _, p := range tr.Translate(translate.Input{Sources: []translate.Source{src}}).Problems {
			s = append(s, p.String())
		}
		return s
	}
	want, got := problems(full), problems(trimmed)
	if len(want) != 2 || !slices.Equal(got, want) {
		t.Fatalf("trimmed objects decide otherwise:\n got %q\nwant %q", got, want)
	}
}

// TestTrimBoundsLocalClusterName: of the sidecar's args only its local
// cluster name is kept, cut one byte past the longest DNS name, so a huge
// value costs nothing and still matches no identity.
func TestTrimBoundsLocalClusterName(t *testing.T) {
	huge := strings.Repeat("w", 1<<20)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
		Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: mutate.SidecarName,
			Args: []string{"--config-yaml", huge, mutate.ServiceClusterFlag, huge}}}}}
	o, _ := trim(p)
	got := o.(*corev1.Pod).Spec.Containers
	if len(got) != 1 || len(got[0].Args) != 2 || got[0].Args[0] != mutate.ServiceClusterFlag || len(got[0].Args[1]) != 254 {
		t.Fatalf("kept %d containers, args of %v bytes", len(got), argLens(got))
	}
}

func argLens(cs []corev1.Container) []int {
	var n []int
	for _, c := range cs {
		for _, a := range c.Args {
			n = append(n, len(a))
		}
	}
	return n
}
