package xds

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/adsclient"
	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/xds/server"
	"github.com/inzone-io/inzone/xds/translate"
)

// The names of these tests are their own: DDSD names do not include the
// namespace, so another test's Service or pods of the same name would own
// them.
const (
	scCheckoutDDSD = "sc-checkout.service.prod.ddsd" // declares its callees
	scWebDDSD      = "sc-web.service.prod.ddsd"      // declares nothing
	scHostileDDSD  = "sc-hostile.service.prod.ddsd"  // declares something unreadable
)

var (
	scOrdersCluster   = translate.ClusterName("sc-orders.service.prod.ddsd", 80)
	scPaymentsCluster = translate.ClusterName("sc-payments.service.prod.ddsd", 80)
)

// newScopeScenario is a namespace with zoned nodes and the Services
// sc-orders and sc-payments, each with one Ready pod.
func newScopeScenario(t *testing.T, env *envtest.Env) *scenario {
	nsObj, err := env.CreateNamespace(ctx(t), "xds-scope-", false)
	if err != nil {
		t.Fatal(err)
	}
	s := &scenario{env: env, ns: nsObj.Name, pods: map[string]*corev1.Pod{}, nodeName: map[string]string{
		zoneA: s0(nsObj.Name, "a"), zoneB: s0(nsObj.Name, "b"),
	}}
	nodes(t, env, "", map[string]string{s.nodeName[zoneA]: zoneA, s.nodeName[zoneB]: zoneB})
	// The names are fixed: a later run (-count) or scenario must not find
	// these pods, nor these Services, which as the oldest of their names
	// would keep owning them (translate's owner rule).
	t.Cleanup(func() {
		_ = env.Client.DeleteAllOf(context.Background(), &corev1.Pod{}, client.InNamespace(s.ns), client.GracePeriodSeconds(0))
		for _, app := range []string{"sc-orders", "sc-payments"} {
			_ = env.Client.Delete(context.Background(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: s.ns}})
		}
	})
	for _, app := range []string{"sc-orders", "sc-payments"} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: s.ns},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
		}
		if err := env.Client.Create(ctx(t), svc); err != nil {
			t.Fatal(err)
		}
		s.add(t, app, zoneA)
	}
	return s
}

// routeHosts is the virtual hosts of the outbound route table a client holds.
func routeHosts(v adsclient.View) []string {
	var out []string
	for _, vh := range v.Routes[translate.OutboundRoute].GetVirtualHosts() {
		out = append(out, vh.GetName())
	}
	slices.Sort(out)
	return out
}

// expectView waits until the client holds exactly these clusters and
// virtual hosts (besides the two ORIGINAL_DST clusters and the
// passthrough host), consistently.
func expectView(t *testing.T, c *adsclient.Client, what string, callees ...string) {
	t.Helper()
	expectViewOf(t, c, what, true, callees...)
}

// expectFullView waits until the client holds at least these clusters
// and virtual hosts, and as many as the full view has: the API server is
// shared with other tests, whose Services are served too.
func expectFullView(t *testing.T, c *adsclient.Client, srv *server.Server, what string, callees ...string) {
	t.Helper()
	expectViewOf(t, c, what, false, callees...)
	c.WaitT(t, waitTimeout, what+": the whole full view", func(v adsclient.View) error {
		if got, want := len(v.Clusters), len(srv.Current().Clusters); got != want {
			return fmt.Errorf("%d clusters, want the full view's %d", got, want)
		}
		return nil
	})
}

func expectViewOf(t *testing.T, c *adsclient.Client, what string, exact bool, callees ...string) {
	t.Helper()
	want := append(slices.Clone(translate.ListenerClusters), callees...)
	slices.Sort(want)
	wantHosts := append([]string{translate.PassthroughCluster}, callees...)
	slices.Sort(wantHosts)
	c.WaitT(t, waitTimeout, what, func(v adsclient.View) error {
		if got := sorted(keys(v.Clusters)); !matches(got, want, exact) {
			return fmt.Errorf("clusters %v, want %v (exactly: %v)", got, want, exact)
		}
		if got := routeHosts(v); !matches(got, wantHosts, exact) {
			return fmt.Errorf("virtual hosts %v, want %v (exactly: %v)", got, wantHosts, exact)
		}
		for _, cl := range callees {
			if n := len(v.Endpoints[cl].GetEndpoints()); n == 0 {
				return fmt.Errorf("no endpoints for %s", cl)
			}
		}
		return nil
	})
	// A view narrowing or widening must not pass through one whose routes
	// name a cluster not yet (or no longer) sent.
	consistent(t, c, what)
}

func sorted(s []string) []string { slices.Sort(s); return s }

