package e2e

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/inzone-io/inzone/mutate"
)

const (
	zoneEnvName  = mutate.DefaultZoneEnvName
	zoneLabel    = mutate.DefaultZoneLabel
	zoneFieldRef = "metadata.labels['" + zoneLabel + "']"
)

// sidecarAt is an inzone-proxy container and the list it is in.
type sidecarAt struct {
	c    corev1.Container
	init bool
}

// sidecars are every inzone-proxy container of the pod, in either list.
func sidecars(pod *corev1.Pod) []sidecarAt {
	var out []sidecarAt
	for _, c := range pod.Spec.InitContainers {
		if c.Name == mutate.SidecarName {
			out = append(out, sidecarAt{c, true})
		}
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == mutate.SidecarName {
			out = append(out, sidecarAt{c, false})
		}
	}
	return out
}

// appContainers are the pod's init and regular containers but the sidecar.
func appContainers(pod *corev1.Pod) []corev1.Container {
	var out []corev1.Container
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		if c.Name != mutate.SidecarName {
			out = append(out, c)
		}
	}
	return out
}

func container(t testing.TB, pod *corev1.Pod, name string) corev1.Container {
	t.Helper()
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("pod %s has no container %s", pod.Name, name)
	return corev1.Container{}
}

func envVars(c corev1.Container, name string) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, e := range c.Env {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func zoneConstraints(pod *corev1.Pod) []corev1.TopologySpreadConstraint {
	var out []corev1.TopologySpreadConstraint
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.TopologyKey == zoneLabel {
			out = append(out, c)
		}
	}
	return out
}

// inzoneAnnotations are the inzone.io/ annotations inzone writes.
func inzoneAnnotations(pod *corev1.Pod) map[string]string {
	out := map[string]string{}
	for _, k := range []string{mutate.AnnotationStatus, mutate.AnnotationDDSDRewrites} {
		if v, ok := pod.Annotations[k]; ok {
			out[k] = v
		}
	}
	return out
}

// status parses inzone.io/status; ok is false when it is absent.
func status(t testing.TB, pod *corev1.Pod) (s mutate.Status, ok bool) {
	t.Helper()
	v, ok := pod.Annotations[mutate.AnnotationStatus]
	if !ok {
		return s, false
	}
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		t.Fatalf("annotation %s=%q does not parse: %v", mutate.AnnotationStatus, v, err)
	}
	return s, true
}

// rewrites parses inzone.io/ddsd-rewrites.
func rewrites(t testing.TB, pod *corev1.Pod) []mutate.DDSDRewrite {
	t.Helper()
	v, ok := pod.Annotations[mutate.AnnotationDDSDRewrites]
	if !ok {
		return nil
	}
	var out []mutate.DDSDRewrite
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		t.Fatalf("annotation %s=%q does not parse: %v", mutate.AnnotationDDSDRewrites, v, err)
	}
	return out
}

