package server

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/translate"
)

// benchSource is BenchmarkXDS's state (test/xds) without the API server:
// services headless Services of 5 endpoints over three zones, and
// identities injected pods, identity k declaring the 10 Services from
// k*10.
func benchSource(services, identities int) *static {
	src := translate.Source{Name: "bench"}
	zones := []string{"z1", "z2", "z3"}
	for i := range services {
		name := fmt.Sprintf("svc-%04d", i)
		src.Services = append(src.Services, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
			Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}})
		s := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
		}
		for j := range 5 {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.%d.%d.%d", 1+i/250, i%250, j+1)},
				Zone: ptr.To(zones[j%3]), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
		}
		src.EndpointSlices = append(src.EndpointSlices, s)
	}
	for k := range identities {
		p := pod(fmt.Sprintf("caller-%d", k), fmt.Sprintf("caller-%d", k), fmt.Sprintf("10.200.%d.%d", k/250, k%250+1))
		calls := make([]string, 10)
		for j := range calls {
			calls[j] = fmt.Sprintf("svc-%04d", (k*10+j)%services)
		}
		p.Annotations = map[string]string{mutate.AnnotationCalls: strings.Join(calls, ",")}
		src.Pods = append(src.Pods, p)
	}
	src.Nodes = append(src.Nodes, testNode)
	return &static{src}
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkBuild is one build (translation, validation, publication) of
// BenchmarkXDS's state, 1,000 Services: "first" into empty caches,
// "unchanged" again with nothing changed, "one-endpoint" with one
// endpoint changed. B/op is the garbage a build makes (the collector's
// heap goal follows it); held-MB is what the Server keeps after its
// first build (its translation and caches, no stream connected), and
// held-rebuilt-MB after a second build of the same state.
func BenchmarkBuild(b *testing.B) {
	ctx := context.Background()
	r := benchSource(1000, 100)
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		var held, again uint64
		for range b.N {
			before := heapInUse()
			s := newTestServer(b)
			s.build(ctx, []Reader{r})
			held = heapInUse() - before
			s.build(ctx, []Reader{r})
			again = heapInUse() - before
			runtime.KeepAlive(s)
		}
		b.ReportMetric(float64(held)/(1<<20), "held-MB")
		b.ReportMetric(float64(again)/(1<<20), "held-rebuilt-MB")
	})
	b.Run("unchanged", func(b *testing.B) {
		s := newTestServer(b)
		s.build(ctx, []Reader{r})
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			s.build(ctx, []Reader{r})
		}
	})
	b.Run("one-endpoint", func(b *testing.B) {
		s := newTestServer(b)
		s.build(ctx, []Reader{r})
		ep := &r.src.EndpointSlices[0].Endpoints[0]
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			ep.Addresses = []string{fmt.Sprintf("10.99.%d.%d", i/250%250, i%250+1)}
			s.build(ctx, []Reader{r})
		}
	})
}
