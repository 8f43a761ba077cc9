package server

import (
	"context"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
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

// testNode is the node every test pod runs on: a pod counts in its local
// cluster only on a node its Source knows.
var testNode = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}

func pod(name, app, ip string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": app, corev1.LabelTopologyZone: "z1"}},
		// The sidecar as the webhook gives it: its local cluster's name.
		Spec: corev1.PodSpec{NodeName: testNode.Name, Containers: []corev1.Container{{Name: mutate.SidecarName, Args: []string{mutate.ServiceClusterFlag, app + ".service.prod.ddsd"}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

func objects() *static {
	return &static{translate.Source{
		Name:  "test",
		Nodes: []*corev1.Node{testNode},
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

func newTestServer(t testing.TB) *Server {
	t.Helper()
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return New(context.Background(), tr, Options{})
}

// TestOneCacheForAllIdentities: the endpoints cache holds the callee
// clusters and every identity's local cluster once; a state-of-the-world
// sidecar asking for its own local cluster and a callee gets those two,
// never another identity's, and a node cluster no pod has costs nothing.
func TestOneCacheForAllIdentities(t *testing.T) {
	s := newTestServer(t)
	s.build(context.Background(), []Reader{objects()})
	eds := s.caches.linear[resourcev3.EndpointType].GetResources()
	for _, name := range []string{"a.service.prod.ddsd", "b.service.prod.ddsd", "orders.service.prod.ddsd:80"} {
		if eds[name] == nil {
			t.Errorf("endpoints cache lacks %s: %v", name, keys(eds))
		}
	}
	if len(eds) != 3 {
		t.Errorf("endpoints cache: %v, want 3", keys(eds))
	}
	conn := serve(t, s)
	for _, tc := range []struct {
		cluster string
		ask     []string
		want    []string
	}{
		{"a.service.prod.ddsd", []string{"a.service.prod.ddsd", "orders.service.prod.ddsd:80"}, []string{"a.service.prod.ddsd", "orders.service.prod.ddsd:80"}},
		{"b.service.prod.ddsd", []string{"b.service.prod.ddsd", "orders.service.prod.ddsd:80"}, []string{"b.service.prod.ddsd", "orders.service.prod.ddsd:80"}},
		{strings.Repeat("evil", 1000), []string{"orders.service.prod.ddsd:80"}, []string{"orders.service.prod.ddsd:80"}},
	} {
		node := &corev3.Node{Id: "x.ns", Cluster: tc.cluster}
		var got []string
		for _, a := range firstResponse(t, conn, node, resourcev3.EndpointType, tc.ask) {
			cla := &endpointv3.ClusterLoadAssignment{}
			if err := a.UnmarshalTo(cla); err != nil {
				t.Fatal(err)
			}
			got = append(got, cla.ClusterName)
		}
		sort.Strings(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("node cluster %.20s asking %v got %v, want %v", tc.cluster, tc.ask, got, tc.want)
		}
	}
	if n := len(s.caches.linear); n != len(served) {
		t.Errorf("%d caches, want one per served type", n)
	}
}

// firstResponse opens an ADS stream as node, asks for names of typeURL and
// returns the resources of the first response.
func firstResponse(t *testing.T, conn *grpc.ClientConn, node *corev3.Node, typeURL string, names []string) []*anypb.Any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: typeURL, ResourceNames: names}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	return resp.Resources
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestUnchangedStateIsNotPublished: rebuilding the same state publishes
// nothing, and the versions are the content's (a new server computes the
// same ones).
func TestUnchangedStateIsNotPublished(t *testing.T) {
	s := newTestServer(t)
	r := objects()
	s.build(context.Background(), []Reader{r})
	first := s.published
	n, err := s.publish(context.Background(), s.current.Load())
	if err != nil || n != 0 {
		t.Fatalf("republishing the same state: %d resources, %v", n, err)
	}
	other := newTestServer(t)
	other.build(context.Background(), []Reader{objects()})
	for _, url := range served {
		if typeVersion(first[url]) != typeVersion(other.published[url]) {
			t.Errorf("two servers give the same state different %s versions", url)
		}
	}

	// One endpoint changes: only the endpoint versions move, and only the
	// endpoints cache is touched.
	rec := record(s)
	r.src.EndpointSlices[0].Endpoints[0].Addresses = []string{"10.0.0.2"}
	s.build(context.Background(), []Reader{r})
	next := s.published
	if typeVersion(next[resourcev3.EndpointType]) == typeVersion(first[resourcev3.EndpointType]) {
		t.Error("endpoint version did not change")
	}
	if typeVersion(next[resourcev3.ClusterType]) != typeVersion(first[resourcev3.ClusterType]) {
		t.Error("cluster version changed with only an endpoint")
	}
	if want := []string{"update ClusterLoadAssignment orders.service.prod.ddsd:80"}; !slices.Equal(*rec, want) {
		t.Errorf("cache updates %v, want %v", *rec, want)
	}
}

// TestRebuildKeepsOneCopy: a rebuild serves, and keeps as the current
// translation, the messages already in the caches for what did not change
// (one copy of each resource, not the caches' and the last translation's),
// and its own for what changed; a scoped view's clusters are the full
// view's.
func TestRebuildKeepsOneCopy(t *testing.T) {
	s := newTestServer(t)
	r := objects()
	r.src.Services = append(r.src.Services, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "users", Namespace: "ns"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}})
	r.src.Pods[0].Annotations = map[string]string{mutate.AnnotationCalls: "orders"}
	s.build(context.Background(), []Reader{r})
	first := s.current.Load()
	r.src.EndpointSlices[0].Endpoints[0].Addresses = []string{"10.0.0.2"}
	s.build(context.Background(), []Reader{r})
	next := s.current.Load()
	if next == first {
		t.Fatal("no new translation")
	}
	cached := func(url string) map[string]types.Resource { return s.caches.linear[url].GetResources() }
	for i, c := range next.Clusters {
		if c != first.Clusters[i] || c != cached(resourcev3.ClusterType)[c.GetName()] {
			t.Errorf("cluster %s: a second copy of an unchanged resource", c.GetName())
		}
	}
	for _, l := range append(slices.Clone(next.Listeners), next.APIListeners...) {
		if l != cached(resourcev3.ListenerType)[l.GetName()] && l != cached(grpcListeners)[l.GetName()] {
			t.Errorf("listener %s: a second copy of an unchanged resource", l.GetName())
		}
	}
	for i, e := range next.Local {
		if e != first.Local[i] {
			t.Errorf("local cluster %s: a second copy of an unchanged resource", e.GetClusterName())
		}
	}
	if e := next.Endpoints[0]; e == first.Endpoints[0] || e != cached(resourcev3.EndpointType)[e.GetClusterName()] {
		t.Errorf("changed endpoints %s: the old message kept, or not the one served", e.GetClusterName())
	}
	if len(next.Scopes) != 1 {
		t.Fatalf("%d scoped views, want 1", len(next.Scopes))
	}
	sc := next.Scopes[0]
	for _, c := range sc.Clusters {
		if c != cached(resourcev3.ClusterType)[c.GetName()] {
			t.Errorf("view cluster %s is not the full view's message", c.GetName())
		}
	}
	if sc.Route != first.Scopes[0].Route {
		t.Error("the view's unchanged route table was replaced")
	}
}

// TestGoneIdentityIsForgotten: an identity whose pods are gone is dropped
// from the cache.
func TestGoneIdentityIsForgotten(t *testing.T) {
	s := newTestServer(t)
	r := objects()
	s.build(context.Background(), []Reader{r})
	r.src.Pods = r.src.Pods[:1] // b's pod goes
	s.build(context.Background(), []Reader{r})
	if s.caches.linear[resourcev3.EndpointType].GetResources()["b.service.prod.ddsd"] != nil {
		t.Error("b's local cluster is still cached")
	}
	if _, ok := s.published[resourcev3.EndpointType]["b.service.prod.ddsd"]; ok {
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
