package workload

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// ControllerOf returns the workload that controls a pod, and whether one
// does: its controller owner, with a Deployment's ReplicaSet reported as the
// Deployment. A Deployment names its ReplicaSets <deployment>-<hash> and
// labels their pods pod-template-hash=<hash>, so the Deployment is read off
// the pod alone, without listing ReplicaSets. A CronJob's Job stays a Job:
// nothing on the pod names the CronJob, only the Job's own owner reference.
func ControllerOf(pod *corev1.Pod) (kind, name string, ok bool) {
	for _, o := range pod.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		if o.Kind == "ReplicaSet" {
			if h := pod.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; h != "" && strings.HasSuffix(o.Name, "-"+h) {
				return "Deployment", strings.TrimSuffix(o.Name, "-"+h), true
			}
		}
		return o.Kind, o.Name, true
	}
	return "", "", false
}
