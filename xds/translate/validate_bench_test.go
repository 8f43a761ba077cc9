package translate

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// manyServices is n Services of one port, each with 5 ready endpoints over
// three zones: the benchmark's 1,000-Service cluster.
func manyServices(n int) Source {
	src := Source{Name: "many"}
	zones := []string{"a", "b", "c"}
	for i := range n {
		name := fmt.Sprintf("svc-%d", i)
		src.Services = append(src.Services, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		})
		s := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
		}
		for j := range 5 {
			k := i*5 + j
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
				Addresses:  []string{fmt.Sprintf("10.%d.%d.%d", k>>16&255, k>>8&255, k&255)},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				Zone:       ptr.To(zones[k%3]),
			})
		}
		src.EndpointSlices = append(src.EndpointSlices, s)
	}
	return src
}

// BenchmarkValidate validates the resources of 1,000 Services: "deep" is
// Output.Validate (ValidateAll inside every Any too), "shallow" ValidateAll
// on each resource alone, what Validate did before it looked into Anys.
func BenchmarkValidate(b *testing.B) {
	out := testTranslator(b).Translate(Input{Sources: []Source{manyServices(1000)}})
	b.Run("deep", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := out.Validate(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("shallow", func(b *testing.B) {
		type validator interface{ ValidateAll() error }
		var all []validator
		for _, c := range out.Clusters {
			all = append(all, c)
		}
		for _, e := range out.Endpoints {
			all = append(all, e)
		}
		for _, l := range out.Listeners {
			all = append(all, l)
		}
		for _, l := range out.APIListeners {
			all = append(all, l)
		}
		for _, r := range out.Routes {
			all = append(all, r)
		}
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range all {
				if err := v.ValidateAll(); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
