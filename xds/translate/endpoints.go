package translate

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/inzone-io/inzone/elb"
)

// calleeSet is the served Services' endpoints, by DDSD name and Service
// port, merged across the Sources: in each, the Service of a DDSD name's
// owner namespace (see claim), if it has one.
type calleeSet struct {
	ports map[string]map[int32]hostSet // DDSD name -> Service port -> endpoints
	ready map[string]addrSet           // DDSD name -> ready addresses, every IP family (DNS)
}

func newCalleeSet() *calleeSet {
	return &calleeSet{ports: map[string]map[int32]hostSet{}, ready: map[string]addrSet{}}
}

func (c *calleeSet) name(ddsd string) {
	if c.ports[ddsd] == nil {
		c.ports[ddsd] = map[int32]hostSet{}
		c.ready[ddsd] = addrSet{}
	}
}

func (c *calleeSet) port(ddsd string, port int32) hostSet {
	c.name(ddsd)
	if c.ports[ddsd][port] == nil {
		c.ports[ddsd][port] = hostSet{}
	}
	return c.ports[ddsd][port]
}

// sortedPorts is a DDSD name's Service ports, ascending.
func (c *calleeSet) sortedPorts(ddsd string) []int32 {
	ports := make([]int32, 0, len(c.ports[ddsd]))
	for p := range c.ports[ddsd] {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	return ports
}

func (c *calleeSet) sortedNames() []string {
	names := make([]string, 0, len(c.ports))
	for n := range c.ports {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (c *calleeSet) loadAssignments() []*endpointv3.ClusterLoadAssignment {
	var out []*endpointv3.ClusterLoadAssignment
	for _, name := range c.sortedNames() {
		for _, p := range c.sortedPorts(name) {
			out = append(out, loadAssignment(ClusterName(name, p), c.ports[name][p]))
		}
	}
	return out
}

// calleeService is a Service inzone serves, with its DDSD name and the
// TCP ports served (at most MaxServicePorts, ascending).
type calleeService struct {
	svc   *corev1.Service
	ddsd  string
	ports []corev1.ServicePort
}

// collectCallees adds one Source's Services and their EndpointSlices. Each
// Service claims its DDSD name in own, which already holds the injected
// pods' claims (see claim): a Service is served only if the name's owner,
// the oldest claim of either kind, is in its namespace, and only the
// oldest Service of that namespace claiming the name; the others are not
// served and are reported, naming the owner.
// An EndpointSlice counts only for the Service it names in its own
// namespace. Each Service is bounded (MaxServicePorts, MaxEndpointsPerPort,
// MaxDNSAddrsPerService) before it is merged with the other Sources' owners
// of the same name.
func (t *Translator) collectCallees(src *Source, nodes map[string]*corev1.Node, own owners, callees *calleeSet, out *Output) {
	var claims []calleeService
	// The oldest Service claiming each name in each namespace: the owner
	// may be a pod, whose namespace then serves its own Service.
	firstService := namespaceOwners{}
	for _, svc := range src.Services {
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue // a DNS alias: no endpoints of its own to serve
		}
		// A Service whose inzone.io/ddsd-name is refused is not served under
		// another name: as for its ELB claims, not a name its owner did not
		// mean.
		target, _, err := elb.Claim(svc)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "Service "+svc.Namespace+"/"+svc.Name+": ")
			out.Problems = append(out.Problems, Problem{src.Name, "Service", svc.Namespace, svc.Name, "not served: " + msg})
			continue
		}
		ddsd := t.engine.DDSDName(target.Name, svc.Namespace)
		if msg := validDDSDName(ddsd); msg != "" {
			out.Problems = append(out.Problems, Problem{src.Name, "Service", svc.Namespace, svc.Name, msg})
			continue
		}
		claims = append(claims, calleeService{svc: svc, ddsd: ddsd})
		c := claimOf("Service", &svc.ObjectMeta)
		own.offer(ddsd, c)
		firstService.offer(ddsd, c)
	}
	services := map[[2]string]calleeService{}
	mine := newCalleeSet() // this Source's owners, before the bounds
	for _, cs := range claims {
		owner := own[cs.ddsd]
		if owner.namespace == cs.svc.Namespace {
			owner = firstService[[2]string{cs.ddsd, cs.svc.Namespace}]
		}
		if owner.kind != "Service" || owner.namespace != cs.svc.Namespace || owner.name != cs.svc.Name {
			out.Problems = append(out.Problems, Problem{src.Name, "Service", cs.svc.Namespace, cs.svc.Name, "not served: " + lostTo(cs.ddsd, owner)})
			continue
		}
		cs.ports = servedPorts(src, cs.svc, out)
		services[[2]string{cs.svc.Namespace, cs.svc.Name}] = cs
		mine.name(cs.ddsd)
		for _, sp := range cs.ports {
			mine.port(cs.ddsd, sp.Port)
		}
	}
	for _, slice := range src.EndpointSlices {
		cs, ok := services[[2]string{slice.Namespace, slice.Labels[discoveryv1.LabelServiceName]}]
		if !ok || slice.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		t.addSlice(src, nodes, cs, slice, mine, out)
	}
	for _, cs := range services {
		mergeBounded(src, cs, mine, callees, out)
	}
}

