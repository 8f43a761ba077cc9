package translate

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"

	"github.com/inzone-io/inzone/elb"
	"github.com/inzone-io/inzone/mutate"
)

func at(year int) metav1.Time { return metav1.NewTime(time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)) }

// tenantService is a Service on port 80 created at year; ddsd, when set, is
// its inzone.io/ddsd-name.
func tenantService(ns, name string, year int, ddsd string) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: at(year)},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	if ddsd != "" {
		s.Annotations = map[string]string{elb.AnnotationDDSDName: ddsd}
	}
	return s
}

// tenantSlice is a slice of the Service ns/svc with one ready endpoint.
func tenantSlice(ns, svc, addr string) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: svc + "-" + addr, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{addr}, Zone: ptr.To("a"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
}

// testNodes is the node the test pods run on (testNode).
var testNodes = []*corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: testNode}}}

const testNode = "node-a"

// injectedPod is a ready pod with app: identity and the sidecar the webhook
// gives it, on testNode.
func injectedPod(ns, name string, year int, identity, ip string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: at(year), Labels: map[string]string{"app": identity}},
		Spec: corev1.PodSpec{NodeName: testNode, Containers: []corev1.Container{{Name: "app"},
			{Name: mutate.SidecarName, Args: []string{mutate.ServiceClusterFlag, strings.ToLower(identity) + ".service.prod.ddsd"}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

// servedAddrs is what a cluster (or local cluster) serves, sorted.
func servedAddrs(out *Output, name string) []string {
	var got []string
	for _, cla := range slices.Concat(out.Endpoints, out.Local) {
		if cla.ClusterName != name {
			continue
		}
		for _, l := range cla.Endpoints {
			for _, e := range l.LbEndpoints {
				got = append(got, e.GetEndpoint().GetAddress().GetSocketAddress().GetAddress())
			}
		}
	}
	slices.Sort(got)
	return got
}

func dnsStrings(out *Output, name string) []string {
	var got []string
	addrs, _ := out.LookupDDSD(name)
	for _, a := range addrs {
		got = append(got, a.String())
	}
	return got
}

// TestServiceOwnsDDSDName: within one cluster the oldest Service claiming a
// DDSD name is served under it, in whatever order the objects come; the
// others are problems naming the owner.
func TestServiceOwnsDDSDName(t *testing.T) {
	const orders = "orders.service.prod.ddsd"
	tests := []struct {
		name     string
		services []*corev1.Service
		slices   []*discoveryv1.EndpointSlice
		want     []string // served on orders:80 and in its DNS answer
		lost     []string // "namespace/name" of the Services reported
	}{
		{
			name:     "a newer Service of the same name in another namespace is not served",
			services: []*corev1.Service{tenantService("shop", "orders", 2024, ""), tenantService("evil", "orders", 2025, "")},
			slices:   []*discoveryv1.EndpointSlice{tenantSlice("shop", "orders", "10.0.0.1"), tenantSlice("evil", "orders", "169.254.169.254")},
			want:     []string{"10.0.0.1"},
			lost:     []string{"evil/orders"},
		},
		{
			name:     "a newer Service cannot take the name with inzone.io/ddsd-name",
			services: []*corev1.Service{tenantService("shop", "orders", 2024, ""), tenantService("evil", "x", 2025, "orders")},
			slices:   []*discoveryv1.EndpointSlice{tenantSlice("shop", "orders", "10.0.0.1"), tenantSlice("evil", "x", "169.254.169.254")},
			want:     []string{"10.0.0.1"},
			lost:     []string{"evil/x"},
		},
		{
			name:     "an older Service wins even if it claims by annotation",
			services: []*corev1.Service{tenantService("shop", "orders-v1", 2023, "orders"), tenantService("shop", "orders", 2024, "")},
			slices:   []*discoveryv1.EndpointSlice{tenantSlice("shop", "orders-v1", "10.0.0.1"), tenantSlice("shop", "orders", "10.0.0.2")},
			want:     []string{"10.0.0.1"},
			lost:     []string{"shop/orders"},
		},
		{
			name:     "created in the same second: the first namespace wins",
			services: []*corev1.Service{tenantService("zeta", "orders", 2024, ""), tenantService("alpha", "orders", 2024, "")},
			slices:   []*discoveryv1.EndpointSlice{tenantSlice("zeta", "orders", "10.0.0.26"), tenantSlice("alpha", "orders", "10.0.0.1")},
			want:     []string{"10.0.0.1"},
			lost:     []string{"zeta/orders"},
		},
		{
			name:     "a slice in another namespace naming the owner counts for nothing",
			services: []*corev1.Service{tenantService("shop", "orders", 2024, "")},
			slices:   []*discoveryv1.EndpointSlice{tenantSlice("shop", "orders", "10.0.0.1"), tenantSlice("evil", "orders", "169.254.169.254")},
			want:     []string{"10.0.0.1"},
		},
		{
			name:     "with the owner deleted, the next oldest Service is served",
			services: []*corev1.Service{tenantService("evil", "orders", 2025, "")},
			slices:   []*discoveryv1.EndpointSlice{tenantSlice("shop", "orders", "10.0.0.1"), tenantSlice("evil", "orders", "169.254.169.254")},
			want:     []string{"169.254.169.254"},
		},
	}
	tr := testTranslator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, reverse := range []bool{false, true} {
				src := Source{Name: "c", Nodes: testNodes, Services: slices.Clone(tt.services), EndpointSlices: slices.Clone(tt.slices)}
				if reverse {
					slices.Reverse(src.Services)
					slices.Reverse(src.EndpointSlices)
				}
				out := tr.Translate(Input{Sources: []Source{src}})
				if got := servedAddrs(out, ClusterName(orders, 80)); !slices.Equal(got, tt.want) {
					t.Errorf("reverse=%v: served %v, want %v", reverse, got, tt.want)
				}
				if got := dnsStrings(out, orders); !slices.Equal(got, tt.want) {
					t.Errorf("reverse=%v: DNS %v, want %v", reverse, got, tt.want)
				}
				var lost []string
				for _, p := range out.Problems {
					if p.Kind == "Service" && strings.Contains(p.Message, "belongs to Service") {
						lost = append(lost, p.Namespace+"/"+p.Name)
					}
				}
				if !slices.Equal(lost, tt.lost) {
					t.Errorf("reverse=%v: reported %v, want %v (problems %v)", reverse, lost, tt.lost, out.Problems)
				}
			}
		})
	}
}

