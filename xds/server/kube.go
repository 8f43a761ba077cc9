package server

import (
	"context"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/inzone-io/inzone/elb"
	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/translate"
)

// Kube reads one Kubernetes cluster through informers: Services,
// EndpointSlices, Pods and Nodes, list and watch only. Objects are trimmed
// to what translation reads before they are cached, so a pod costs a few
// hundred bytes however large its spec.
type Kube struct {
	name     string
	local    bool
	factory  informers.SharedInformerFactory
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	pods     corelisters.PodLister
	nodes    corelisters.NodeLister
}

// NewKube sets up the informers; onChange is called on every change that
// can alter what is served (the Server's Changed). local marks the cluster
// the sidecars run in (translate.Source's Local).
func NewKube(name string, local bool, cs kubernetes.Interface, onChange func()) (*Kube, error) {
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTransform(trim))
	k := &Kube{
		name:     name,
		local:    local,
		factory:  f,
		services: f.Core().V1().Services().Lister(),
		slices:   f.Discovery().V1().EndpointSlices().Lister(),
		pods:     f.Core().V1().Pods().Lister(),
		nodes:    f.Core().V1().Nodes().Lister(),
	}
	// Node heartbeats, pod status churn, a Service's status, a slice's
	// target references change nothing served: only a change of what trim
	// keeps counts.
	kept := cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { onChange() },
		UpdateFunc: func(o, n any) {
			if !sameKept(o, n) {
				onChange()
			}
		},
		DeleteFunc: func(any) { onChange() },
	}
	for _, h := range []struct {
		inf     cache.SharedIndexInformer
		handler cache.ResourceEventHandler
	}{
		{f.Core().V1().Services().Informer(), kept},
		{f.Discovery().V1().EndpointSlices().Informer(), kept},
		{f.Core().V1().Pods().Informer(), kept},
		{f.Core().V1().Nodes().Informer(), kept},
	} {
		if _, err := h.inf.AddEventHandler(h.handler); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Start starts the informers; they stop with ctx.
func (k *Kube) Start(ctx context.Context) { k.factory.Start(ctx.Done()) }

// WaitForSync blocks until every informer listed its objects, or ctx ends.
func (k *Kube) WaitForSync(ctx context.Context) bool {
	for _, ok := range k.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return false
		}
	}
	return true
}

// Shutdown waits for the informers' goroutines after ctx ended.
func (k *Kube) Shutdown() { k.factory.Shutdown() }

// Read lists the cached objects; they are shared with the cache and must
// not be modified.
func (k *Kube) Read() translate.Source {
	src := translate.Source{Name: k.name, Local: k.local}
	src.Services, _ = k.services.List(labels.Everything())
	src.EndpointSlices, _ = k.slices.List(labels.Everything())
	src.Pods, _ = k.pods.List(labels.Everything())
	src.Nodes, _ = k.nodes.List(labels.Everything())
	return src
}

// trim keeps what translation reads. It runs before an object is cached.
func trim(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return trimPod(o), nil
	case *corev1.Node:
		return trimNode(o), nil
	case *corev1.Service:
		return trimService(o), nil
	case *discoveryv1.EndpointSlice:
		return trimSlice(o), nil
	}
	return obj, nil
}

// trimService keeps what translation reads (elb.Claim's DDSD name
// override, the creation time that decides who owns a DDSD name, the type,
// the ports, the IP families): not the status, the
// selector, the cluster IPs, the other annotations.
func trimService(s *corev1.Service) *corev1.Service {
	t := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, UID: s.UID, ResourceVersion: s.ResourceVersion, CreationTimestamp: s.CreationTimestamp}}
	if v, ok := s.Annotations[elb.AnnotationDDSDName]; ok {
		t.Annotations = map[string]string{elb.AnnotationDDSDName: v}
	}
	t.Spec.Type = s.Spec.Type
	t.Spec.IPFamilies = s.Spec.IPFamilies
	t.Spec.Ports = make([]corev1.ServicePort, len(s.Spec.Ports))
	for i, p := range s.Spec.Ports {
		t.Spec.Ports[i] = corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, Port: p.Port}
	}
	return t
}