// servedPorts is a Service's TCP ports, ascending, at most MaxServicePorts;
// the ports cut are a Problem.
func servedPorts(src *Source, svc *corev1.Service, out *Output) []corev1.ServicePort {
	var ports []corev1.ServicePort
	for _, sp := range svc.Spec.Ports {
		if isTCP(sp.Protocol) {
			ports = append(ports, sp)
		}
	}
	// Sorted, then one per number (the API refuses duplicates; a test or
	// another source may not), in O(n log n) for a Service of any size.
	slices.SortStableFunc(ports, func(a, b corev1.ServicePort) int { return cmp.Compare(a.Port, b.Port) })
	ports = slices.CompactFunc(ports, func(a, b corev1.ServicePort) bool { return a.Port == b.Port })
	if len(ports) > MaxServicePorts {
		out.Problems = append(out.Problems, Problem{src.Name, "Service", svc.Namespace, svc.Name, fmt.Sprintf(
			"%d of its %d TCP ports not served, from port %d up: at most %d per Service, the lowest; requests to the others go to their original destination",
			len(ports)-MaxServicePorts, len(ports), ports[MaxServicePorts].Port, MaxServicePorts)})
		ports = ports[:MaxServicePorts]
	}
	return ports
}

// mergeBounded adds one Service's endpoints, bounded, to the callees of
// every Source. In the usual case, one Source, its sets are moved, not
// copied.
func mergeBounded(src *Source, cs calleeService, mine, callees *calleeSet, out *Output) {
	callees.name(cs.ddsd)
	for _, p := range mine.sortedPorts(cs.ddsd) {
		hosts, cut := capHosts(mine.ports[cs.ddsd][p], MaxEndpointsPerPort)
		if cut > 0 {
			out.Problems = append(out.Problems, Problem{src.Name, "Service", cs.svc.Namespace, cs.svc.Name, fmt.Sprintf(
				"port %d: %d of its %d endpoints not served: at most %d per Service port, each zone keeping its share",
				p, cut, cut+len(hosts), MaxEndpointsPerPort)})
		}
		if callees.ports[cs.ddsd][p] == nil {
			callees.ports[cs.ddsd][p] = hosts
			continue
		}
		into := callees.ports[cs.ddsd][p]
		for k, h := range hosts {
			into.add(k, h)
		}
	}
	addrs, cut := capAddrs(mine.ready[cs.ddsd], MaxDNSAddrsPerService)
	if cut > 0 {
		out.Problems = append(out.Problems, Problem{src.Name, "Service", cs.svc.Namespace, cs.svc.Name, fmt.Sprintf(
			"DNS: %d of its %d ready addresses not served: at most %d per Service, the lowest",
			cut, cut+len(addrs), MaxDNSAddrsPerService)})
	}
	if len(callees.ready[cs.ddsd]) == 0 {
		callees.ready[cs.ddsd] = addrs
		return
	}
	for a := range addrs {
		callees.ready[cs.ddsd][a] = struct{}{}
	}
}