// argAfter is the argument that follows flag, and whether flag is there.
func argAfter(args []string, flag string) (string, bool) {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// mutations says which of inzone's mutations a stored pod must show.
type mutations struct{ sidecar, zoneEnv, spread, ddsd bool }

func (m mutations) applied() []string {
	var out []string
	if m.sidecar { // traffic capture (iptables by default) comes with the sidecar
		out = append(out, mutate.MutationCapture)
	}
	if m.ddsd {
		out = append(out, mutate.MutationDDSDRewrite)
	}
	if m.sidecar {
		out = append(out, mutate.MutationSidecar)
	}
	if m.spread {
		out = append(out, mutate.MutationSpread)
	}
	if m.zoneEnv {
		out = append(out, mutate.MutationZoneEnv)
	}
	return out // sorted, as the status annotation is
}

var all = mutations{sidecar: true, zoneEnv: true, spread: true, ddsd: true}

// checkMutations asserts that exactly the wanted mutations show in pod, each
// exactly once, for a pod built from testdata/web-pod.yaml.
func checkMutations(t testing.TB, pod *corev1.Pod, want mutations) {
	t.Helper()
	sc := sidecars(pod)
	switch {
	case want.sidecar && len(sc) != 1:
		t.Errorf("pod %s: want exactly one %s container, found %d", pod.Name, mutate.SidecarName, len(sc))
	case !want.sidecar && len(sc) != 0:
		t.Errorf("pod %s: want no %s container, found %d", pod.Name, mutate.SidecarName, len(sc))
	}
	for _, s := range sc {
		if n := len(envVars(s.c, zoneEnvName)); n != 1 {
			t.Errorf("pod %s: sidecar has %d %s env vars, want 1", pod.Name, n, zoneEnvName)
		}
	}
	for _, c := range appContainers(pod) {
		n := len(envVars(c, zoneEnvName))
		if want.zoneEnv && n != 1 || !want.zoneEnv && n != 0 {
			t.Errorf("pod %s: container %s has %d %s env vars, want %d", pod.Name, c.Name, n, zoneEnvName, btoi(want.zoneEnv))
		}
	}
	if n := len(zoneConstraints(pod)); want.spread && n != 1 || !want.spread && n != 0 {
		t.Errorf("pod %s: %d topologySpreadConstraints on %s, want %d", pod.Name, n, zoneLabel, btoi(want.spread))
	}
	app := container(t, pod, "app")
	wantURL := ordersURL
	if want.ddsd {
		wantURL = strings.Replace(ordersURL, ordersELB, ordersDDSD, 1)
	}
	if got := envValue(app, "URL"); got != wantURL {
		t.Errorf("pod %s: env URL = %q, want %q", pod.Name, got, wantURL)
	}
	st, ok := status(t, pod)
	wantApplied := want.applied()
	switch {
	case len(wantApplied) == 0 && ok:
		t.Errorf("pod %s: want no %s annotation, got %q", pod.Name, mutate.AnnotationStatus, pod.Annotations[mutate.AnnotationStatus])
	case len(wantApplied) > 0 && !ok:
		t.Errorf("pod %s: no %s annotation; annotations: %v", pod.Name, mutate.AnnotationStatus, pod.Annotations)
	case ok && !reflect.DeepEqual(st.Applied, wantApplied):
		t.Errorf("pod %s: %s applied = %v, want %v", pod.Name, mutate.AnnotationStatus, st.Applied, wantApplied)
	}
	if _, ok := pod.Annotations[mutate.AnnotationDDSDRewrites]; ok != want.ddsd {
		t.Errorf("pod %s: %s annotation present = %v, want %v", pod.Name, mutate.AnnotationDDSDRewrites, ok, want.ddsd)
	}
}

// checkUnmutated asserts pod is stored as sent, as far as inzone is
// concerned: same containers, env, args, constraints and annotations.
func checkUnmutated(t testing.TB, sent, stored *corev1.Pod) {
	t.Helper()
	if len(sidecars(stored)) != 0 || len(stored.Spec.InitContainers) != len(sent.Spec.InitContainers) {
		t.Errorf("pod %s: init containers %v, want %v", stored.Name, names(stored.Spec.InitContainers), names(sent.Spec.InitContainers))
	}
	if !reflect.DeepEqual(names(stored.Spec.Containers), names(sent.Spec.Containers)) {
		t.Errorf("pod %s: containers %v, want %v", stored.Name, names(stored.Spec.Containers), names(sent.Spec.Containers))
	}
	for i := range min(len(sent.Spec.Containers), len(stored.Spec.Containers)) {
		s, g := sent.Spec.Containers[i], stored.Spec.Containers[i]
		if !reflect.DeepEqual(g.Env, s.Env) || !reflect.DeepEqual(g.Args, s.Args) || !reflect.DeepEqual(g.Command, s.Command) {
			t.Errorf("pod %s: container %s changed:\n env  %v\n args %v\nwant\n env  %v\n args %v", stored.Name, g.Name, g.Env, g.Args, s.Env, s.Args)
		}
	}
	if !reflect.DeepEqual(stored.Spec.TopologySpreadConstraints, sent.Spec.TopologySpreadConstraints) {
		t.Errorf("pod %s: topologySpreadConstraints %v, want %v", stored.Name, stored.Spec.TopologySpreadConstraints, sent.Spec.TopologySpreadConstraints)
	}
	if len(stored.Annotations) != len(sent.Annotations) || !reflect.DeepEqual(stored.Labels, sent.Labels) {
		t.Errorf("pod %s: metadata changed: labels %v annotations %v, want labels %v annotations %v", stored.Name, stored.Labels, stored.Annotations, sent.Labels, sent.Annotations)
	}
	for k, v := range sent.Annotations {
		if stored.Annotations[k] != v {
			t.Errorf("pod %s: annotation %s = %q, want %q", stored.Name, k, stored.Annotations[k], v)
		}
	}
}

func names(cs []corev1.Container) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// containsWith reports whether a warning contains every part.
func containsWith(warnings []string, parts ...string) bool {
	for _, w := range warnings {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(w, p)
		}
		if ok {
			return true
		}
	}
	return false
}