// trimSlice keeps what translation reads: the Service's name label, the
// address type, the ports, and each endpoint's addresses, conditions,
// node and zone; not the endpoints' target references and hints, which
// cost more than the rest of an endpoint.
func trimSlice(s *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	t := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, UID: s.UID, ResourceVersion: s.ResourceVersion},
		AddressType: s.AddressType,
		Ports:       s.Ports,
		Endpoints:   make([]discoveryv1.Endpoint, len(s.Endpoints)),
	}
	if v, ok := s.Labels[discoveryv1.LabelServiceName]; ok {
		t.Labels = map[string]string{discoveryv1.LabelServiceName: v}
	}
	for i, e := range s.Endpoints {
		t.Endpoints[i] = discoveryv1.Endpoint{Addresses: e.Addresses, Conditions: e.Conditions, NodeName: e.NodeName, Zone: e.Zone}
	}
	return t
}

func trimPod(p *corev1.Pod) *corev1.Pod {
	t := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
		Labels: p.Labels, DeletionTimestamp: p.DeletionTimestamp,
		// Orders the pod's claim on its identity's DDSD name against other
		// pods' and Services' (translate's owners).
		CreationTimestamp: p.CreationTimestamp,
	}}
	for _, k := range []string{mutate.AnnotationService, mutate.AnnotationCalls} {
		if v, ok := p.Annotations[k]; ok {
			if t.Annotations == nil {
				t.Annotations = map[string]string{}
			}
			// A value larger than the webhook accepts is not kept: it is
			// refused at admission, and translation ignores it anyway.
			if k == mutate.AnnotationCalls && len(v) > mutate.MaxCallsBytes {
				v = v[:mutate.MaxCallsBytes+1]
			}
			t.Annotations[k] = v
		}
	}
	t.Spec.NodeName = p.Spec.NodeName
	if mutate.HasSidecar(p) {
		// Only the sidecar's presence and the local cluster name it was
		// given are read; the app's containers are not. A name longer than
		// any DNS name is cut one byte past that, so it still matches none.
		c := corev1.Container{Name: mutate.SidecarName}
		if name, ok := mutate.SidecarLocalCluster(p); ok {
			c.Args = []string{mutate.ServiceClusterFlag, name[:min(len(name), validation.DNS1123SubdomainMaxLength+1)]}
		}
		t.Spec.Containers = []corev1.Container{c}
	}
	t.Status.Phase = p.Status.Phase
	t.Status.PodIP = p.Status.PodIP
	t.Status.PodIPs = p.Status.PodIPs
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			t.Status.Conditions = []corev1.PodCondition{{Type: c.Type, Status: c.Status}}
		}
	}
	return t
}

// maxPodCIDRs bounds the pod CIDRs kept per node, and maxCIDRLen each
// one's length (an IPv6 CIDR is at most 43 bytes): the API server accepts
// at most one per IP family, valid, but the bound does not rely on it.
const (
	maxPodCIDRs = 2
	maxCIDRLen  = 64
)

// trimNode keeps the labels (zone, region) and the pod CIDRs (whether the
// listeners bind ::), copied so the original's are not held.
func trimNode(n *corev1.Node) *corev1.Node {
	t := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion, Labels: n.Labels}}
	for _, c := range n.Spec.PodCIDRs {
		if len(t.Spec.PodCIDRs) == maxPodCIDRs {
			break
		}
		if len(c) <= maxCIDRLen {
			t.Spec.PodCIDRs = append(t.Spec.PodCIDRs, c)
		}
	}
	return t
}

// sameKept compares two trimmed objects, ignoring resourceVersion.
func sameKept(o, n any) bool {
	switch a := o.(type) {
	case *corev1.Pod:
		b, ok := n.(*corev1.Pod)
		return ok && sameButVersion(*a, *b)
	case *corev1.Service:
		b, ok := n.(*corev1.Service)
		return ok && sameButVersion(*a, *b)
	case *discoveryv1.EndpointSlice:
		b, ok := n.(*discoveryv1.EndpointSlice)
		return ok && sameButVersion(*a, *b)
	case *corev1.Node:
		b, ok := n.(*corev1.Node)
		return ok && maps.Equal(a.Labels, b.Labels) && slices.Equal(a.Spec.PodCIDRs, b.Spec.PodCIDRs)
	}
	return false
}

// sameButVersion compares two copies of trimmed objects, their
// resourceVersion aside.
func sameButVersion[T any, P interface {
	*T
	SetResourceVersion(string)
}](x, y T) bool {
	P(&x).SetResourceVersion("")
	P(&y).SetResourceVersion("")
	return equality.Semantic.DeepEqual(&x, &y)
}
