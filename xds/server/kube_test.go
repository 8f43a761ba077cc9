package server

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/inzone-io/inzone/elb"
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
	// Whether a pod claims its identity's name reads its node and phase: a
	// finished pod claims nothing, so the phase must survive the trim.
	for _, phase := range []corev1.PodPhase{corev1.PodSucceeded, corev1.PodFailed} {
		done := full.DeepCopy()
		done.Status.Phase = phase
		td, _ := trim(done)
		if sameKept(trimmed, td) {
			t.Errorf("phase %s not seen", phase)
		}
		if got := tr.Translate(translate.Input{Sources: []translate.Source{{Pods: []*corev1.Pod{td.(*corev1.Pod)}, Nodes: []*corev1.Node{node}}}}); len(got.Local) != 0 {
			t.Errorf("a trimmed %s pod still has its local cluster: %v", phase, got.Local)
		}
	}
}

// TestTrimServiceAndSlice: a Service and its slice with everything the API
// server and the controllers set translate as their trimmed copies do; the
// trimmed ones hold none of what is not read, and an update of only that
// (a status, a target reference, a controller's annotation) is not a
// change, while an endpoint's readiness or a port is.
func TestTrimServiceAndSlice(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: "ns", UID: "u1", ResourceVersion: "1",
			Labels:      map[string]string{"app": "orders"},
			Annotations: map[string]string{elb.AnnotationDDSDName: "shop", "note": strings.Repeat("x", 4096)}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "orders"},
			ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"}, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("web"), NodePort: 30080, AppProtocol: ptr.To("http")},
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{Hostname: "a-1.elb.us-east-1.amazonaws.com"}}}},
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "orders-abc", Namespace: "ns", UID: "u2", ResourceVersion: "1",
			Labels:          map[string]string{discoveryv1.LabelServiceName: "orders", discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"},
			Annotations:     map[string]string{"endpoints.kubernetes.io/last-change-trigger-time": "2026-12-06T00:00:00Z"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Service", Name: "orders", UID: "u1"}}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.1"}, Zone: ptr.To("z1"), NodeName: ptr.To("n1"), Hostname: ptr.To("orders-0"),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "orders-0", UID: "u3"},
				Hints:      &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "z1"}}}},
			{Addresses: []string{"10.0.0.2"}, NodeName: ptr.To("n2"),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(true), Terminating: ptr.To(true)}},
		},
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2", Labels: map[string]string{corev1.LabelTopologyZone: "z2"}}}
	ts, _ := trim(svc.DeepCopy())
	tsl, _ := trim(slice.DeepCopy())
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	full := tr.Translate(translate.Input{Sources: []translate.Source{{Services: []*corev1.Service{svc},
		EndpointSlices: []*discoveryv1.EndpointSlice{slice}, Nodes: []*corev1.Node{node}}}})
	trimmed := tr.Translate(translate.Input{Sources: []translate.Source{{Services: []*corev1.Service{ts.(*corev1.Service)},
		EndpointSlices: []*discoveryv1.EndpointSlice{tsl.(*discoveryv1.EndpointSlice)}, Nodes: []*corev1.Node{node}}}})
	if len(full.Endpoints) != 1 || len(full.Endpoints[0].Endpoints) != 2 || full.Endpoints[0].ClusterName != "shop.service.prod.ddsd:80" {
		t.Fatalf("the full objects translate to %v", full.Endpoints)
	}
	if fmt.Sprint(full.Endpoints, full.Clusters, full.Addrs) != fmt.Sprint(trimmed.Endpoints, trimmed.Clusters, trimmed.Addrs) {
		t.Errorf("trimmed objects translate differently:\n%v\n%v", full.Endpoints, trimmed.Endpoints)
	}
	s, sl := ts.(*corev1.Service), tsl.(*discoveryv1.EndpointSlice)
	if len(s.Annotations) != 1 || s.Labels != nil || s.Spec.Selector != nil || s.Spec.ClusterIP != "" || len(s.Status.LoadBalancer.Ingress) != 0 ||
		s.Spec.Ports[0].NodePort != 0 || s.Spec.Ports[0].AppProtocol != nil {
		t.Errorf("trimmed Service kept too much: %+v", s)
	}
	if len(sl.Labels) != 1 || sl.Annotations != nil || sl.OwnerReferences != nil ||
		sl.Endpoints[0].TargetRef != nil || sl.Endpoints[0].Hints != nil || sl.Endpoints[0].Hostname != nil {
		t.Errorf("trimmed slice kept too much: %+v", sl)
	}

	oldSvc := func() any { return svc.DeepCopy() }
	oldSlice := func() any { return slice.DeepCopy() }
	for _, tc := range []struct {
		name   string
		old    func() any
		edit   func() any
		change bool
	}{
		{"Service status", oldSvc, func() any {
			o := svc.DeepCopy()
			o.ResourceVersion = "2"
			o.Status.LoadBalancer.Ingress = nil
			return o
		}, false},
		{"Service port", oldSvc, func() any { o := svc.DeepCopy(); o.Spec.Ports[0].Port = 81; return o }, true},
		{"Service DDSD name", oldSvc, func() any { o := svc.DeepCopy(); o.Annotations[elb.AnnotationDDSDName] = "shop2"; return o }, true},
		{"slice target and trigger time", oldSlice, func() any {
			o := slice.DeepCopy()
			o.ResourceVersion = "2"
			o.Annotations["endpoints.kubernetes.io/last-change-trigger-time"] = "2026-12-06T00:00:01Z"
			o.Endpoints[0].TargetRef.UID = "u4"
			return o
		}, false},
		{"slice readiness", oldSlice, func() any { o := slice.DeepCopy(); o.Endpoints[0].Conditions.Ready = ptr.To(false); return o }, true},
		{"slice address", oldSlice, func() any { o := slice.DeepCopy(); o.Endpoints[1].Addresses = []string{"10.0.0.3"}; return o }, true},
	} {
		o, _ := trim(tc.old())
		n, _ := trim(tc.edit())
		if got := !sameKept(o, n); got != tc.change {
			t.Errorf("%s: counted as a change %v, want %v", tc.name, got, tc.change)
		}
	}
}

