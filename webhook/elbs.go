package webhook

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/inzone-io/inzone/mutate"
)

// ELBIndex maps ELB hostnames to the LoadBalancer Services behind them. It is
// fed by a Service informer's events, so the admission path only reads a map
// and never calls the API server.
type ELBIndex struct {
	mu     sync.RWMutex
	byHost map[string]mutate.ServiceRef
	// hosts remembers each Service's hostnames so an update or delete can
	// drop the ones it no longer has.
	hosts map[mutate.ServiceRef][]string
}

var _ mutate.ELBResolver = (*ELBIndex)(nil)

// NewELBIndex returns an empty index.
func NewELBIndex() *ELBIndex {
	return &ELBIndex{byHost: map[string]mutate.ServiceRef{}, hosts: map[mutate.ServiceRef][]string{}}
}

// ResolveELB implements mutate.ELBResolver.
func (x *ELBIndex) ResolveELB(key string) (mutate.ServiceRef, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	ref, ok := x.byHost[key]
	return ref, ok
}

// Len is the number of hostnames known.
func (x *ELBIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byHost)
}

// Set records a Service's ELB hostnames (none when it is not a LoadBalancer
// with an ELB ingress). The DDSD service name is the Service's name or its
// inzone.io/ddsd-name annotation.
func (x *ELBIndex) Set(svc *corev1.Service) {
	key := mutate.ServiceRef{Namespace: svc.Namespace, Name: svc.Name}
	target, hosts := mutate.ServiceELBs(svc)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dropLocked(key)
	for _, h := range hosts {
		x.byHost[h] = target
	}
	if len(hosts) > 0 {
		x.hosts[key] = hosts
	}
}

// Delete forgets a Service.
func (x *ELBIndex) Delete(namespace, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dropLocked(mutate.ServiceRef{Namespace: namespace, Name: name})
}

func (x *ELBIndex) dropLocked(key mutate.ServiceRef) {
	for _, h := range x.hosts[key] {
		delete(x.byHost, h)
	}
	delete(x.hosts, key)
}

// EventHandler keeps the index current from a Service informer.
func (x *ELBIndex) EventHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { x.onUpsert(obj) },
		UpdateFunc: func(_, obj any) { x.onUpsert(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if svc, ok := obj.(*corev1.Service); ok {
				x.Delete(svc.Namespace, svc.Name)
			}
		},
	}
}

func (x *ELBIndex) onUpsert(obj any) {
	if svc, ok := obj.(*corev1.Service); ok {
		x.Set(svc)
	}
}