// TestNamespacedTemplateHasNoConflict: with {namespace} in the template the
// same Service name in two namespaces is two DDSD names, both served.
func TestNamespacedTemplateHasNoConflict(t *testing.T) {
	cfg, err := mutate.LoadConfig([]byte("ddsd: {env: prod, nameTemplate: \"{service}.{namespace}.service.{env}.ddsd\"}\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := tr.Translate(Input{Sources: []Source{{Name: "c",
		Services:       []*corev1.Service{tenantService("shop", "orders", 2024, ""), tenantService("evil", "orders", 2025, "")},
		EndpointSlices: []*discoveryv1.EndpointSlice{tenantSlice("shop", "orders", "10.0.0.1"), tenantSlice("evil", "orders", "10.0.0.2")},
	}}})
	if len(out.Problems) > 0 {
		t.Errorf("problems: %v", out.Problems)
	}
	for name, want := range map[string]string{"orders.shop.service.prod.ddsd:80": "10.0.0.1", "orders.evil.service.prod.ddsd:80": "10.0.0.2"} {
		if got := servedAddrs(out, name); !slices.Equal(got, []string{want}) {
			t.Errorf("%s serves %v, want %s", name, got, want)
		}
	}
}

// TestIdentityMembers: an identity's local cluster and DNS answer hold the
// pods of the namespace that owns its name in their cluster: that of the
// oldest claim, a Service's or an injected pod's.
func TestIdentityMembers(t *testing.T) {
	const orders, worker = "orders.service.prod.ddsd", "worker.service.prod.ddsd"
	tests := []struct {
		name     string
		services []*corev1.Service
		pods     []*corev1.Pod
		identity string
		want     []string // local cluster members
		wantDNS  []string
		outsider []string // "namespace/first pod" reported
	}{
		{
			name:     "a pod imitating an identity in another namespace is not counted",
			services: []*corev1.Service{tenantService("shop", "orders", 2024, "")},
			pods:     []*corev1.Pod{injectedPod("shop", "o1", 2025, "orders", "10.0.0.1"), injectedPod("evil", "fake", 2025, "orders", "10.6.6.6")},
			identity: orders, want: []string{"10.0.0.1"},
			outsider: []string{"evil/fake"},
		},
		{
			name:     "an imitation older than the owner's pods but newer than its Service loses to the Service's namespace",
			services: []*corev1.Service{tenantService("shop", "orders", 2024, "")},
			pods:     []*corev1.Pod{injectedPod("shop", "o1", 2026, "orders", "10.0.0.1"), injectedPod("evil", "fake", 2025, "orders", "10.6.6.6")},
			identity: orders, want: []string{"10.0.0.1"},
			outsider: []string{"evil/fake"},
		},
		{
			name:     "the owner Service's namespace has no such pods: the local cluster is served empty",
			services: []*corev1.Service{tenantService("shop", "orders", 2024, "")},
			pods:     []*corev1.Pod{injectedPod("evil", "fake-2", 2025, "orders", "10.6.6.7"), injectedPod("evil", "fake-1", 2025, "orders", "10.6.6.6")},
			identity: orders, want: nil,
			outsider: []string{"evil/fake-1"},
		},
		{
			name:     "no Service: the namespace of the oldest pod owns the identity",
			pods:     []*corev1.Pod{injectedPod("evil", "fake", 2025, "worker", "10.6.6.6"), injectedPod("jobs", "w2", 2026, "worker", "10.0.0.2"), injectedPod("jobs", "w1", 2024, "worker", "10.0.0.1")},
			identity: worker, want: []string{"10.0.0.1", "10.0.0.2"}, wantDNS: []string{"10.0.0.1", "10.0.0.2"},
			outsider: []string{"evil/fake"},
		},
		{
			name:     "no Service: once every pod of the owner is newer than an imitation, the imitation's namespace owns it",
			pods:     []*corev1.Pod{injectedPod("evil", "fake", 2023, "worker", "10.6.6.6"), injectedPod("jobs", "w1", 2024, "worker", "10.0.0.1")},
			identity: worker, want: []string{"10.6.6.6"}, wantDNS: []string{"10.6.6.6"},
			outsider: []string{"jobs/w1"},
		},
		{
			name:     "pods of one namespace are all counted",
			pods:     []*corev1.Pod{injectedPod("jobs", "w1", 2024, "worker", "10.0.0.1"), injectedPod("jobs", "w2", 2024, "worker", "10.0.0.2")},
			identity: worker, want: []string{"10.0.0.1", "10.0.0.2"}, wantDNS: []string{"10.0.0.1", "10.0.0.2"},
		},
	}
	tr := testTranslator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, reverse := range []bool{false, true} {
				src := Source{Name: "c", Nodes: testNodes, Services: tt.services, Pods: slices.Clone(tt.pods)}
				if reverse {
					slices.Reverse(src.Pods)
				}
				out := tr.Translate(Input{Sources: []Source{src}})
				if !slices.ContainsFunc(out.Local, func(e *endpointv3.ClusterLoadAssignment) bool { return e.ClusterName == tt.identity }) {
					t.Fatalf("reverse=%v: no local cluster %s", reverse, tt.identity)
				}
				if got := servedAddrs(out, tt.identity); !slices.Equal(got, tt.want) {
					t.Errorf("reverse=%v: local cluster %v, want %v", reverse, got, tt.want)
				}
				if got := dnsStrings(out, tt.identity); tt.services == nil && !slices.Equal(got, tt.wantDNS) {
					t.Errorf("reverse=%v: DNS %v, want %v", reverse, got, tt.wantDNS)
				}
				var outsiders []string
				for _, p := range out.Problems {
					if p.Kind == "Pod" && strings.Contains(p.Message, "not counted") {
						outsiders = append(outsiders, p.Namespace+"/"+p.Name)
					}
				}
				if !slices.Equal(outsiders, tt.outsider) {
					t.Errorf("reverse=%v: reported %v, want %v (problems %v)", reverse, outsiders, tt.outsider, out.Problems)
				}
			}
		})
	}
}

