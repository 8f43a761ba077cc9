package webhook

import (
	"sort"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/inzone-io/inzone/mutate"
)

// ELBIndex maps ELB hostnames to the LoadBalancer Services behind them. It is
// fed by a Service informer's events, so the admission path only reads a map
// and never calls the API server.
//
// Several Services may share a hostname (a migration, a second Service on the
// same NLB): the index counts every claim, so deleting one keeps the others'.
// When claims disagree on the DDSD name, the oldest Service wins (creation
// time, then namespace/name): a Service created later cannot take over a
// hostname already in use, and every replica picks the same winner. The
// conflict is logged, naming the Services.
type ELBIndex struct {
	mu sync.RWMutex
	// byHost is each hostname's resolved answer, recomputed on every change
	// to its claims so ResolveELB is one map read.
	byHost map[string]mutate.ServiceRef
	// claims are, per hostname, the Services whose status holds it.
	claims map[string]map[mutate.ServiceRef]elbClaim
	// hosts remembers each Service's hostnames so an update or delete can
	// drop the ones it no longer has.
	hosts map[mutate.ServiceRef][]string
	log   logr.Logger
}

// elbClaim is one Service's claim on a hostname.
type elbClaim struct {
	target  mutate.ServiceRef
	created time.Time
}

var _ mutate.ELBResolver = (*ELBIndex)(nil)

// NewELBIndex returns an empty index that logs ignored and conflicting
// claims to log.
func NewELBIndex(log logr.Logger) *ELBIndex {
	return &ELBIndex{
		byHost: map[string]mutate.ServiceRef{},
		claims: map[string]map[mutate.ServiceRef]elbClaim{},
		hosts:  map[mutate.ServiceRef][]string{},
		log:    log,
	}
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
// with an ELB ingress, or when its inzone.io/ddsd-name annotation is not a
// DNS label). The DDSD service name is the Service's name or that annotation.
func (x *ELBIndex) Set(svc *corev1.Service) {
	key := mutate.ServiceRef{Namespace: svc.Namespace, Name: svc.Name}
	target, hosts, err := mutate.CheckServiceELBs(svc)
	if err != nil {
		x.log.Info("warning: ignoring a Service's ELB claim", "service", svc.Namespace+"/"+svc.Name, "reason", err.Error())
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	touched := x.dropLocked(key)
	for _, h := range hosts {
		if x.claims[h] == nil {
			x.claims[h] = map[mutate.ServiceRef]elbClaim{}
		}
		x.claims[h][key] = elbClaim{target: target, created: svc.CreationTimestamp.Time}
		touched = append(touched, h)
	}
	if len(hosts) > 0 {
		x.hosts[key] = hosts
	}
	x.resolveLocked(touched)
}

// Delete forgets a Service.
func (x *ELBIndex) Delete(namespace, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.resolveLocked(x.dropLocked(mutate.ServiceRef{Namespace: namespace, Name: name}))
}

// dropLocked removes a Service's claims and returns the hostnames it held.
func (x *ELBIndex) dropLocked(key mutate.ServiceRef) []string {
	hosts := x.hosts[key]
	for _, h := range hosts {
		delete(x.claims[h], key)
		if len(x.claims[h]) == 0 {
			delete(x.claims, h)
		}
	}
	delete(x.hosts, key)
	return hosts
}

// resolveLocked recomputes the answer for hosts from their remaining claims.
func (x *ELBIndex) resolveLocked(hosts []string) {
	for _, h := range hosts {
		claims := x.claims[h]
		if len(claims) == 0 {
			delete(x.byHost, h)
			continue
		}
		owners := make([]mutate.ServiceRef, 0, len(claims))
		for k := range claims {
			owners = append(owners, k)
		}
		sort.Slice(owners, func(i, j int) bool {
			a, b := claims[owners[i]], claims[owners[j]]
			if !a.created.Equal(b.created) {
				return a.created.Before(b.created)
			}
			return refLess(owners[i], owners[j])
		})
		winner := claims[owners[0]]
		x.byHost[h] = winner.target
		for _, o := range owners[1:] {
			if claims[o].target != winner.target {
				x.log.Info("warning: conflicting ELB claims; the oldest Service wins", "host", h,
					"winner", owners[0].Namespace+"/"+owners[0].Name, "ddsd", winner.target.Namespace+"/"+winner.target.Name,
					"ignored", o.Namespace+"/"+o.Name, "ignoredDDSD", claims[o].target.Namespace+"/"+claims[o].target.Name)
			}
		}
	}
}

func refLess(a, b mutate.ServiceRef) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
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
