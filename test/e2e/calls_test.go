package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
)

// callsValid are inzone.io/calls values the webhook admits, kept as written.
var callsValid = []struct{ name, value string }{
	{"a service name and a full DDSD name", "orders," + paymentsDDSD},
	{"every service", mutate.CallsAll},
}

// callsHostile are inzone.io/calls values the webhook refuses, with a part of
// the reason its denial must give.
var callsHostile = []struct{ name, value, reason string }{
	{"shell metacharacters", "$(rm -rf /)", "not a service name"},
	{"YAML metacharacters", "{a: b}", "not a service name"},
	{"a newline", "orders\npayments", "not a service name"},
	{"300 names", manyNames(300), fmt.Sprintf("at most %d", mutate.MaxCalls)},
	{"20 KiB", strings.Repeat("a", 20<<10), "bytes long"},
}

// maxDenialBytes bounds the denial message: the value is clipped in it
// however large it is.
const maxDenialBytes = 1024

// manyNames is n distinct valid service names, comma-separated.
func manyNames(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("svc%d", i)
	}
	return strings.Join(names, ",")
}

// checkCallsDenial asserts that msg is inzone's denial naming
// inzone.io/calls with reason, and short.
func checkCallsDenial(t *testing.T, msg, reason string) {
	t.Helper()
	for _, part := range []string{`"` + envtest.WebhookName + `" denied`, mutate.AnnotationCalls, reason} {
		if !strings.Contains(msg, part) {
			t.Errorf("message %.300q does not contain %q", msg, part)
		}
	}
	if len(msg) > maxDenialBytes {
		t.Errorf("message is %d bytes long, want at most %d: the value must be clipped", len(msg), maxDenialBytes)
	}
}

// TestCallsAnnotationPods: a Pod whose inzone.io/calls parses is admitted,
// mutated, with the annotation stored as written; a hostile value is
// refused at admission naming the annotation, and no pod is stored.
func TestCallsAnnotationPods(t *testing.T) {
	env := envtest.For(t)
	ns := namespace(t, true)
	withCalls := func(v string) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Annotations = map[string]string{mutate.AnnotationCalls: v} }
	}
	for i, tc := range callsValid {
		t.Run("admitted: "+tc.name, func(t *testing.T) {
			pod, _ := create(t, webPod(t, ns, fmt.Sprintf("calls-ok-%d", i), withCalls(tc.value)))
			if got := pod.Annotations[mutate.AnnotationCalls]; got != tc.value {
				t.Errorf("stored %s = %q, want %q as written", mutate.AnnotationCalls, got, tc.value)
			}
			checkMutations(t, pod, all)
		})
	}

	bad := namespace(t, true)
	for i, tc := range callsHostile {
		t.Run("denied: "+tc.name, func(t *testing.T) {
			name := fmt.Sprintf("calls-bad-%d", i)
			_, _, err := env.CreatePod(ctx(t), webPod(t, bad, name, withCalls(tc.value)))
			if err == nil {
				t.Fatalf("the create with %s=%.60q succeeded; want it denied", mutate.AnnotationCalls, tc.value)
			}
			if !apierrors.IsForbidden(err) {
				t.Errorf("error %.300q is not Forbidden (reason %s)", err, apierrors.ReasonForError(err))
			}
			checkCallsDenial(t, err.Error(), tc.reason)
			if err := env.Client.Get(ctx(t), client.ObjectKey{Namespace: bad, Name: name}, &corev1.Pod{}); !apierrors.IsNotFound(err) {
				t.Errorf("Get after the denied create: err = %v, want NotFound", err)
			}
		})
	}
	t.Run("no pod is stored for a denied value", func(t *testing.T) {
		var pods corev1.PodList
		if err := env.Client.List(ctx(t), &pods, client.InNamespace(bad)); err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) != 0 {
			t.Errorf("namespace %s holds %d pods, want none", bad, len(pods.Items))
		}
	})
}