// addSlice adds one EndpointSlice's endpoints to every port of its Service.
// Ready endpoints are HEALTHY, serving and terminating ones DRAINING, the
// rest are left out. Only the Service's primary IP family goes to Envoy (a
// dual-stack pod would otherwise count twice in its zone); DNS gets both.
func (t *Translator) addSlice(src *Source, nodes map[string]*corev1.Node, cs calleeService, slice *discoveryv1.EndpointSlice, callees *calleeSet, out *Output) {
	primary := primaryFamily(cs.svc, slice.AddressType)
	type portPair struct {
		service int32
		target  uint32
	}
	var ports []portPair
	for _, sp := range cs.ports {
		for _, ep := range slice.Ports {
			if ep.Port != nil && *ep.Port > 0 && *ep.Port <= 65535 && deref(ep.Name) == sp.Name && isTCP(derefProto(ep.Protocol)) {
				ports = append(ports, portPair{sp.Port, uint32(*ep.Port)})
				break
			}
		}
	}
	for i := range slice.Endpoints {
		ep := &slice.Endpoints[i]
		if len(ep.Addresses) == 0 {
			continue
		}
		// Consumers use the first address only (the API's rule).
		addr, err := netip.ParseAddr(ep.Addresses[0])
		if err != nil {
			out.Problems = append(out.Problems, Problem{src.Name, "EndpointSlice", slice.Namespace, slice.Name,
				"endpoint address " + truncate(ep.Addresses[0], 64) + " is not an IP address; left out"})
			continue
		}
		addr = addr.Unmap()
		ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready
		serving := ready
		if ep.Conditions.Serving != nil {
			serving = *ep.Conditions.Serving
		}
		terminating := ep.Conditions.Terminating != nil && *ep.Conditions.Terminating
		healthy := ready && !terminating
		draining := !healthy && serving && terminating
		if healthy {
			callees.ready[cs.ddsd][addr] = struct{}{}
		}
		if !(healthy || draining) || !primary || len(ports) == 0 {
			continue
		}
		var node *corev1.Node
		nodeName := deref(ep.NodeName)
		if nodeName != "" {
			node = nodes[nodeName]
		}
		loc := nodeLocality(deref(ep.Zone), node, t.cfg.ZoneLabel)
		if loc.zone == "" {
			out.Unzoned = append(out.Unzoned, UnzonedEndpoint{src.Name, slice.Namespace, "EndpointSlice/" + slice.Name, addr.String(), nodeName, cs.ddsd})
		}
		for _, p := range ports {
			callees.port(cs.ddsd, p.service).add(hostKey{addr, p.target}, host{loc: loc, draining: draining})
		}
	}
}

// primaryFamily reports whether a slice's address type is the Service's
// primary IP family. A Service without ipFamilies (selectorless, or as a
// test builds it) takes every family.
func primaryFamily(svc *corev1.Service, at discoveryv1.AddressType) bool {
	if len(svc.Spec.IPFamilies) == 0 {
		return true
	}
	switch svc.Spec.IPFamilies[0] {
	case corev1.IPv4Protocol:
		return at == discoveryv1.AddressTypeIPv4
	case corev1.IPv6Protocol:
		return at == discoveryv1.AddressTypeIPv6
	}
	return false
}

// isTCP: Envoy's listeners here carry TCP only; "" is TCP (the API default).
func isTCP(p corev1.Protocol) bool { return p == "" || p == corev1.ProtocolTCP }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefProto(p *corev1.Protocol) corev1.Protocol {
	if p == nil {
		return ""
	}
	return *p
}
