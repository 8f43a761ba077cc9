package placement

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/simulate"
	"github.com/inzone-io/inzone/test/envtest"
)

// layoutLabel marks a layout instance's nodes; the Deployments placed on
// it select them, so tests sharing the control plane never share nodes
// (topology spread counts only the nodes a pod may use).
const layoutLabel = "placement.inzone.io/layout"

// zoneNodes is one zone of a layout: how many nodes, each holding at most
// pods pods.
type zoneNodes struct {
	zone  string
	nodes int
	pods  int
}

// layout is a set of zones with their nodes.
type layout struct {
	name  string
	zones []zoneNodes
}

// String is the layout as the README shows it: nodes per zone, and the
// pods a node holds where it is not the default 110.
func (l layout) String() string {
	var parts []string
	for _, z := range l.zones {
		s := fmt.Sprintf("%s:%d", strings.TrimPrefix(z.zone, "us-east-1"), z.nodes)
		if z.pods != 0 {
			s += fmt.Sprintf("x%d", z.pods)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// capacity is the pods each zone holds.
func (l layout) capacity() simulate.Zones {
	c := simulate.Zones{}
	for _, z := range l.zones {
		c[z.zone] += z.nodes * podsOr110(z.pods)
	}
	return c
}

func podsOr110(n int) int {
	if n == 0 {
		return 110
	}
	return n
}

// cluster is one instance of a layout: its nodes, labelled with instance.
type cluster struct {
	layout   layout
	instance string
	nodeZone map[string]string
	nodePods map[string]int
}

// createCluster creates the layout's nodes, named and labelled after
// instance, which must be unique in the package.
func createCluster(t testing.TB, l layout, instance string) *cluster {
	t.Helper()
	env := envtest.For(t)
	c := &cluster{layout: l, instance: instance, nodeZone: map[string]string{}, nodePods: map[string]int{}}
	for _, z := range l.zones {
		for i := range z.nodes {
			name := fmt.Sprintf("%s-%s-%d", instance, z.zone, i)
			_, err := env.CreateNode(ctx(t, 30*time.Second), envtest.NodeSpec{
				Name: name, Zone: z.zone, Pods: z.pods, CPU: "64", Memory: "256Gi",
				Labels: map[string]string{layoutLabel: instance},
			})
			if err != nil {
				t.Fatal(err)
			}
			c.nodeZone[name] = z.zone
			c.nodePods[name] = podsOr110(z.pods)
		}
	}
	return c
}

// deployment is a Deployment of pause containers labelled app=name, on
// the cluster's nodes only.
func (c *cluster) deployment(ns, name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{layoutLabel: c.instance},
					Containers: []corev1.Container{{
						Name: "app", Image: "registry.k8s.io/pause:3.10",
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
					}},
					TerminationGracePeriodSeconds: ptr.To[int64](0),
				},
			},
		},
	}
}

// service, named name, selects app=app, so the EndpointSlice controller
// publishes its ready pods with their zones.
func service(ns, name, app string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": app},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
}

