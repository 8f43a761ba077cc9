package workload

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Of returns the workload kind of a typed object (as a clientset lists it)
// and a pointer to the spec of its pod template, or of the Pod itself: the
// object's own, not a copy. ok is false when obj is not a workload, is a nil
// pointer, or has no pod template (a ReplicationController's is optional).
// It is TemplatePath for typed objects; the tests hold the two to the same
// field.
func Of(obj runtime.Object) (k Kind, spec *corev1.PodSpec, ok bool) {
	k, spec, _ = of(obj)
	if spec == nil {
		return Kind{}, nil, false
	}
	return k, spec, true
}

// KindOf returns the workload kind of a typed object, and whether it is a
// workload and not a nil pointer, with or without a pod template.
func KindOf(obj runtime.Object) (Kind, bool) {
	k, _, present := of(obj)
	return k, present
}

// of is Of and KindOf: the kind, the template's spec (nil without one) and
// whether obj is a workload that is not a nil pointer.
func of(obj runtime.Object) (k Kind, spec *corev1.PodSpec, present bool) {
	var group, kind string
	switch o := obj.(type) {
	case *appsv1.Deployment:
		group, kind = "apps", "Deployment"
		if o != nil {
			present = true
			spec = &o.Spec.Template.Spec
		}
	case *appsv1.StatefulSet:
		group, kind = "apps", "StatefulSet"
		if o != nil {
			present = true
			spec = &o.Spec.Template.Spec
		}
	case *appsv1.DaemonSet:
		group, kind = "apps", "DaemonSet"
		if o != nil {
			present = true
			spec = &o.Spec.Template.Spec
		}
	case *appsv1.ReplicaSet:
		group, kind = "apps", "ReplicaSet"
		if o != nil {
			present = true
			spec = &o.Spec.Template.Spec
		}
	case *corev1.ReplicationController:
		group, kind = "", "ReplicationController"
		present = o != nil
		if o != nil && o.Spec.Template != nil {
			spec = &o.Spec.Template.Spec
		}
	case *batchv1.Job:
		group, kind = "batch", "Job"
		if o != nil {
			present = true
			spec = &o.Spec.Template.Spec
		}
	case *batchv1.CronJob:
		group, kind = "batch", "CronJob"
		if o != nil {
			present = true
			spec = &o.Spec.JobTemplate.Spec.Template.Spec
		}
	case *corev1.Pod:
		group, kind = "", "Pod"
		if o != nil {
			present = true
			spec = &o.Spec
		}
	}
	if !present {
		return Kind{}, nil, false
	}
	k, _ = lookup(group, kind)
	return k, spec, true
}