// TestPodClaimHoldsName: Services and injected pods claim a DDSD name in
// one owners map: the oldest claim of either kind owns it, so a Service
// created later in another namespace cannot take a name that only pods
// held; a Service of the owning namespace is served with its pods.
func TestPodClaimHoldsName(t *testing.T) {
	const worker = "worker.service.prod.ddsd"
	tests := []struct {
		name      string
		services  []*corev1.Service
		slices    []*discoveryv1.EndpointSlice
		pods      []*corev1.Pod
		wantLocal []string // the identity's local cluster members
		wantCalls []string // what the identity's view declares it calls
		served    []string // the endpoints of cluster worker:80
		wantDNS   []string
		refused   []string // "namespace/name" of the Services reported
		owner     string   // the owner the refused Services' problems name
		outsider  []string // "namespace/first pod" reported
	}{
		{
			name:     "pods older than another namespace's Service keep the name; the Service is refused",
			services: []*corev1.Service{tenantService("evil", "worker", 2026, "")},
			slices:   []*discoveryv1.EndpointSlice{tenantSlice("evil", "worker", "10.6.6.6")},
			pods: []*corev1.Pod{injectedPod("jobs", "w1", 2024, "worker", "10.0.0.1"), injectedPod("jobs", "w2", 2026, "worker", "10.0.0.2"),
				withCalls(injectedPod("evil", "fake", 2026, "worker", "10.6.6.6"), "*")},
			wantLocal: []string{"10.0.0.1", "10.0.0.2"}, wantCalls: []string{"orders.service.prod.ddsd"},
			wantDNS: []string{"10.0.0.1", "10.0.0.2"},
			refused: []string{"evil/worker"}, owner: "Pod jobs/w1 (created 2024-01-01T00:00:00Z)",
			outsider: []string{"evil/fake"},
		},
		{
			name:      "pods older than another namespace's Service claiming by annotation: refused too",
			services:  []*corev1.Service{tenantService("evil", "x", 2026, "worker")},
			slices:    []*discoveryv1.EndpointSlice{tenantSlice("evil", "x", "10.6.6.6")},
			pods:      []*corev1.Pod{injectedPod("jobs", "w1", 2024, "worker", "10.0.0.1")},
			wantLocal: []string{"10.0.0.1"}, wantCalls: []string{"orders.service.prod.ddsd"},
			wantDNS: []string{"10.0.0.1"},
			refused: []string{"evil/x"}, owner: "Pod jobs/w1 (created 2024-01-01T00:00:00Z)",
		},
		{
			name:     "a Service older than another namespace's pods owns the name",
			services: []*corev1.Service{tenantService("evil", "worker", 2023, "")},
			slices:   []*discoveryv1.EndpointSlice{tenantSlice("evil", "worker", "10.6.6.6")},
			pods:     []*corev1.Pod{injectedPod("jobs", "w1", 2024, "worker", "10.0.0.1")},
			served:   []string{"10.6.6.6"}, wantDNS: []string{"10.6.6.6"},
			outsider: []string{"jobs/w1"},
		},
		{
			name:      "a Service of the pods' namespace, newer than them, is served with them",
			services:  []*corev1.Service{tenantService("jobs", "worker", 2026, "")},
			slices:    []*discoveryv1.EndpointSlice{tenantSlice("jobs", "worker", "10.0.0.1")},
			pods:      []*corev1.Pod{injectedPod("jobs", "w1", 2024, "worker", "10.0.0.1")},
			wantLocal: []string{"10.0.0.1"}, wantCalls: []string{"orders.service.prod.ddsd"},
			served: []string{"10.0.0.1"}, wantDNS: []string{"10.0.0.1"},
		},
		{
			name:     "the pods' namespace owns the name: its oldest Service is served, another namespace's older one is not",
			services: []*corev1.Service{tenantService("evil", "worker", 2025, ""), tenantService("jobs", "worker", 2027, ""), tenantService("jobs", "w", 2026, "worker")},
			slices: []*discoveryv1.EndpointSlice{tenantSlice("evil", "worker", "10.6.6.6"), tenantSlice("jobs", "worker", "10.0.0.9"),
				tenantSlice("jobs", "w", "10.0.0.1")},
			pods:      []*corev1.Pod{injectedPod("jobs", "w1", 2024, "worker", "10.0.0.1")},
			wantLocal: []string{"10.0.0.1"}, wantCalls: []string{"orders.service.prod.ddsd"},
			served: []string{"10.0.0.1"}, wantDNS: []string{"10.0.0.1"},
			refused: []string{"evil/worker", "jobs/worker"},
		},
	}
	tr := testTranslator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, reverse := range []bool{false, true} {
				src := Source{Name: "c", Nodes: testNodes, Services: slices.Clone(tt.services), EndpointSlices: tt.slices, Pods: slices.Clone(tt.pods)}
				for _, p := range src.Pods {
					if p.Namespace == "jobs" && p.Annotations == nil {
						p.Annotations = map[string]string{mutate.AnnotationCalls: "orders"}
					}
				}
				if reverse {
					slices.Reverse(src.Services)
					slices.Reverse(src.Pods)
				}
				out := tr.Translate(Input{Sources: []Source{src}})
				if got := servedAddrs(out, worker); !slices.Equal(got, tt.wantLocal) {
					t.Errorf("reverse=%v: local cluster %v, want %v", reverse, got, tt.wantLocal)
				}
				if got := servedAddrs(out, ClusterName(worker, 80)); !slices.Equal(got, tt.served) {
					t.Errorf("reverse=%v: cluster %s serves %v, want %v", reverse, ClusterName(worker, 80), got, tt.served)
				}
				if got := dnsStrings(out, worker); !slices.Equal(got, tt.wantDNS) {
					t.Errorf("reverse=%v: DNS %v, want %v", reverse, got, tt.wantDNS)
				}
				var calls []string
				for _, sc := range out.Scopes {
					if sc.Identity == worker {
						calls = sc.Calls
					}
				}
				if !slices.Equal(calls, tt.wantCalls) {
					t.Errorf("reverse=%v: worker's view calls %v, want %v", reverse, calls, tt.wantCalls)
				}
				var refused, outsiders []string
				for _, p := range out.Problems {
					switch {
					case p.Kind == "Service" && strings.Contains(p.Message, "not served"):
						refused = append(refused, p.Namespace+"/"+p.Name)
						if tt.owner != "" && !strings.Contains(p.Message, "belongs to "+tt.owner) {
							t.Errorf("reverse=%v: %s does not name the owner %s", reverse, p, tt.owner)
						}
					case p.Kind == "Pod" && strings.Contains(p.Message, "not counted"):
						outsiders = append(outsiders, p.Namespace+"/"+p.Name)
					}
				}
				if !slices.Equal(refused, tt.refused) || !slices.Equal(outsiders, tt.outsider) {
					t.Errorf("reverse=%v: refused %v and outsiders %v, want %v and %v (problems %v)", reverse, refused, outsiders, tt.refused, tt.outsider, out.Problems)
				}
			}
		})
	}
}