// create creates objects, failing the test on an error.
func create(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := envtest.For(t).Client.Create(ctx(t, 30*time.Second), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// namespace creates a namespace, labelled for inzone when on.
func namespace(t testing.TB, on bool) string {
	t.Helper()
	ns, err := envtest.For(t).CreateNamespace(ctx(t, 30*time.Second), "placement-", on)
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// placed are a Deployment's pods that are bound, Ready and not terminating,
// counted per zone of their node.
type placed struct {
	zones simulate.Zones
	pods  []corev1.Pod
}

// pods lists the pods labelled app=name in ns.
func pods(ctx context.Context, env *envtest.Env, ns, name string) ([]corev1.Pod, error) {
	list := &corev1.PodList{}
	if err := env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"app": name}); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// waitPlaced waits until app=name in ns has exactly want pods, all bound,
// Ready and not terminating, and when hash is not empty all of that
// pod-template-hash (the old ReplicaSet's pods gone); it returns them per
// zone.
func (c *cluster) waitPlaced(t testing.TB, ns, name string, want int, hash string) placed {
	t.Helper()
	env := envtest.For(t)
	var got placed
	last := ""
	err := wait.PollUntilContextTimeout(ctx(t, 2*time.Minute), 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := pods(ctx, env, ns, name)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		got = placed{zones: simulate.Zones{}}
		pending := 0
		for _, p := range list {
			if p.DeletionTimestamp != nil || p.Spec.NodeName == "" || !envtest.IsPodReady(&p) ||
				(hash != "" && p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash) {
				pending++
				continue
			}
			got.zones[c.nodeZone[p.Spec.NodeName]]++
			got.pods = append(got.pods, p)
		}
		last = fmt.Sprintf("%d pods, %d placed and ready (%v), %d pending or terminating", len(list), len(got.pods), got.zones, pending)
		return len(got.pods) == want && pending == 0, nil
	})
	if err != nil {
		t.Fatalf("%s/%s: not %d pods placed and ready: %v; last: %s\nscheduler log tail:\n%s", ns, name, want, err, last,
			env.ComponentLogTail("kube-scheduler"))
	}
	return got
}

// waitEndpoints waits until the EndpointSlices of Service name hold want
// ready endpoints, and counts them per zone as the EndpointSlice
// controller published them.
func waitEndpoints(t testing.TB, ns, name string, want int) simulate.Zones {
	t.Helper()
	env := envtest.For(t)
	var zones simulate.Zones
	last := ""
	err := wait.PollUntilContextTimeout(ctx(t, 2*time.Minute), 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		list := &discoveryv1.EndpointSliceList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: name}); err != nil {
			last = err.Error()
			return false, nil
		}
		zones = simulate.Zones{}
		total := 0
		for _, s := range list.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready == nil || !*e.Conditions.Ready {
					continue
				}
				total++
				if e.Zone == nil || *e.Zone == "" {
					last = fmt.Sprintf("endpoint %v has no zone", e.Addresses)
					return false, nil
				}
				zones[*e.Zone]++
			}
		}
		last = fmt.Sprintf("%d ready endpoints %v in %d slices", total, zones, len(list.Items))
		return total == want, nil
	})
	if err != nil {
		t.Fatalf("Service %s/%s: not %d ready endpoints: %v; last: %s", ns, name, want, err, last)
	}
	return zones
}

// full reports whether every node of zone holds as many pods as it can.
func (c *cluster) full(t testing.TB, zone string) bool {
	t.Helper()
	list := &corev1.PodList{}
	if err := envtest.For(t).Client.List(ctx(t, 30*time.Second), list); err != nil {
		t.Fatal(err)
	}
	used := map[string]int{}
	for _, p := range list.Items {
		if p.Spec.NodeName != "" && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			used[p.Spec.NodeName]++
		}
	}
	for n, z := range c.nodeZone {
		if z == zone && used[n] < c.nodePods[n] {
			return false
		}
	}
	return true
}

// skew is the largest difference between two zones' counts, zones of the
// layout without pods counting 0.
func (c *cluster) skew(z simulate.Zones) int {
	lo, hi := -1, 0
	for _, zn := range c.layout.zones {
		n := z[zn.zone]
		if lo < 0 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	return hi - lo
}

// checkSpread fails the test when a zone holds more than maxSkew pods
// above another zone that still has room: the spread inzone asks for,
// wherever capacity allows.
func (c *cluster) checkSpread(t testing.TB, what string, z simulate.Zones, maxSkew int) {
	t.Helper()
	for _, hi := range c.layout.zones {
		for _, lo := range c.layout.zones {
			if z[hi.zone]-z[lo.zone] > maxSkew && !c.full(t, lo.zone) {
				t.Errorf("%s: %s has %d pods, %s %d and room for more: skew over %d (%v)", what, hi.zone, z[hi.zone], lo.zone, z[lo.zone], maxSkew, z)
			}
		}
	}
}

// formatZones is "a:3 b:3 c:3" over the layout's zones.
func (c *cluster) formatZones(z simulate.Zones) string {
	var parts []string
	for _, zn := range c.layout.zones {
		parts = append(parts, fmt.Sprintf("%s:%d", strings.TrimPrefix(zn.zone, "us-east-1"), z[zn.zone]))
	}
	return strings.Join(parts, " ")
}

// sortedZoneNames are z's zones, sorted.
func sortedZoneNames(z simulate.Zones) []string {
	var names []string
	for n := range z {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
