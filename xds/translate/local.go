package translate

import (
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

// collectLocals adds the pods the webhook gave a sidecar, under the local
// cluster name the webhook computed for them (mutate.Engine.LocalClusterName),
// whether or not a Service selects them: a worker that only calls others
// still needs its own zone spread.
func (t *Translator) collectLocals(src *Source, nodes map[string]*corev1.Node, locals *localSet, out *Output) {
	for _, pod := range src.Pods {
		if !mutate.HasSidecar(pod) {
			continue
		}
		name, ok := t.engine.LocalClusterName(pod)
		if !ok {
			continue // the webhook gave it no sidecar either; an imitation is not trusted
		}
		if msg := validDDSDName(name); msg != "" {
			out.Problems = append(out.Problems, Problem{src.Name, "Pod", pod.Namespace, pod.Name, msg})
			continue
		}
		if locals.hosts[name] == nil {
			locals.hosts[name] = hostSet{}
			locals.addrs[name] = addrSet{}
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
		loc := locality{zone: pod.Labels[t.cfg.ZoneLabel], region: pod.Labels[corev1.LabelTopologyRegion]}
		if node := nodes[pod.Spec.NodeName]; node != nil {
			n := nodeLocality("", node, t.cfg.ZoneLabel)
			loc.zone = cmpOr(loc.zone, n.zone)
			loc.region = cmpOr(loc.region, n.region)
		}
		if loc.zone == "" {
			out.Unzoned = append(out.Unzoned, UnzonedEndpoint{src.Name, pod.Namespace, "Pod/" + pod.Name, addr.String(), pod.Spec.NodeName, name})
		}
		// The local cluster is never dialled (only its zone spread counts);
		// the port is the sidecar's inbound one, where the pod does listen.
		locals.hosts[name].add(hostKey{addr, uint32(t.cfg.Sidecar.InboundPort)}, host{loc: loc})
	}
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

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