func withCalls(p *corev1.Pod, calls string) *corev1.Pod {
	p.Annotations = map[string]string{mutate.AnnotationCalls: calls}
	return p
}

// TestOutsiderCallsIgnored: an imitation's inzone.io/calls does not shape
// the identity's view.
func TestOutsiderCallsIgnored(t *testing.T) {
	tr := testTranslator(t)
	owner := injectedPod("jobs", "w1", 2024, "worker", "10.0.0.1")
	owner.Annotations = map[string]string{mutate.AnnotationCalls: "orders"}
	fake := injectedPod("evil", "fake", 2025, "worker", "10.6.6.6")
	fake.Annotations = map[string]string{mutate.AnnotationCalls: "*"}
	out := tr.Translate(Input{Sources: []Source{{Name: "c", Nodes: testNodes, Pods: []*corev1.Pod{owner, fake}}}})
	if len(out.Scopes) != 1 || !slices.Equal(out.Scopes[0].Calls, []string{"orders.service.prod.ddsd"}) {
		t.Fatalf("scopes %+v, want worker calling orders only", out.Scopes)
	}
}

// TestPodLocality: a local cluster member's zone and region come from its
// node; its own labels only where the node has none or is not known.
func TestPodLocality(t *testing.T) {
	const zl = corev1.LabelTopologyZone
	node := func(labels map[string]string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: labels}}
	}
	tests := []struct {
		name      string
		podLabels map[string]string
		node      *corev1.Node
		want      locality
	}{
		{"the node's zone wins over the pod's label", map[string]string{zl: "b", corev1.LabelTopologyRegion: "r2"},
			node(map[string]string{zl: "a", corev1.LabelTopologyRegion: "r1"}), locality{region: "r1", zone: "a"}},
		{"a node without a zone: the pod's label", map[string]string{zl: "b"}, node(nil), locality{zone: "b"}},
		{"a node not known yet: the pod's labels", map[string]string{zl: "b", corev1.LabelTopologyRegion: "r2"}, nil, locality{region: "r2", zone: "b"}},
		{"neither: no zone", nil, node(map[string]string{corev1.LabelTopologyRegion: "r1"}), locality{region: "r1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: tt.podLabels}}
			if got := podLocality(pod, tt.node, zl); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestClaimOrder: creation time first, then namespace, then name.
func TestClaimOrder(t *testing.T) {
	tests := []struct {
		name string
		a, b claim
		want bool
	}{
		{"older first", claim{namespace: "z", created: at(2020).Time}, claim{namespace: "a", created: at(2021).Time}, true},
		{"newer after", claim{namespace: "a", created: at(2021).Time}, claim{namespace: "z", created: at(2020).Time}, false},
		{"same time: namespace", claim{namespace: "a", name: "z", created: at(2020).Time}, claim{namespace: "b", name: "a", created: at(2020).Time}, true},
		{"same time and namespace: name", claim{namespace: "a", name: "b"}, claim{namespace: "a", name: "a"}, false},
		{"itself is not older", claim{namespace: "a", name: "a"}, claim{namespace: "a", name: "a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.older(tt.b); got != tt.want {
				t.Errorf("got %v", got)
			}
		})
	}
}

// TestWrittenNameDecides: a pod counts only under the name its sidecar was
// given at injection, while its identity still renders it; relabeling an
// old pod makes it no claim on another identity.
func TestWrittenNameDecides(t *testing.T) {
	const worker = "worker.service.prod.ddsd"
	owner := injectedPod("jobs", "w1", 2024, "worker", "10.0.0.1")
	relabeled := func(args ...string) *corev1.Pod {
		p := injectedPod("evil", "old", 2020, "worker", "10.6.6.6")
		p.Spec.Containers[1].Args = args
		return p
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
	}{
		{"an old pod relabeled from another identity", relabeled(mutate.ServiceClusterFlag, "batch.service.prod.ddsd")},
		{"a sidecar without the flag", relabeled("--log-level", "info")},
		{"a sidecar whose flag has no value", relabeled(mutate.ServiceClusterFlag)},
		{"the name in another case", relabeled(mutate.ServiceClusterFlag, "WORKER.service.prod.ddsd")},
		{"a huge name", relabeled(mutate.ServiceClusterFlag, strings.Repeat("w", 1<<20))},
	}
	tr := testTranslator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tr.Translate(Input{Sources: []Source{{Name: "c", Nodes: testNodes, Pods: []*corev1.Pod{tt.pod, owner}}}})
			if got := servedAddrs(out, worker); !slices.Equal(got, []string{"10.0.0.1"}) {
				t.Errorf("local cluster %v, want the owner's pod only", got)
			}
			var reported []string
			for _, p := range out.Problems {
				if len(p.Message) > 400 {
					t.Errorf("problem of %d bytes", len(p.Message))
				}
				reported = append(reported, p.Namespace+"/"+p.Name)
			}
			if !slices.Equal(reported, []string{"evil/old"}) {
				t.Errorf("reported %v, want evil/old", reported)
			}
		})
	}
}

