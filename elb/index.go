package elb

import (
	"sort"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
)

// Index maps ELB hostnames to the LoadBalancer Services behind them, from
// the claims of the Services it is told about (see Claim). The webhook feeds
// it from a Service informer's events, so the admission path only reads a
// map and never calls the API server; `kubectl inzone audit` feeds it the
// Services it listed, so both resolve a hostname the same way.
//
// Several Services may share a hostname (a migration, a second Service on the
// same NLB): the index counts every claim, so deleting one keeps the others'.
// When claims disagree on the DDSD name, the oldest Service wins (creation
// time, then namespace/name): a Service created later cannot take over a
// hostname already in use, and every replica picks the same winner, whatever
// the order it heard of the Services in. The conflict is logged, naming the
// Services. It is safe for concurrent use.
type Index struct {
	mu sync.RWMutex
	// byHost is each hostname's resolved answer, recomputed on every change
	// to its claims so Resolve is one map read.
	byHost map[string]ServiceRef
	// claims are, per hostname, the Services whose status holds it.
	claims map[string]map[ServiceRef]claim
	// hosts remembers each Service's hostnames so an update or delete can
	// drop the ones it no longer has.
	hosts map[ServiceRef][]string
	log   logr.Logger
}

// claim is one Service's claim on a hostname.
type claim struct {
	target  ServiceRef
	created time.Time
}

// NewIndex returns an empty index that logs ignored and conflicting claims
// to log.
func NewIndex(log logr.Logger) *Index {
	return &Index{
		byHost: map[string]ServiceRef{},
		claims: map[string]map[ServiceRef]claim{},
		hosts:  map[ServiceRef][]string{},
		log:    log,
	}
}

// Resolve returns the Service a DDSD name is made for, for a canonical
// hostname (see Canonical).
func (x *Index) Resolve(key string) (ServiceRef, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	ref, ok := x.byHost[key]
	return ref, ok
}

// Len is the number of hostnames known.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byHost)
}

// Set records a Service's ELB hostnames (none when it is not a LoadBalancer
// with an ELB ingress, or when its inzone.io/ddsd-name annotation is not a
// DNS label), replacing what it claimed before. The DDSD service name is the
// Service's name or that annotation.
func (x *Index) Set(svc *corev1.Service) {
	key := ServiceRef{Namespace: svc.Namespace, Name: svc.Name}
	target, hosts, err := Claim(svc)
	if err != nil {
		x.log.Info("warning: ignoring a Service's ELB claim", "service", svc.Namespace+"/"+svc.Name, "reason", err.Error())
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	touched := x.dropLocked(key)
	for _, h := range hosts {
		if x.claims[h] == nil {
			x.claims[h] = map[ServiceRef]claim{}
		}
		x.claims[h][key] = claim{target: target, created: svc.CreationTimestamp.Time}
		touched = append(touched, h)
	}
	if len(hosts) > 0 {
		x.hosts[key] = hosts
	}
	x.resolveLocked(touched)
}

// Delete forgets a Service.
func (x *Index) Delete(namespace, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.resolveLocked(x.dropLocked(ServiceRef{Namespace: namespace, Name: name}))
}

// dropLocked removes a Service's claims and returns the hostnames it held.
func (x *Index) dropLocked(key ServiceRef) []string {
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
func (x *Index) resolveLocked(hosts []string) {
	for _, h := range hosts {
		claims := x.claims[h]
		if len(claims) == 0 {
			delete(x.byHost, h)
			continue
		}
		owners := make([]ServiceRef, 0, len(claims))
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

func refLess(a, b ServiceRef) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}
