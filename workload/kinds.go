package workload

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Kind is one workload kind.
type Kind struct {
	// Group and Version are the kind's API group ("" for the core group)
	// and the version inzone reads.
	Group, Version string
	// Kind is the kind as written in an object: Deployment.
	Kind string
	// Resource is the plural resource name: deployments.
	Resource string
	// ShortNames are kubectl's short names for the resource: deploy.
	ShortNames []string
	// TemplatePath is where the object keeps its pod template
	// (metadata and spec of the pods it makes): spec.template, or
	// spec.jobTemplate.spec.template for a CronJob. It is empty for a Pod,
	// which is its own pod.
	TemplatePath []string
	// CreatedBy is the kind whose controller creates objects of this kind
	// from its own template, "" when none does: an object it created has
	// its creator's template, and its pods are its creator's workload.
	// Any controller may create a Pod (see Kind.Generated).
	CreatedBy string
}

// The kinds, in the order messages list them. Every kind whose controller
// creates pods from a template in the object is here, with Pod itself.
var kinds = []Kind{
	{Group: "apps", Version: "v1", Kind: "Deployment", Resource: "deployments", ShortNames: []string{"deploy"}, TemplatePath: []string{"spec", "template"}},
	{Group: "apps", Version: "v1", Kind: "StatefulSet", Resource: "statefulsets", ShortNames: []string{"sts"}, TemplatePath: []string{"spec", "template"}},
	{Group: "apps", Version: "v1", Kind: "DaemonSet", Resource: "daemonsets", ShortNames: []string{"ds"}, TemplatePath: []string{"spec", "template"}},
	{Group: "apps", Version: "v1", Kind: "ReplicaSet", Resource: "replicasets", ShortNames: []string{"rs"}, TemplatePath: []string{"spec", "template"}, CreatedBy: "Deployment"},
	{Group: "", Version: "v1", Kind: "ReplicationController", Resource: "replicationcontrollers", ShortNames: []string{"rc"}, TemplatePath: []string{"spec", "template"}},
	{Group: "batch", Version: "v1", Kind: "Job", Resource: "jobs", TemplatePath: []string{"spec", "template"}, CreatedBy: "CronJob"},
	{Group: "batch", Version: "v1", Kind: "CronJob", Resource: "cronjobs", ShortNames: []string{"cj"}, TemplatePath: []string{"spec", "jobTemplate", "spec", "template"}},
	{Group: "", Version: "v1", Kind: "Pod", Resource: "pods", ShortNames: []string{"po"}, TemplatePath: []string{}},
}

// maxNameLen bounds a name Parse reads: longer than any kind, resource or
// short name, so a longer one is unknown without lowering it.
const maxNameLen = 64

// byName maps every lower-case name Parse accepts to its kind's index.
var byName = func() map[string]int {
	m := map[string]int{}
	for i, k := range kinds {
		for _, n := range append([]string{k.Kind, k.Resource}, k.ShortNames...) {
			m[strings.ToLower(n)] = i
		}
	}
	return m
}()

// Kinds returns every workload kind, in the order messages list them: a
// copy, which the caller may change.
func Kinds() []Kind {
	out := slices.Clone(kinds)
	for i := range out {
		out[i].ShortNames = slices.Clone(out[i].ShortNames)
		out[i].TemplatePath = slices.Clone(out[i].TemplatePath)
	}
	return out
}

// lookup returns the workload kind of an object's API group (the part of
// its apiVersion before the '/', "" for the core group) and kind, and
// whether it is one. Matching is exact, as the API server's is.
func lookup(group, kind string) (Kind, bool) {
	for _, k := range kinds {
		if k.Kind == kind && k.Group == group {
			return k, true
		}
	}
	return Kind{}, false
}

// PodTemplatePath returns where an object of the API group and kind keeps
// its pod template (see Kind.TemplatePath: empty for a Pod) and whether the
// kind is a workload at all. The path is shared: callers must not modify
// it.
func PodTemplatePath(group, kind string) (path []string, ok bool) {
	for i := range kinds {
		if kinds[i].Kind == kind && kinds[i].Group == group {
			return slices.Clip(kinds[i].TemplatePath), true
		}
	}
	return nil, false
}

// Parse returns the workload kind a user means by name, as kubectl reads a
// resource: the kind, its plural resource name or a short name, in any
// case (deployment, Deployments, deploy).
func Parse(name string) (Kind, bool) {
	if len(name) > maxNameLen {
		return Kind{}, false
	}
	i, ok := byName[strings.ToLower(name)]
	if !ok {
		return Kind{}, false
	}
	return kinds[i], true
}

// GroupVersionKind is the kind's schema.GroupVersionKind.
func (k Kind) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind}
}

// isPod reports whether the kind is Pod, an object that is its own pod.
func (k Kind) isPod() bool {
	return len(k.TemplatePath) == 0
}

// GroupResource is the kind's schema.GroupResource: deployments.apps as
// its String, replicationcontrollers for the core group.
func (k Kind) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: k.Group, Resource: k.Resource}
}

// Creator returns the workload whose template an object of this kind with
// these owner references was made from, and whether one was: a Pod's
// controller, whatever its kind, or an object's controller of its CreatedBy
// kind (a ReplicaSet's Deployment, a Job's CronJob). Objects of other
// owners (a ReplicaSet of a custom controller) are workloads of their own.
func (k Kind) Creator(refs []metav1.OwnerReference) (kind, name string, ok bool) {
	if !k.isPod() && k.CreatedBy == "" {
		return "", "", false
	}
	for _, o := range refs {
		if o.Controller != nil && *o.Controller && (k.isPod() || o.Kind == k.CreatedBy) {
			return o.Kind, o.Name, true
		}
	}
	return "", "", false
}

// Generated reports whether an object of this kind with these owner
// references was made from another workload's template, so that the
// template is its owner's (see Creator).
func (k Kind) Generated(refs []metav1.OwnerReference) bool {
	_, _, ok := k.Creator(refs)
	return ok
}