// TestCallsAnnotationDeployments: the webhook sees pods, not Deployments, so
// a Deployment with a hostile inzone.io/calls on its template is stored;
// what refuses it is the admission of the pods its ReplicaSet creates, and
// the API server's controllers report that denial on the ReplicaSet and the
// Deployment (condition ReplicaFailure, reason FailedCreate), where
// `kubectl describe` shows it. No pod is ever stored. A valid value reaches
// the pods as written.
func TestCallsAnnotationDeployments(t *testing.T) {
	env := envtest.For(t)
	for _, tc := range callsValid {
		t.Run("admitted: "+tc.name, func(t *testing.T) {
			ns := namespace(t, true)
			createCallsDeployment(t, env, ns, tc.value)
			var pod corev1.Pod
			poll(t, "a pod of the Deployment", func(c context.Context) (bool, error) {
				var pods corev1.PodList
				if err := env.Client.List(c, &pods, client.InNamespace(ns)); err != nil || len(pods.Items) == 0 {
					return false, err
				}
				pod = pods.Items[0]
				return true, nil
			})
			if got := pod.Annotations[mutate.AnnotationCalls]; got != tc.value {
				t.Errorf("pod %s: %s = %q, want %q as written", pod.Name, mutate.AnnotationCalls, got, tc.value)
			}
			checkMutations(t, &pod, all)
		})
	}
	for _, tc := range callsHostile {
		t.Run("denied: "+tc.name, func(t *testing.T) {
			ns := namespace(t, true)
			d := createCallsDeployment(t, env, ns, tc.value)
			var rsFailure, deployFailure string
			poll(t, "the ReplicaSet's and the Deployment's ReplicaFailure condition", func(c context.Context) (bool, error) {
				var pods corev1.PodList
				if err := env.Client.List(c, &pods, client.InNamespace(ns)); err != nil {
					return false, err
				}
				if len(pods.Items) != 0 {
					return false, fmt.Errorf("pod %s was stored: %s = %.60q was admitted", pods.Items[0].Name, mutate.AnnotationCalls, tc.value)
				}
				var sets appsv1.ReplicaSetList
				if err := env.Client.List(c, &sets, client.InNamespace(ns)); err != nil {
					return false, err
				}
				for _, rs := range sets.Items {
					for _, cond := range rs.Status.Conditions {
						if cond.Type == appsv1.ReplicaSetReplicaFailure && cond.Status == corev1.ConditionTrue && cond.Reason == "FailedCreate" {
							rsFailure = cond.Message
						}
					}
				}
				if err := env.Client.Get(c, client.ObjectKeyFromObject(d), d); err != nil {
					return false, err
				}
				for _, cond := range d.Status.Conditions {
					if cond.Type == appsv1.DeploymentReplicaFailure && cond.Status == corev1.ConditionTrue && cond.Reason == "FailedCreate" {
						deployFailure = cond.Message
					}
				}
				return rsFailure != "" && deployFailure != "", nil
			})
			checkCallsDenial(t, rsFailure, tc.reason)
			checkCallsDenial(t, deployFailure, tc.reason)
			var pods corev1.PodList
			if err := env.Client.List(ctx(t), &pods, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			if len(pods.Items) != 0 {
				t.Errorf("namespace %s holds %d pods, want none", ns, len(pods.Items))
			}
		})
	}
}

// createCallsDeployment creates a one-replica Deployment of the web pod in
// ns whose template declares inzone.io/calls: calls.
func createCallsDeployment(t *testing.T, env *envtest.Env, ns, calls string) *appsv1.Deployment {
	t.Helper()
	pod := webPod(t, ns, "")
	labels := map[string]string{"app.kubernetes.io/name": "calls"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "calls"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{mutate.AnnotationCalls: calls}},
				Spec:       pod.Spec,
			},
		},
	}
	if err := env.Client.Create(ctx(t), d); err != nil {
		t.Fatalf("creating Deployment %s/%s: %v", ns, d.Name, err)
	}
	return d
}

// poll waits, within a bound, until done reports true; what names what is
// awaited, for the failure message.
func poll(t *testing.T, what string, done wait.ConditionWithContextFunc) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(ctx(t), 100*time.Millisecond, 30*time.Second, true, done); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
