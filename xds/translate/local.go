package translate

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/inzone-io/inzone/mutate"
)

// localSet is every service identity's pods: the local cluster Envoy
// compares the callee's zone spread with.
type localSet struct {
	hosts map[string]hostSet   // DDSD name -> ready pods
	addrs map[string]addrSet   // DDSD name -> ready pods' IPs, every family (DNS)
	calls map[string]*declared // DDSD name -> what its pods declare they call
}

func newLocalSet() *localSet {
	return &localSet{hosts: map[string]hostSet{}, addrs: map[string]addrSet{}, calls: map[string]*declared{}}
}

// loadAssignments has one resource per identity with an injected pod, ready
// or not: a starting sidecar asks for its own local cluster before its pod
// is ready, and over ADS the answer waits until every name it asks for
// exists.
func (l *localSet) loadAssignments() []*endpointv3.ClusterLoadAssignment {
	names := make([]string, 0, len(l.hosts))
	for n := range l.hosts {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]*endpointv3.ClusterLoadAssignment, 0, len(names))
	for _, n := range names {
		out = append(out, loadAssignment(n, l.hosts[n]))
	}
	return out
}

// injected is a pod the webhook gave a sidecar, with the local cluster
// name it counts under.
type injected struct {
	pod  *corev1.Pod
	name string
}

// injectedPods is the pods of src that count under a local cluster name,
// each offered to own as a claim on that name (see claim): an identity's
// pods hold its name as a Service does, so a Service created later in
// another namespace cannot take it over. Every name a sidecar announces
// gets a local cluster, maybe empty: a sidecar waits for it before
// anything else.
//
// A pod counts under the name its sidecar was given at injection
// (mutate.SidecarLocalCluster), only while its identity still renders that
// name (mutate.Engine.LocalClusterName: the pod's identity rendered in the
// pod's own namespace).
//
// Only a placed pod counts (see placed): a pod that never runs would
// otherwise hold a name for free, forever.
func (t *Translator) injectedPods(src *Source, nodes map[string]*corev1.Node, own owners, locals *localSet, out *Output) []injected {
	members := make([]injected, 0, len(src.Pods))
	for _, pod := range src.Pods {
		if !mutate.HasSidecar(pod) || !placed(pod, nodes) {
			continue
		}
		name, ok := t.engine.LocalClusterName(pod)
		if !ok {
			continue // no identity: the webhook gives such a pod no sidecar
		}
		if msg := validDDSDName(name); msg != "" {
			out.Problems = append(out.Problems, Problem{src.Name, "Pod", pod.Namespace, pod.Name, msg})
			continue
		}
		// Labels and annotations can change after admission, the sidecar's
		// args cannot: a pod counts only under the name its sidecar was
		// given, so relabeling an old pod neither moves it to another
		// identity nor makes it an old claim on one.
		if written, _ := mutate.SidecarLocalCluster(pod); written != name {
			out.Problems = append(out.Problems, Problem{src.Name, "Pod", pod.Namespace, pod.Name, fmt.Sprintf(
				"not counted in any local cluster: its sidecar was given %s %q, and its identity renders %q now (its labels or %s changed since, or the name template did; a new pod gets the new name)",
				mutate.ServiceClusterFlag, truncate(written, 80), name, mutate.AnnotationService)})
			continue
		}
		if locals.hosts[name] == nil {
			locals.hosts[name] = hostSet{}
			locals.addrs[name] = addrSet{}
		}
		members = append(members, injected{pod, name})
		own.offer(name, claimOf("Pod", &pod.ObjectMeta))
	}
	return members
}

