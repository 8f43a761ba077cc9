package workload

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestControllerOf(t *testing.T) {
	pod := func(hash string, refs ...metav1.OwnerReference) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", OwnerReferences: refs}}
		if hash != "" {
			p.Labels = map[string]string{"pod-template-hash": hash}
		}
		return p
	}
	ctrl := func(kind, name string) metav1.OwnerReference {
		return metav1.OwnerReference{Kind: kind, Name: name, Controller: ptr.To(true)}
	}
	for _, tt := range []struct {
		name string
		pod  *corev1.Pod
		want string // kind/name, "" for none
	}{
		{"a Deployment's pod names the Deployment", pod("5d8f", ctrl("ReplicaSet", "web-5d8f")), "Deployment/web"},
		{"a Deployment with dashes in its name keeps them", pod("abc12", ctrl("ReplicaSet", "my-web-app-abc12")), "Deployment/my-web-app"},
		{"a ReplicaSet without the hash label is the ReplicaSet", pod("", ctrl("ReplicaSet", "web-5d8f")), "ReplicaSet/web-5d8f"},
		{"a hash the ReplicaSet's name does not end in is not a Deployment's", pod("zzz", ctrl("ReplicaSet", "web-5d8f")), "ReplicaSet/web-5d8f"},
		{"the hash alone, without a dash, is not a Deployment's", pod("web", ctrl("ReplicaSet", "web")), "ReplicaSet/web"},
		{"a StatefulSet's pod names the StatefulSet", pod("", ctrl("StatefulSet", "db")), "StatefulSet/db"},
		{"a Job's pod names the Job", pod("", ctrl("Job", "nightly-29000000")), "Job/nightly-29000000"},
		{"a custom controller is named as it is", pod("", ctrl("Rollout", "canary")), "Rollout/canary"},
		{"an owner that is not the controller is skipped", pod("", metav1.OwnerReference{Kind: "ReplicaSet", Name: "x"}, ctrl("DaemonSet", "agent")), "DaemonSet/agent"},
		{"a bare pod has no controller", pod(""), ""},
		{"a pod whose owners are not controllers has none", pod("", metav1.OwnerReference{Kind: "Job", Name: "x", Controller: ptr.To(false)}), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kind, name, ok := ControllerOf(tt.pod)
			got := ""
			if ok {
				got = kind + "/" + name
			}
			if got != tt.want {
				t.Errorf("ControllerOf = %q, want %q", got, tt.want)
			}
		})
	}
}
