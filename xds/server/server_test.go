package server

import (
	"context"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/translate"
)

// static is a Reader over fixed objects.
type static struct{ src translate.Source }

func (s *static) Read() translate.Source { return s.src }

func pod(name, app, ip string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": app, corev1.LabelTopologyZone: "z1"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: mutate.SidecarName}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

func objects() *static {
	return &static{translate.Source{
		Name: "test",
		Services: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: "ns"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}},
		EndpointSlices: []*discoveryv1.EndpointSlice{{
			ObjectMeta:  metav1.ObjectMeta{Name: "orders-1", Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: "orders"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Zone: ptr.To("z1")}},
		}},
		Pods: []*corev1.Pod{pod("a-1", "a", "10.1.0.1"), pod("b-1", "b", "10.1.0.2")},
	}}
}

func newTestServer(t *testing.T) *Server {
	t.Helper()
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return New(context.Background(), tr, Options{})
}

// TestSnapshotPerIdentity: each identity's snapshot holds the shared
// resources (the same maps, not copies) and only its own local cluster;
// proxies without an identity get the shared view.
func TestSnapshotPerIdentity(t *testing.T) {
	s := newTestServer(t)
	s.build(context.Background(), []Reader{objects()})
	get := func(key string) *cachev3.Snapshot {
		t.Helper()
		snap, err := s.cache.GetSnapshot(key)
		if err != nil {
			t.Fatalf("snapshot %q: %v", key, err)
		}
		return snap.(*cachev3.Snapshot)
	}
	a, b, none := get("a.service.prod.ddsd"), get("b.service.prod.ddsd"), get("")
	eds := func(snap *cachev3.Snapshot) []string {
		var names []string
		for n := range snap.GetResources(resourcev3.EndpointType) {
			names = append(names, n)
		}
		return names
	}
	if got := eds(a); len(got) != 2 || a.GetResources(resourcev3.EndpointType)["a.service.prod.ddsd"] == nil {
		t.Errorf("identity a's endpoints: %v", got)
	}
	if b.GetResources(resourcev3.EndpointType)["a.service.prod.ddsd"] != nil {
		t.Errorf("identity b holds a's local cluster: %v", eds(b))
	}
	if got := eds(none); len(got) != 1 {
		t.Errorf("no identity: %v", got)
	}
	for _, typ := range []types.ResponseType{types.Cluster, types.Listener, types.Route} {
		if a.Resources[typ].Version != b.Resources[typ].Version {
			t.Errorf("type %d: versions differ between identities", typ)
		}
		// The same map, shared: no per-identity copy of the world.
		ma, mb := a.Resources[typ].Items, b.Resources[typ].Items
		ma["probe"] = types.ResourceWithTTL{}
		_, shared := mb["probe"]
		delete(ma, "probe")
		if !shared {
			t.Errorf("type %d: each identity has its own copy", typ)
		}
	}
	hash := identityHash{&s.known}
	if got := hash.ID(&corev3.Node{Id: "a-1.ns", Cluster: "a.service.prod.ddsd"}); got != "a.service.prod.ddsd" {
		t.Errorf("node key %q", got)
	}
	// A name no pod has: the shared view, not a new cache entry.
	if got := hash.ID(&corev3.Node{Id: "x", Cluster: strings.Repeat("evil", 1000)}); got != "" {
		t.Errorf("unknown identity keyed %q", got)
	}
}

// TestUnchangedStateIsNotPublished: rebuilding the same state publishes
// nothing, and the versions are the content's (a new server computes the
// same ones).
func TestUnchangedStateIsNotPublished(t *testing.T) {
	s := newTestServer(t)
	r := objects()
	s.build(context.Background(), []Reader{r})
	first := s.last["a.service.prod.ddsd"]
	n, err := s.publish(context.Background(), s.current.Load())
	if err != nil || n != 0 {
		t.Fatalf("republishing the same state: %d snapshots, %v", n, err)
	}
	other := newTestServer(t)
	other.build(context.Background(), []Reader{objects()})
	if !sameVersions(first, other.last["a.service.prod.ddsd"]) {
		t.Error("two servers give the same state different versions")
	}

	// One endpoint changes: only the endpoint versions move.
	r.src.EndpointSlices[0].Endpoints[0].Addresses = []string{"10.0.0.2"}
	s.build(context.Background(), []Reader{r})
	next := s.last["a.service.prod.ddsd"]
	if next.Resources[types.Endpoint].Version == first.Resources[types.Endpoint].Version {
		t.Error("endpoint version did not change")
	}
	if next.Resources[types.Cluster].Version != first.Resources[types.Cluster].Version {
		t.Error("cluster version changed with only an endpoint")
	}
}

// TestGoneIdentityIsForgotten: an identity whose pods are gone and which
// no proxy watches is dropped from the cache.
func TestGoneIdentityIsForgotten(t *testing.T) {
	s := newTestServer(t)
	r := objects()
	s.build(context.Background(), []Reader{r})
	r.src.Pods = r.src.Pods[:1] // b's pod goes
	s.build(context.Background(), []Reader{r})
	if _, err := s.cache.GetSnapshot("b.service.prod.ddsd"); err == nil {
		t.Error("b's snapshot is still cached")
	}
	if _, ok := s.last["b.service.prod.ddsd"]; ok {
		t.Error("b is still tracked")
	}
	if addrs, ok := s.LookupDDSD("A.service.prod.ddsd."); !ok || len(addrs) != 1 || addrs[0].String() != "10.1.0.1" {
		t.Errorf("DNS of a: %v %v", addrs, ok)
	}
	if _, ok := s.LookupDDSD("b.service.prod.ddsd"); ok {
		t.Error("DNS still serves b")
	}
}

// TestChangedCoalesces: any number of Changed calls before a build leave
// one pending signal, and never block.
func TestChangedCoalesces(t *testing.T) {
	s := newTestServer(t)
	for range 10000 {
		s.Changed()
	}
	if len(s.changed) != 1 {
		t.Errorf("%d pending signals, want 1", len(s.changed))
	}
}