// placed reports whether pod is on a node of its Source and not finished:
// spec.nodeName set to a known node, status.phase neither Succeeded nor
// Failed. Any tenant can create a pod with the sidecar's container name and
// another team's identity labels and a nodeSelector no node matches: it is
// never scheduled, costs nothing and lasts forever, and as a claim it would
// keep the name from a Service created later. A pod that runs, or is about
// to, takes a node's resources; a tenant who sets spec.nodeName to a node
// that does not exist gets no claim either. Its sidecar runs only once the
// pod is on a node, so an unplaced pod needs no local cluster, and a
// finished pod's sidecar has stopped.
func placed(pod *corev1.Pod, nodes map[string]*corev1.Node) bool {
	if pod.Spec.NodeName == "" || nodes[pod.Spec.NodeName] == nil {
		return false
	}
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// collectLocals adds the injected pods to their identities' local clusters,
// whether or not a Service selects them: a worker that only calls others
// still needs its own zone spread.
//
// Any tenant can create a pod with a container named like the sidecar and
// the labels of another team's identity, and with a name template without
// {namespace} its name renders the same in every namespace. So within one
// cluster an identity's members are the pods of the namespace owning its
// name in own, the oldest claim of a Service or an injected pod (see
// claim). Pods of other namespaces are not counted, neither in the local
// cluster nor in the name's DNS answer, and are reported.
func (t *Translator) collectLocals(src *Source, nodes map[string]*corev1.Node, members []injected, own owners, locals *localSet, out *Output) {
	outsiders := map[[2]string][]string{} // DDSD name, namespace -> pod names
	for _, m := range members {
		pod, name := m.pod, m.name
		if owner := own[name]; pod.Namespace != owner.namespace {
			k := [2]string{name, pod.Namespace}
			outsiders[k] = append(outsiders[k], pod.Name)
			continue
		}
		// Every pod of the identity counts, ready or not: a starting pod's
		// sidecar needs its view before the pod is ready.
		t.collectCalls(src, pod, name, locals, out)
		if !podReady(pod) {
			continue
		}
		addr, err := netip.ParseAddr(pod.Status.PodIP)
		if err != nil {
			continue
		}
		addr = addr.Unmap()
		for _, ip := range pod.Status.PodIPs {
			if a, err := netip.ParseAddr(ip.IP); err == nil {
				locals.addrs[name][a.Unmap()] = struct{}{}
			}
		}
		locals.addrs[name][addr] = struct{}{}
		loc := podLocality(pod, nodes[pod.Spec.NodeName], t.cfg.ZoneLabel)
		if loc.zone == "" {
			out.Unzoned = append(out.Unzoned, UnzonedEndpoint{src.Name, pod.Namespace, "Pod/" + pod.Name, addr.String(), pod.Spec.NodeName, name})
		}
		// The local cluster is never dialled (only its zone spread counts);
		// the port is the sidecar's inbound one, where the pod does listen.
		locals.hosts[name].add(hostKey{addr, uint32(t.cfg.Sidecar.InboundPort)}, host{loc: loc})
	}
	for k, pods := range outsiders {
		name, ns := k[0], k[1]
		slices.Sort(pods)
		out.Problems = append(out.Problems, Problem{src.Name, "Pod", ns, pods[0], fmt.Sprintf(
			"not counted, nor any pod of namespace %s with that identity (%d in all), in local cluster %q or its DNS answer: %s",
			ns, len(pods), name, lostTo(name, own[name]))})
	}
}

// podLocality is where a pod runs: its node's zone and region labels,
// which the platform sets, and only when its node has none (or, for a
// caller without the node, node is nil) the pod's own labels, which its owner can set to anything. The
// webhook's sidecar reads its own zone from the pod's label, which the API
// server's PodTopologyLabels admission copies from the node at binding, so
// the two agree wherever that plugin runs; where a pod's label disagrees
// with its node, the node is where the pod is.
func podLocality(pod *corev1.Pod, node *corev1.Node, zoneLabel string) locality {
	var l locality
	if node != nil {
		l = locality{zone: node.Labels[zoneLabel], region: node.Labels[corev1.LabelTopologyRegion]}
	}
	return locality{zone: cmp.Or(l.zone, pod.Labels[zoneLabel]), region: cmp.Or(l.region, pod.Labels[corev1.LabelTopologyRegion])}
}

// podReady: running, Ready, not being deleted.
func podReady(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Status.PodIP == "" || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
