package auditcmd

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/inzone-io/inzone/workload"
)

// workloadLister lists one page of a workload kind's objects in namespace
// ns ("" for all) with the typed clientset, as pointers to typed objects
// (audit.Input.Workloads), with the list's continue token.
type workloadLister func(ctx context.Context, c kubernetes.Interface, ns string, opts metav1.ListOptions) ([]runtime.Object, string, error)

// workloadListers has a lister for each workload kind of package workload
// but Pod (listed as audit.Input.Pods): the one place the audit names a
// kind's client, since the clientset has a typed method per kind.
// TestEveryWorkloadKindHasALister holds it to workload.Kinds().
var workloadListers = map[schema.GroupKind]workloadLister{
	{Group: "apps", Kind: "Deployment"}: func(ctx context.Context, c kubernetes.Interface, ns string, opts metav1.ListOptions) ([]runtime.Object, string, error) {
		l, err := c.AppsV1().Deployments(ns).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return pointers(l.Items), l.Continue, nil
	},
	{Group: "apps", Kind: "StatefulSet"}: func(ctx context.Context, c kubernetes.Interface, ns string, opts metav1.ListOptions) ([]runtime.Object, string, error) {
		l, err := c.AppsV1().StatefulSets(ns).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return pointers(l.Items), l.Continue, nil
	},
	{Group: "apps", Kind: "DaemonSet"}: func(ctx context.Context, c kubernetes.Interface, ns string, opts metav1.ListOptions) ([]runtime.Object, string, error) {
		l, err := c.AppsV1().DaemonSets(ns).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return pointers(l.Items), l.Continue, nil
	},
	{Group: "apps", Kind: "ReplicaSet"}: func(ctx context.Context, c kubernetes.Interface, ns string, opts metav1.ListOptions) ([]runtime.Object, string, error) {
		l, err := c.AppsV1().ReplicaSets(ns).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return pointers(l.Items), l.Continue, nil
	},
	{Group: "", Kind: "ReplicationController"}: func(ctx context.Context, c kubernetes.Interface, ns string, opts metav1.ListOptions) ([]runtime.Object, string, error) {
		l, err := c.CoreV1().ReplicationControllers(ns).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return pointers(l.Items), l.Continue, nil
	},
	{Group: "batch", Kind: "Job"}: func(ctx context.Context, c kubernetes.Interface, ns string, opts metav1.ListOptions) ([]runtime.Object, string, error) {
		l, err := c.BatchV1().Jobs(ns).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return pointers(l.Items), l.Continue, nil
	},
	{Group: "batch", Kind: "CronJob"}: func(ctx context.Context, c kubernetes.Interface, ns string, opts metav1.ListOptions) ([]runtime.Object, string, error) {
		l, err := c.BatchV1().CronJobs(ns).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return pointers(l.Items), l.Continue, nil
	},
}

// pointers points at each listed item, without copying it.
func pointers[T any, PT interface {
	*T
	runtime.Object
}](items []T) []runtime.Object {
	out := make([]runtime.Object, len(items))
	for i := range items {
		out[i] = PT(&items[i])
	}
	return out
}

// listedWorkloadKinds are the workload kinds the audit lists through
// workloadListers, in workload.Kinds()'s order: every kind but Pod.
func listedWorkloadKinds() []workload.Kind {
	var out []workload.Kind
	for _, k := range workload.Kinds() {
		if k.GroupVersionKind().GroupKind() != podKind {
			out = append(out, k)
		}
	}
	return out
}

// podKind is Pod's group and kind: listed as audit.Input.Pods, not
// through workloadListers.
var podKind = schema.GroupKind{Kind: "Pod"}

// listWorkloads lists every object of kind k in namespace ns ("" for all).
func listWorkloads(ctx context.Context, p *progress, c kubernetes.Interface, k workload.Kind, ns string) ([]runtime.Object, error) {
	list := workloadListers[k.GroupVersionKind().GroupKind()]
	if list == nil {
		return nil, fmt.Errorf("listing %s: no lister for the kind %s", k.GroupResource(), k.Kind)
	}
	return listAll(ctx, p, k.GroupResource().String(), ns, func(opts metav1.ListOptions) ([]runtime.Object, string, error) {
		return list(ctx, c, ns, opts)
	})
}
