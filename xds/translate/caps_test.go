package translate

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// zonedHosts is a hostSet with count[z] healthy hosts in zone z, and
// draining[z] draining ones after them.
func zonedHosts(count, draining map[string]int) hostSet {
	hs := hostSet{}
	i := 0
	add := func(z string, n int, d bool) {
		for range n {
			i++
			hs[hostKey{netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 80}] = host{loc: locality{zone: z}, draining: d}
		}
	}
	for _, z := range []string{"a", "b", "c", ""} {
		add(z, count[z], false)
		add(z, draining[z], true)
	}
	return hs
}

func TestCapHosts(t *testing.T) {
	tests := []struct {
		name         string
		count, drain map[string]int
		limit        int
		want         map[string]int // kept per zone
		wantDrain    int            // draining kept
	}{
		{"under the limit: all kept", map[string]int{"a": 3, "b": 2}, nil, 5, map[string]int{"a": 3, "b": 2}, 0},
		{"each zone keeps its share", map[string]int{"a": 600, "b": 300, "c": 100}, nil, 100, map[string]int{"a": 60, "b": 30, "c": 10}, 0},
		{"the remainder goes to the largest fractions", map[string]int{"a": 5, "b": 5, "c": 5}, nil, 10, map[string]int{"a": 4, "b": 3, "c": 3}, 0},
		{"a zone of one host keeps it when its share ties for the last place", map[string]int{"a": 999, "": 1}, nil, 500, map[string]int{"a": 499, "": 1}, 0},
		{"healthy before draining within a zone", map[string]int{"a": 4}, map[string]int{"a": 4}, 4, map[string]int{"a": 4}, 0},
		{"draining kept when there is room", map[string]int{"a": 2}, map[string]int{"a": 6}, 4, map[string]int{"a": 4}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := zonedHosts(tt.count, tt.drain)
			kept, cut := capHosts(hs, tt.limit)
			if len(kept) != min(len(hs), tt.limit) || cut != len(hs)-len(kept) {
				t.Fatalf("kept %d, cut %d of %d, limit %d", len(kept), cut, len(hs), tt.limit)
			}
			got, drain := map[string]int{}, 0
			for k, h := range kept {
				if hs[k] != h {
					t.Fatalf("%v changed", k)
				}
				got[h.loc.zone]++
				if h.draining {
					drain++
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || drain != tt.wantDrain {
				t.Errorf("kept %v (%d draining), want %v (%d)", got, drain, tt.want, tt.wantDrain)
			}
			again, _ := capHosts(hs, tt.limit)
			if fmt.Sprint(again) != fmt.Sprint(kept) {
				t.Error("not the same hosts on a second run")
			}
		})
	}
}

func TestCapAddrs(t *testing.T) {
	s := addrSet{}
	for _, a := range []string{"10.0.0.3", "::1", "10.0.0.1", "10.0.0.2"} {
		s[netip.MustParseAddr(a)] = struct{}{}
	}
	kept, cut := capAddrs(s, 2)
	if cut != 2 || fmt.Sprint(kept.sorted()) != "[10.0.0.1 10.0.0.2]" {
		t.Errorf("kept %v, cut %d", kept.sorted(), cut)
	}
	if kept, cut := capAddrs(s, 4); cut != 0 || len(kept) != 4 {
		t.Errorf("at the limit: kept %d, cut %d", len(kept), cut)
	}
}

// portsService has n TCP ports 1..n and a slice of one endpoint on each.
func portsService(n int) Source {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "many", Namespace: "ns"}}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "many-1", Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: "many"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Zone: ptr.To("a")}},
	}
	for p := n; p >= 1; p-- {
		name := fmt.Sprintf("p%d", p)
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: name, Port: int32(p)})
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: ptr.To(name), Port: ptr.To(int32(1000 + p))})
	}
	return Source{Name: "c", Services: []*corev1.Service{svc}, EndpointSlices: []*discoveryv1.EndpointSlice{slice}}
}

// TestServiceBounds: a Service at a bound is served whole; over it, what is
// cut is a problem and the rest is served.
func TestServiceBounds(t *testing.T) {
	tr := testTranslator(t)
	const name = "many.service.prod.ddsd"
	tests := []struct {
		name        string
		src         Source
		cluster     string
		wantPorts   int
		wantHosts   int
		wantProblem string
	}{
		{"64 ports: all served", portsService(MaxServicePorts), name, MaxServicePorts, 1, ""},
		{"65 ports: the highest is not", portsService(MaxServicePorts + 1), name, MaxServicePorts, 1, "1 of its 65 TCP ports not served, from port 65 up"},
		{"every port number, highest first: the lowest 64", portsService(65535), name, MaxServicePorts, 1, "65471 of its 65535 TCP ports not served, from port 65 up"},
		{"10,000 endpoints: all served", bigService(MaxEndpointsPerPort, []string{"a", "b", "c"}), "big.service.prod.ddsd", 1, MaxEndpointsPerPort, ""},
		{"10,001 endpoints: one is not", bigService(MaxEndpointsPerPort+1, []string{"a", "b", "c"}), "big.service.prod.ddsd", 1, MaxEndpointsPerPort, "port 80: 1 of its 10001 endpoints not served"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tr.Translate(Input{Sources: []Source{tt.src}})
			if err := out.Validate(); err != nil {
				t.Fatal(err)
			}
			var ports []string
			hosts := 0
			for _, cla := range out.Endpoints {
				if strings.HasPrefix(cla.ClusterName, tt.cluster+":") {
					ports = append(ports, cla.ClusterName)
					for _, l := range cla.Endpoints {
						hosts += len(l.LbEndpoints)
					}
				}
			}
			if len(ports) != tt.wantPorts || slices.Contains(ports, ClusterName(tt.cluster, MaxServicePorts+1)) {
				t.Errorf("%d port clusters, want %d", len(ports), tt.wantPorts)
			}
			if hosts != tt.wantHosts*tt.wantPorts {
				t.Errorf("%d endpoints over its ports, want %d", hosts, tt.wantHosts*tt.wantPorts)
			}
			var problems []string
			for _, p := range out.Problems {
				problems = append(problems, p.Message)
			}
			if tt.wantProblem == "" && len(problems) > 0 || tt.wantProblem != "" && (len(problems) != 1 || !strings.Contains(problems[0], tt.wantProblem)) {
				t.Errorf("problems %q, want %q", problems, tt.wantProblem)
			}
		})
	}
}