// TestOnlyPlacedPodsClaim: a pod claims its identity's name only while it
// is on a known node and not finished. An unscheduled imitation older than
// the owner's Service (a nodeSelector nothing matches keeps it so forever,
// for free) takes nothing; one that runs, or is about to, holds the name.
func TestOnlyPlacedPodsClaim(t *testing.T) {
	const payments = "payments.service.prod.ddsd"
	imitation := func(node string, phase corev1.PodPhase) *corev1.Pod {
		p := injectedPod("evil", "fake", 2024, "payments", "10.6.6.6")
		p.Spec.NodeName, p.Status.Phase = node, phase
		if phase != corev1.PodRunning {
			p.Status.PodIP, p.Status.Conditions = "", nil
		}
		return p
	}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		served    []string // the endpoints of cluster payments:80
		wantLocal bool     // the identity has a local cluster
		members   []string // its members
	}{
		{"unscheduled", imitation("", corev1.PodPending), []string{"10.0.0.1"}, false, nil},
		{"bound to a node that does not exist", imitation("no-such-node", corev1.PodPending), []string{"10.0.0.1"}, false, nil},
		{"bound to a node that does not exist, claiming to run", imitation("no-such-node", corev1.PodRunning), []string{"10.0.0.1"}, false, nil},
		{"succeeded", imitation(testNode, corev1.PodSucceeded), []string{"10.0.0.1"}, false, nil},
		{"failed", imitation(testNode, corev1.PodFailed), []string{"10.0.0.1"}, false, nil},
		{"scheduled, pending: holds the name", imitation(testNode, corev1.PodPending), nil, true, nil},
		{"running: holds the name", imitation(testNode, corev1.PodRunning), nil, true, []string{"10.6.6.6"}},
	}
	tr := testTranslator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Source{Name: "c", Nodes: testNodes,
				Services:       []*corev1.Service{tenantService("shop", "payments", 2026, "")},
				EndpointSlices: []*discoveryv1.EndpointSlice{tenantSlice("shop", "payments", "10.0.0.1")},
				Pods:           []*corev1.Pod{tt.pod}}
			out := tr.Translate(Input{Sources: []Source{src}})
			if got := servedAddrs(out, ClusterName(payments, 80)); !slices.Equal(got, tt.served) {
				t.Errorf("cluster %s serves %v, want %v (problems %v)", ClusterName(payments, 80), got, tt.served, out.Problems)
			}
			local := slices.ContainsFunc(out.Local, func(e *endpointv3.ClusterLoadAssignment) bool { return e.ClusterName == payments })
			if local != tt.wantLocal {
				t.Errorf("local cluster %s served: %v, want %v", payments, local, tt.wantLocal)
			}
			if got := servedAddrs(out, payments); !slices.Equal(got, tt.members) {
				t.Errorf("local cluster members %v, want %v", got, tt.members)
			}
		})
	}
}