// TestTrimNode: a trimmed node keeps its zone labels and pod CIDRs (the
// listeners bind :: from them) and nothing else; at most maxPodCIDRs of
// at most maxCIDRLen bytes each, whatever the node carries; a heartbeat is
// no change, a pod CIDR assigned is one.
func TestTrimNode(t *testing.T) {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", ResourceVersion: "1", Labels: map[string]string{corev1.LabelTopologyZone: "z1"},
			Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0"}},
		Spec: corev1.NodeSpec{PodCIDR: "10.0.0.0/24", PodCIDRs: []string{"10.0.0.0/24", "fd00:1::/64"}, ProviderID: "aws:///z1/i-1"},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
			LastHeartbeatTime: metav1.Unix(1, 0)}}},
	}
	tn, _ := trim(node.DeepCopy())
	trimmed := tn.(*corev1.Node)
	if trimmed.Annotations != nil || trimmed.Spec.ProviderID != "" || trimmed.Spec.PodCIDR != "" || len(trimmed.Status.Conditions) != 0 ||
		!slices.Equal(trimmed.Spec.PodCIDRs, node.Spec.PodCIDRs) || trimmed.Labels[corev1.LabelTopologyZone] != "z1" {
		t.Errorf("trimmed node: %+v", trimmed)
	}
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	full := tr.Translate(translate.Input{Sources: []translate.Source{{Local: true, Nodes: []*corev1.Node{node}}}})
	cut := tr.Translate(translate.Input{Sources: []translate.Source{{Local: true, Nodes: []*corev1.Node{trimmed}}}})
	if len(full.Listeners) == 0 || len(full.Listeners[0].GetAdditionalAddresses()) != 1 {
		t.Fatalf("a dual-stack node's listeners: %v, want :: beside 0.0.0.0", full.Listeners)
	}
	if fmt.Sprint(full.Listeners) != fmt.Sprint(cut.Listeners) {
		t.Errorf("the trimmed node's listeners differ from the node's: additional addresses %v, want %v",
			cut.Listeners[0].GetAdditionalAddresses(), full.Listeners[0].GetAdditionalAddresses())
	}

	huge := node.DeepCopy()
	huge.Spec.PodCIDRs = []string{strings.Repeat("f", 1<<20)}
	for i := range 10000 {
		huge.Spec.PodCIDRs = append(huge.Spec.PodCIDRs, fmt.Sprintf("fd00:%x::/64", i))
	}
	th, _ := trim(huge)
	if got := th.(*corev1.Node).Spec.PodCIDRs; !slices.Equal(got, []string{"fd00:0::/64", "fd00:1::/64"}) {
		t.Errorf("a node with 10,001 pod CIDRs, the first 1 MiB: kept %d (%.80q), want the first %d short ones", len(got), got, maxPodCIDRs)
	}

	beat := node.DeepCopy()
	beat.ResourceVersion = "2"
	beat.Status.Conditions[0].LastHeartbeatTime = metav1.Unix(2, 0)
	assigned := node.DeepCopy()
	assigned.Spec.PodCIDRs = nil
	for _, tc := range []struct {
		name   string
		old    *corev1.Node
		change bool
	}{
		{"heartbeat", beat, false},
		{"pod CIDRs assigned", assigned, true},
	} {
		o, _ := trim(tc.old)
		if got := !sameKept(o, trimmed); got != tc.change {
			t.Errorf("%s: counted as a change %v, want %v", tc.name, got, tc.change)
		}
	}
}
