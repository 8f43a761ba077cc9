package audit

import (
	"sort"
	"strconv"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	"github.com/inzone-io/inzone/elb"
	"github.com/inzone-io/inzone/mutate"
)

// NewELBIndex indexes the ELB hostnames of the live LoadBalancer Services
// with the webhook's rules (elb.Index): a Service claims the hostnames in its
// status for itself or its inzone.io/ddsd-name, and a hostname two Services
// claim goes to the older one, whatever the order of the list. Ignored and
// conflicting claims are not logged: the audit reports what the webhook
// would do.
func NewELBIndex(services []corev1.Service) *elb.Index {
	idx := elb.NewIndex(logr.Discard())
	for i := range services {
		idx.Set(&services[i])
	}
	return idx
}

// ELBReference is a live object that still calls a LoadBalancer Service by
// its ELB hostname instead of its DDSD name.
type ELBReference struct {
	// Service is the LoadBalancer Service (namespace/name) whose status
	// holds the hostname.
	Service string `json:"service"`
	// Host is the hostname as written.
	Host string `json:"host"`
	// DDSD is the name to call instead.
	DDSD string `json:"ddsd"`
	// Object is the referring object: Kind/namespace/name (FilePath).
	Object string `json:"object"`
	Kind   string `json:"kind"`
	// Field is where: "container app env ORDERS_URL", "container app
	// args[1]", "data key envoy.yaml".
	Field string `json:"field"`
}

// elbScanner finds ELB hostnames of live Services in objects' strings.
type elbScanner struct {
	idx  *elb.Index
	ddsd *mutate.Engine
	out  []ELBReference
}

func (s *elbScanner) scan(kind, namespace, name, field, value string) {
	for _, m := range elb.Find(value) {
		ref, ok := s.idx.Resolve(m.Key)
		if !ok {
			continue
		}
		s.out = append(s.out, ELBReference{
			Service: ref.Namespace + "/" + ref.Name, Host: m.Host, DDSD: s.ddsd.DDSDName(ref.Name, ref.Namespace),
			Object: FilePath(kind, namespace, name), Kind: kind, Field: field,
		})
	}
}

func (s *elbScanner) podSpec(kind, namespace, name string, spec *corev1.PodSpec) {
	for _, list := range []struct {
		label string
		cs    []corev1.Container
	}{{"init container", spec.InitContainers}, {"container", spec.Containers}} {
		for _, c := range list.cs {
			if c.Name == mutate.SidecarName {
				continue
			}
			where := list.label + " " + c.Name
			for _, e := range c.Env {
				if e.Value != "" {
					s.scan(kind, namespace, name, where+" env "+e.Name, e.Value)
				}
			}
			for i, a := range c.Args {
				s.scan(kind, namespace, name, where+" args["+strconv.Itoa(i)+"]", a)
			}
			for i, a := range c.Command {
				s.scan(kind, namespace, name, where+" command["+strconv.Itoa(i)+"]", a)
			}
		}
	}
}

func (s *elbScanner) configMap(cm *corev1.ConfigMap) {
	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.scan("ConfigMap", cm.Namespace, cm.Name, "data key "+k, cm.Data[k])
	}
}

// elbReferences scans the live workloads (as linted: see liveWorkloads) and
// ConfigMaps for the ELB hostnames of live LoadBalancer Services.
func elbReferences(in Input, ws []liveWorkload, ddsd *mutate.Engine) []ELBReference {
	s := &elbScanner{idx: NewELBIndex(in.Services), ddsd: ddsd, out: []ELBReference{}}
	if s.idx.Len() == 0 {
		return s.out
	}
	for _, w := range ws {
		s.podSpec(w.kind, w.namespace, w.name, w.spec)
	}
	for i := range in.ConfigMaps {
		s.configMap(&in.ConfigMaps[i])
	}
	sort.SliceStable(s.out, func(i, j int) bool {
		a, b := s.out[i], s.out[j]
		if a.Object != b.Object {
			return a.Object < b.Object
		}
		return a.Field < b.Field
	})
	return s.out
}
