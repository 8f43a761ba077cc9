package translate

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"

	"github.com/inzone-io/inzone/mutate"
)

// bigService is one Service whose endpoints, spread round-robin over
// zones, fill slices of 1,000 (the API's maximum per slice).
func bigService(n int, zones []string) Source {
	src := Source{Name: "big", Nodes: testNodes, Services: []*corev1.Service{{
		ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: "ns"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}}}
	for i := 0; i < n; i += 1000 {
		s := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: fmt.Sprintf("big-%d", i/1000), Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: "big"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
		}
		for j := i; j < min(n, i+1000); j++ {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
				Addresses:  []string{fmt.Sprintf("10.%d.%d.%d", j>>16&255, j>>8&255, j&255)},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				Zone:       ptr.To(zones[j%len(zones)]),
			})
		}
		src.EndpointSlices = append(src.EndpointSlices, s)
	}
	return src
}

func TestTenThousandEndpointsInOneService(t *testing.T) {
	tr := testTranslator(t)
	zones := []string{"a", "b", "c"}
	out := tr.Translate(Input{Sources: []Source{bigService(10000, zones)}})
	if err := out.Validate(); err != nil {
		t.Fatal(err)
	}
	var cla = out.Endpoints[0]
	if cla.ClusterName != "big.service.prod.ddsd:80" {
		t.Fatalf("first resource %s", cla.ClusterName)
	}
	want := map[string]int{"a": 3334, "b": 3333, "c": 3333}
	for _, l := range cla.Endpoints {
		if got := len(l.LbEndpoints); got != want[l.Locality.Zone] {
			t.Errorf("zone %s: %d endpoints, want %d", l.Locality.Zone, got, want[l.Locality.Zone])
		}
		delete(want, l.Locality.Zone)
	}
	if len(want) > 0 {
		t.Errorf("zones missing: %v", want)
	}
	if addrs, ok := out.LookupDDSD("BIG.service.prod.ddsd."); !ok || len(addrs) != 10000 {
		t.Errorf("DNS: %d addresses, served %v", len(addrs), ok)
	}
}

// TestDeterministic: the same objects in any order give the same bytes,
// so versions (hashes of the content) only change when the content does.
func TestDeterministic(t *testing.T) {
	tr := testTranslator(t)
	src := loadSource(t, "testdata/cases/basic/main.yaml")
	want := render(t, tr.Translate(Input{Sources: []Source{src}}))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		s := src
		s.Pods, s.Services, s.EndpointSlices, s.Nodes = slices.Clone(s.Pods), slices.Clone(s.Services), slices.Clone(s.EndpointSlices), slices.Clone(s.Nodes)
		r.Shuffle(len(s.Pods), func(i, j int) { s.Pods[i], s.Pods[j] = s.Pods[j], s.Pods[i] })
		r.Shuffle(len(s.EndpointSlices), func(i, j int) { s.EndpointSlices[i], s.EndpointSlices[j] = s.EndpointSlices[j], s.EndpointSlices[i] })
		r.Shuffle(len(s.Services), func(i, j int) { s.Services[i], s.Services[j] = s.Services[j], s.Services[i] })
		if got := render(t, tr.Translate(Input{Sources: []Source{s}})); !bytes.Equal(got, want) {
			t.Fatalf("shuffle %d changed the output", i)
		}
	}
}

// TestLocalClusterIsTheWebhooks injects pods with the webhook's engine and
// checks that the name in each sidecar's --service-cluster (the bootstrap's
// local_cluster_name) is an EDS resource served, with the pod in it.
func TestLocalClusterIsTheWebhooks(t *testing.T) {
	tr := testTranslator(t)
	// The webhook's engine as the chart runs it, but without a CA to hand:
	// the local cluster's name does not depend on how the sidecar reaches
	// the control plane.
	cfg := *tr.cfg
	cfg.Sidecar.ControlPlane.Plaintext = true
	engine, err := mutate.NewEngine(&cfg, mutate.Options{NativeSidecarSupported: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
	}{
		{"first identifying label", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p1", Namespace: "shop", Labels: map[string]string{"app.kubernetes.io/name": "Cart"}}}},
		{"service annotation", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p2", Namespace: "shop", Labels: map[string]string{"app": "x"}, Annotations: map[string]string{mutate.AnnotationService: "billing"}}}},
		{"fallback label", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p3", Namespace: "ops", Labels: map[string]string{"app": "worker"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.pod.Spec.Containers = []corev1.Container{{Name: "app", Image: "app"}}
			res, err := engine.Mutate(tt.pod, mutate.Namespace{Name: tt.pod.Namespace})
			if err != nil {
				t.Fatal(err)
			}
			pod, err := res.Apply(tt.pod)
			if err != nil {
				t.Fatal(err)
			}
			pod.Spec.NodeName = testNode
			pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.9.9.9",
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
			var local string
			for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
				if c.Name == mutate.SidecarName {
					i := slices.Index(c.Args, "--service-cluster")
					local = c.Args[i+1]
				}
			}
			if local == "" {
				t.Fatal("no sidecar injected")
			}
			out := tr.Translate(Input{Sources: []Source{{Name: "c", Nodes: testNodes, Pods: []*corev1.Pod{pod}}}})
			i := slices.IndexFunc(out.Local, func(e *endpointv3.ClusterLoadAssignment) bool { return e.ClusterName == local })
			if i < 0 {
				t.Fatalf("local cluster %s not served; served %v", local, names(out))
			}
			if got := out.Local[i].Endpoints[0].LbEndpoints[0].GetEndpoint().Address.GetSocketAddress().Address; got != "10.9.9.9" {
				t.Errorf("local cluster %s holds %s", local, got)
			}
		})
	}
}

func names(out *Output) string {
	var s []string
	for _, e := range out.Local {
		s = append(s, e.ClusterName)
	}
	return strings.Join(s, ", ")
}