func matches(got, want []string, exact bool) bool {
	if exact {
		return slices.Equal(got, want)
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

// TestScopedViews: checkout declares its callees (inzone.io/calls); its
// sidecars, SotW and delta, get only those clusters and virtual hosts,
// and follow a rollout that changes the declaration, through the union of
// old and new pods, to "*" and back. web declares nothing and sees every
// Service throughout.
func TestScopedViews(t *testing.T) {
	env := envtest.For(t)
	s := newScopeScenario(t, env)
	s.add(t, "sc-web", zoneA)
	declaring := func(app, zone, calls string) *corev1.Pod {
		t.Helper()
		s.nextIP++
		name := fmt.Sprintf("%s-%d", app, s.nextIP)
		return annotatedPod(t, env, s.ns, name, app, s.nodeName[zone], podIP(s.nextIP), true, map[string]string{mutate.AnnotationCalls: calls})
	}
	v1 := []*corev1.Pod{declaring("sc-checkout", zoneA, "sc-orders"), declaring("sc-checkout", zoneB, "sc-orders")}

	addr, srv, reg := startXDS(t, env)
	checkout := []*adsclient.Client{
		dial(t, addr, "sotw", "sc-checkout-sotw."+s.ns, scCheckoutDDSD, zoneA),
		dial(t, addr, "delta", "sc-checkout-delta."+s.ns, scCheckoutDDSD, zoneB),
	}
	web := []*adsclient.Client{
		dial(t, addr, "sotw", "sc-web-sotw."+s.ns, scWebDDSD, zoneA),
		dial(t, addr, "delta", "sc-web-delta."+s.ns, scWebDDSD, zoneA),
	}
	// step waits until checkout's sidecars hold their view (scoped: only
	// these callees; else the full view) and web's the full view.
	step := func(what string, scoped bool, callees ...string) {
		t.Helper()
		for _, c := range checkout {
			if scoped {
				expectView(t, c, what+" ("+string(c.Protocol())+")", callees...)
			} else {
				expectFullView(t, c, srv, what+" ("+string(c.Protocol())+")", callees...)
			}
		}
		for _, c := range web {
			expectFullView(t, c, srv, what+": web sees everything ("+string(c.Protocol())+")", scOrdersCluster, scPaymentsCluster)
		}
	}
	step("checkout declares orders", true, scOrdersCluster)
	if got := metricValue(t, reg, "inzone_xds_scoped_views"); got != 1 {
		t.Errorf("inzone_xds_scoped_views = %v, want 1", got)
	}

	// A rollout to "payments": old and new pods together see the union.
	v2 := declaring("sc-checkout", zoneA, "sc-payments")
	step("rollout: old and new pods", true, scOrdersCluster, scPaymentsCluster)
	for _, p := range v1 {
		deletePod(t, env, p)
	}
	step("rollout done: payments only", true, scPaymentsCluster)

	// A pod declaring "*" gives the identity the full view; when it goes,
	// the view is scoped again.
	all := declaring("sc-checkout", zoneB, "*")
	step("a pod calls everything", false, scOrdersCluster, scPaymentsCluster)
	deletePod(t, env, all)
	step("scoped again", true, scPaymentsCluster)

	// A rollout back to no annotation: the new pod calls everything, and
	// when the last declaring pod goes no view is left.
	s.nextIP++
	annotatedPod(t, env, s.ns, fmt.Sprintf("sc-checkout-%d", s.nextIP), "sc-checkout", s.nodeName[zoneA], podIP(s.nextIP), true, nil)
	step("a pod without the annotation", false, scOrdersCluster, scPaymentsCluster)
	deletePod(t, env, v2)
	step("no declaring pod left", false, scOrdersCluster, scPaymentsCluster)
	if got := metricValue(t, reg, "inzone_xds_scoped_views"); got != 0 {
		t.Errorf("inzone_xds_scoped_views = %v, want 0", got)
	}
}

// TestScopedViewHostileAnnotation: a pod that reached the API server with
// a declaration the webhook refuses (here created without the webhook)
// is ignored, counted, and its identity keeps the full view.
func TestScopedViewHostileAnnotation(t *testing.T) {
	env := envtest.For(t)
	s := newScopeScenario(t, env)
	s.nextIP++
	// The API server caps all annotations at 256 KiB; this is most of it.
	value := strings.Repeat("a/b;$(x)`y`{z: [1]},", 200<<10/20)
	p := injectedPod(t, env, s.ns, fmt.Sprintf("sc-hostile-%d", s.nextIP), "sc-hostile", s.nodeName[zoneA], podIP(s.nextIP), true)
	p.Annotations[mutate.AnnotationCalls] = value
	if err := env.Client.Update(ctx(t), p); err != nil {
		t.Fatal(err)
	}
	addr, srv, reg := startXDS(t, env)
	for _, protocol := range []string{"sotw", "delta"} {
		c := dial(t, addr, protocol, "sc-hostile-"+protocol+"."+s.ns, scHostileDDSD, zoneA)
		expectFullView(t, c, srv, "full view ("+protocol+")", scOrdersCluster, scPaymentsCluster)
	}
	if got := metricValue(t, reg, "inzone_xds_calls_annotations_ignored"); got != 1 {
		t.Errorf("inzone_xds_calls_annotations_ignored = %v, want 1", got)
	}
}
