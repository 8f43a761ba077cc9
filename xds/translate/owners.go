package translate

import (
	"cmp"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// claim is an object that wants a DDSD name in one Kubernetes cluster: a
// Service (its callee clusters and DNS answer) or an injected pod (its
// identity's local cluster).
//
// Within one cluster a DDSD name has one owner, the oldest claim of either
// kind (creation time, then namespace/name, then kind), as elb.Index
// settles ELB hostnames: every replica picks the same owner whatever order
// it heard of the objects in, and an object created later cannot take over
// a name already in use, whether a Service or only injected pods hold it.
// The owner's namespace owns the name: its oldest Service claiming the name
// is served under it, and its pods are the identity's members. The default
// name template has no {namespace}, so without this any namespace could add
// endpoints to another team's name.
type claim struct {
	kind      string // "Service" or "Pod"
	namespace string
	name      string
	created   time.Time
}

func claimOf(kind string, m *metav1.ObjectMeta) claim {
	return claim{kind: kind, namespace: m.Namespace, name: m.Name, created: m.CreationTimestamp.Time}
}

// older reports whether a's claim comes before b's.
func (a claim) older(b claim) bool {
	if !a.created.Equal(b.created) {
		return a.created.Before(b.created)
	}
	return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name), cmp.Compare(a.kind, b.kind)) < 0
}

// String names the claim for a problem: "Service shop/orders (created
// 2024-05-01T10:00:00Z)".
func (a claim) String() string {
	s := a.kind + " " + a.namespace + "/" + a.name
	if !a.created.IsZero() {
		s += " (created " + a.created.UTC().Format(time.RFC3339) + ")"
	}
	return s
}

// owners keeps the oldest claim of each DDSD name, Services' and pods' in
// one map per Kubernetes cluster.
type owners map[string]claim

// offer records c's claim on ddsd and reports whether it is the oldest so far.
func (o owners) offer(ddsd string, c claim) bool {
	if old, ok := o[ddsd]; ok && !c.older(old) {
		return false
	}
	o[ddsd] = c
	return true
}

// namespaceOwners keeps the oldest claim of each DDSD name in each
// namespace (keyed by name, then namespace).
type namespaceOwners map[[2]string]claim

func (o namespaceOwners) offer(ddsd string, c claim) {
	k := [2]string{ddsd, c.namespace}
	if old, ok := o[k]; !ok || c.older(old) {
		o[k] = c
	}
}

// lostTo is the problem of a claim that is not served because owner holds
// the name.
func lostTo(ddsd string, owner claim) string {
	return "DDSD name " + strconv.Quote(ddsd) + " belongs to " + owner.String() +
		": within one cluster the oldest claim of a name keeps it"
}
