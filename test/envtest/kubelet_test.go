package envtest

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestSetRunningReady(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		NodeName: "n1",
		InitContainers: []corev1.Container{
			{Name: "setup", Image: "setup:1"},
			{Name: "proxy", Image: "envoy:1", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)},
		},
		Containers: []corev1.Container{{Name: "app", Image: "app:1"}},
	}}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	now := metav1.Now()
	setRunningReady(pod, netip.MustParseAddr("10.200.0.7"), now)

	st := pod.Status
	if st.Phase != corev1.PodRunning || st.PodIP != "10.200.0.7" || len(st.PodIPs) != 1 || st.PodIPs[0].IP != "10.200.0.7" || st.StartTime == nil {
		t.Errorf("phase %s, IP %s %v, start %v", st.Phase, st.PodIP, st.PodIPs, st.StartTime)
	}
	if !IsPodReady(pod) {
		t.Error("not Ready")
	}
	seen := map[corev1.PodConditionType]int{}
	for _, c := range st.Conditions {
		seen[c.Type]++
		if c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s is %s", c.Type, c.Status)
		}
	}
	for _, want := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if seen[want] != 1 {
			t.Errorf("condition %s appears %d times", want, seen[want])
		}
	}
	if len(st.InitContainerStatuses) != 2 || st.InitContainerStatuses[0].State.Terminated == nil || st.InitContainerStatuses[1].State.Running == nil || !st.InitContainerStatuses[1].Ready {
		t.Errorf("init container statuses %+v: want setup completed, proxy running and ready", st.InitContainerStatuses)
	}
	if len(st.ContainerStatuses) != 1 || st.ContainerStatuses[0].Name != "app" || st.ContainerStatuses[0].State.Running == nil || !st.ContainerStatuses[0].Ready {
		t.Errorf("container statuses %+v", st.ContainerStatuses)
	}
}

func TestKubeletAddresses(t *testing.T) {
	k := &Kubelet{ips: map[types.UID]netip.Addr{}, next: PodCIDR.Addr().Next()}
	a, err := k.ipFor("pod-a")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := k.ipFor("pod-a")
	b, _ := k.ipFor("pod-b")
	if a != again || a == b || !PodCIDR.Contains(a) || !PodCIDR.Contains(b) || a == PodCIDR.Addr() {
		t.Errorf("pod-a %s then %s, pod-b %s: want one stable address each, in %s, not the network address", a, again, b, PodCIDR)
	}
	// The last address of the range is never handed out.
	k.next = netip.MustParseAddr("10.200.255.254")
	if last, err := k.ipFor("pod-c"); err != nil || last.String() != "10.200.255.254" {
		t.Fatalf("pod-c: %s, %v", last, err)
	}
	if ip, err := k.ipFor("pod-d"); err == nil || !strings.Contains(err.Error(), "no address left") {
		t.Errorf("pod-d: %s, %v: want the range exhausted", ip, err)
	}
}

func TestKubeletNeedsWork(t *testing.T) {
	ready := []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	tests := []struct {
		name string
		pod  corev1.Pod
		want bool
	}{
		{"an unbound pod is the scheduler's", corev1.Pod{}, false},
		{"a bound pod without an IP", corev1.Pod{Spec: corev1.PodSpec{NodeName: "n"}}, true},
		{"a bound pod with an IP, not Ready", corev1.Pod{Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{PodIP: "10.200.0.1"}}, true},
		{"a bound, Ready pod with an IP", corev1.Pod{Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{PodIP: "10.200.0.1", Conditions: ready}}, false},
		{"a bound pod labelled to be skipped", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{KubeletSkipLabel: "true"}}, Spec: corev1.PodSpec{NodeName: "n"}}, false},
		{"a bound, Ready pod marked for deletion", corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: ptr.To(metav1.Now())}, Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{PodIP: "10.200.0.1", Conditions: ready}}, true},
	}
	k := &Kubelet{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := k.needsWork(&tt.pod); got != tt.want {
				t.Errorf("needsWork = %v, want %v", got, tt.want)
			}
		})
	}
}
