package mutate

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"

	"github.com/inzone-io/inzone/test/golden"
)

// testEngine builds an engine from testdata/config.yaml.
func testEngine(t testing.TB, native bool) *Engine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(data, "testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(cfg, Options{NativeSidecarSupported: native, ControlPlaneCA: []byte(testControlPlaneCA)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func readPod(t testing.TB, path string) *corev1.Pod {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{}
	if err := yaml.UnmarshalStrict(data, pod); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pod
}

// goldenResult is what a case's .patch.json holds.
type goldenResult struct {
	Error    string           `json:"error,omitempty"`
	Applied  []string         `json:"applied,omitempty"`
	Skips    []Skip           `json:"skips,omitempty"`
	Warnings []string         `json:"warnings,omitempty"`
	Patch    []map[string]any `json:"patch,omitempty"`
}

// TestGoldenPods runs every testdata/pods/<case>.yaml through the engine and
// compares the patch, skips and warnings with <case>.patch.json. Cases named
// legacy-* run with nativeSidecar resolved to false. For every case it also
// checks the properties that must hold for any pod: the patch applies, no two
// ops touch one path, and a second pass over the mutated pod changes nothing.
func TestGoldenPods(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("testdata", "pods", "*.yaml"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	goldens, _ := filepath.Glob(filepath.Join("testdata", "pods", "*.patch.json"))
	for _, g := range goldens {
		if !slices.Contains(cases, strings.TrimSuffix(g, ".patch.json")+".yaml") {
			t.Errorf("stale golden %s has no case", g)
		}
	}
	native, legacy := testEngine(t, true), testEngine(t, false)
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			e := native
			if strings.HasPrefix(name, "legacy-") {
				e = legacy
			}
			pod := readPod(t, path)
			before := pod.DeepCopy()
			res, err := e.Mutate(pod, Namespace{Name: pod.Namespace})
			if !equalJSON(t, before, pod) {
				t.Fatal("Mutate modified its input pod")
			}
			var got goldenResult
			if err != nil {
				got.Error = err.Error()
			} else {
				got = goldenResult{Applied: res.Applied, Skips: res.Skips, Warnings: res.Warnings}
				b, _ := json.Marshal(res.Patch)
				_ = json.Unmarshal(b, &got.Patch)
				checkPatchProperties(t, e, pod, res)
			}
			out, _ := json.MarshalIndent(got, "", "  ")
			golden.Assert(t, strings.TrimSuffix(path, ".yaml")+".patch.json", append(out, '\n'))
		})
	}
}

// checkPatchProperties asserts what must hold for every mutated pod.
func checkPatchProperties(t *testing.T, e *Engine, pod *corev1.Pod, res *Result) {
	t.Helper()
	seen := map[string]bool{}
	for _, op := range res.Patch {
		if seen[op.Path] && !isInsert(op.Operation, op.Path) {
			t.Errorf("two ops touch %s", op.Path)
		}
		seen[op.Path] = true
	}
	mutated, err := res.Apply(pod)
	if err != nil {
		t.Fatalf("patch does not apply: %v", err)
	}
	again, err := e.Mutate(mutated, Namespace{Name: pod.Namespace})
	if err != nil {
		t.Fatalf("second pass: %v", err)
	}
	if len(again.Patch) != 0 {
		b, _ := json.MarshalIndent(again.Patch, "", "  ")
		t.Errorf("second pass over the mutated pod is not a no-op:\n%s", b)
	}
	if len(res.Patch) > 0 {
		var st Status
		if err := json.Unmarshal([]byte(mutated.Annotations[AnnotationStatus]), &st); err != nil {
			t.Fatalf("status annotation: %v", err)
		}
		want := slices.Clone(res.Applied)
		slices.Sort(want)
		if !slices.Equal(st.Applied, want) {
			t.Errorf("status applied = %v, want %v", st.Applied, want)
		}
	}
}

// isInsert is an add into a list ("/-" or an index): two of those on one
// path insert two elements, neither overwrites the other.
func isInsert(op, path string) bool {
	last := path[strings.LastIndexByte(path, '/')+1:]
	if op != "add" || last == "" {
		return false
	}
	return last == "-" || strings.Trim(last, "0123456789") == ""
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// sidecarOf returns the injected proxy of a mutated pod.
func sidecarOf(t *testing.T, pod *corev1.Pod) *corev1.Container {
	t.Helper()
	for _, list := range appContainers(pod) {
		for i := range list.containers {
			if list.containers[i].Name == SidecarName {
				return &list.containers[i]
			}
		}
	}
	t.Fatal("no sidecar")
	return nil
}

func mutateFile(t *testing.T, e *Engine, path string) (*corev1.Pod, *Result) {
	t.Helper()
	pod := readPod(t, path)
	res, err := e.Mutate(pod, Namespace{Name: pod.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	mutated, err := res.Apply(pod)
	if err != nil {
		t.Fatal(err)
	}
	return mutated, res
}

func TestSidecarPassesPodSecurityRestricted(t *testing.T) {
	evaluator, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, native := range []bool{true, false} {
		e := testEngine(t, native)
		mutated, _ := mutateFile(t, e, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
		proxy := sidecarOf(t, mutated)
		// Evaluate a pod holding only the proxy: the example app containers
		// are not inzone's to harden.
		only := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
		if native {
			only.Spec.InitContainers = []corev1.Container{*proxy}
			only.Spec.Containers = []corev1.Container{{Name: "app", Image: "x", SecurityContext: proxy.SecurityContext}}
		} else {
			only.Spec.Containers = []corev1.Container{*proxy}
		}
		results := evaluator.EvaluatePod(psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}, &only.ObjectMeta, &only.Spec)
		agg := psapolicy.AggregateCheckResults(results)
		if !agg.Allowed {
			t.Errorf("native=%v: sidecar violates PSS restricted: %s: %s", native, agg.ForbiddenReason(), agg.ForbiddenDetail())
		}
		if native != (proxy.RestartPolicy != nil && *proxy.RestartPolicy == corev1.ContainerRestartPolicyAlways) {
			t.Errorf("native=%v but restartPolicy=%v", native, proxy.RestartPolicy)
		}
	}
}

func TestSidecarKnowsItsZoneAndLocalCluster(t *testing.T) {
	e := testEngine(t, true)
	mutated, _ := mutateFile(t, e, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
	proxy := sidecarOf(t, mutated)
	args := strings.Join(proxy.Args, " ")
	for _, want := range []string{
		"--service-zone $(INZONE_ZONE)",
		"--service-cluster web.service.prod.ddsd",
		"--service-node $(POD_NAME).$(POD_NAMESPACE)",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("sidecar args lack %q", want)
		}
	}
	if !hasEnv(proxy, "INZONE_ZONE") || !hasEnv(proxy, "POD_NAME") || !hasEnv(proxy, "POD_NAMESPACE") {
		t.Errorf("sidecar env lacks a variable its flags reference: %v", proxy.Env)
	}
	i := slices.Index(proxy.Args, "--config-yaml")
	if i < 0 || !strings.Contains(proxy.Args[i+1], `"local_cluster_name":"web.service.prod.ddsd"`) {
		t.Errorf("bootstrap does not name the pod's own service as local cluster")
	}
	// The zone env var and --service-zone share one source.
	var zone corev1.EnvVar
	for _, v := range proxy.Env {
		if v.Name == "INZONE_ZONE" {
			zone = v
		}
	}
	for _, c := range mutated.Spec.Containers {
		for _, v := range c.Env {
			if v.Name == "INZONE_ZONE" && !equalJSON(t, v, zone) {
				t.Errorf("container %s zone env %+v differs from the sidecar's %+v", c.Name, v, zone)
			}
		}
	}
}

func TestZoneEnvSource(t *testing.T) {
	fieldRef := "metadata.labels['topology.kubernetes.io/zone']"
	tests := []struct {
		name       string
		source     ZoneSource
		pod        string
		wantValue  string // literal zone
		wantField  string // downward API field
		wantNoZone bool
	}{
		{"an unpinned pod reads its zone label through the downward API", ZoneSourcePodLabel, "web-all-mutations.yaml", "", fieldRef, false},
		{"a pod pinned by nodeSelector gets the literal zone", ZoneSourcePodLabel, "pinned-nodeselector.yaml", "us-east-1b", "", false},
		{"a pod pinned by required node affinity gets the literal zone", ZoneSourcePodLabel, "pinned-affinity.yaml", "eu-west-1c", "", false},
		{"pinned-only still gives a pinned pod its zone", ZoneSourcePinnedOnly, "pinned-nodeselector.yaml", "us-east-1b", "", false},
		{"pinned-only gives an unpinned pod no zone rather than a guess", ZoneSourcePinnedOnly, "web-all-mutations.yaml", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.ZoneEnv.Source = tt.source
			e, err := NewEngine(cfg, Options{NativeSidecarSupported: true, ControlPlaneCA: []byte(testControlPlaneCA)})
			if err != nil {
				t.Fatal(err)
			}
			pod := readPod(t, filepath.Join("testdata", "pods", tt.pod))
			zone, _ := e.zoneEnvVar(pod)
			if tt.wantNoZone {
				if zone != nil {
					t.Fatalf("got zone %+v, want none", zone)
				}
				res, _ := e.Mutate(pod, Namespace{})
				if !slices.ContainsFunc(res.Skips, func(s Skip) bool { return s.Reason == SkipZoneUnknown }) || len(res.Warnings) == 0 {
					t.Errorf("no zone-unknown skip and warning: %+v", res)
				}
				mutated, _ := res.Apply(pod)
				if strings.Contains(strings.Join(sidecarOf(t, mutated).Args, " "), "--service-zone") {
					t.Error("sidecar claims a zone it cannot know")
				}
				return
			}
			if zone == nil {
				t.Fatal("no zone")
			}
			if zone.Value != tt.wantValue {
				t.Errorf("value = %q, want %q", zone.Value, tt.wantValue)
			}
			gotField := ""
			if zone.ValueFrom != nil {
				gotField = zone.ValueFrom.FieldRef.FieldPath
			}
			if gotField != tt.wantField {
				t.Errorf("fieldRef = %q, want %q", gotField, tt.wantField)
			}
		})
	}
}

func TestPinnedZone(t *testing.T) {
	const zl = "topology.kubernetes.io/zone"
	term := func(exprs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: exprs}
	}
	in := func(vals ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: zl, Operator: corev1.NodeSelectorOpIn, Values: vals}
	}
	affinity := func(terms ...corev1.NodeSelectorTerm) *corev1.Affinity {
		return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
	}
	tests := []struct {
		name string
		spec corev1.PodSpec
		want string
	}{
		{"no constraint pins nothing", corev1.PodSpec{}, ""},
		{"nodeSelector pins", corev1.PodSpec{NodeSelector: map[string]string{zl: "a"}}, "a"},
		{"one term with one zone pins", corev1.PodSpec{Affinity: affinity(term(in("a")))}, "a"},
		{"two zones in one term do not pin", corev1.PodSpec{Affinity: affinity(term(in("a", "b")))}, ""},
		{"two terms with the same zone pin", corev1.PodSpec{Affinity: affinity(term(in("a")), term(in("a")))}, "a"},
		{"two terms with different zones do not pin", corev1.PodSpec{Affinity: affinity(term(in("a")), term(in("b")))}, ""},
		{"a term without a zone expression does not pin", corev1.PodSpec{Affinity: affinity(term(in("a")), term())}, ""},
		{"NotIn does not pin", corev1.PodSpec{Affinity: affinity(term(corev1.NodeSelectorRequirement{Key: zl, Operator: corev1.NodeSelectorOpNotIn, Values: []string{"a"}}))}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pinnedZone(&corev1.Pod{Spec: tt.spec}, zl)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("pinnedZone = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

func TestPerPodSwitches(t *testing.T) {
	e := testEngine(t, true)
	all := []string{MutationDDSDRewrite, MutationZoneEnv, MutationSpread, MutationSidecar, MutationCapture}
	// Capture follows the sidecar: no proxy, nothing to capture.
	withCapture := func(names ...string) []string {
		if slices.Contains(names, MutationSidecar) {
			return append(names, MutationCapture)
		}
		return names
	}
	for _, m := range mutations {
		if m.annotation == "" { // capture has a mode annotation, not a switch
			continue
		}
		t.Run(m.annotation+" false turns off only "+m.name, func(t *testing.T) {
			pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
			pod.Annotations = map[string]string{m.annotation: "false"}
			res, err := e.Mutate(pod, Namespace{})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, n := range all {
				if n != m.name && (n != MutationCapture || m.name != MutationSidecar) {
					want = append(want, n)
				}
			}
			if !slices.Equal(res.Applied, want) {
				t.Errorf("applied = %v, want %v", res.Applied, want)
			}
		})
		t.Run(m.annotation+" true turns "+m.name+" on when the config has it off", func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.DDSD.ELBs = map[string]string{"internal-orders-1234567890.us-east-1.elb.amazonaws.com": "orders"}
			cfg.DDSD.DNS = DDSDResolverExternal
			for _, mm := range mutations {
				off := false
				switch mm.name {
				case MutationSidecar:
					cfg.Sidecar.Enabled = &off
				case MutationZoneEnv:
					cfg.ZoneEnv.Enabled = &off
				case MutationSpread:
					cfg.Spread.Enabled = &off
				case MutationDDSDRewrite:
					cfg.DDSD.Enabled = &off
				}
			}
			e, err := NewEngine(cfg, Options{NativeSidecarSupported: true, ControlPlaneCA: []byte(testControlPlaneCA)})
			if err != nil {
				t.Fatal(err)
			}
			pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
			pod.Annotations = map[string]string{m.annotation: "true"}
			res, err := e.Mutate(pod, Namespace{})
			if err != nil {
				t.Fatal(err)
			}
			if want := withCapture(m.name); !slices.Equal(res.Applied, want) {
				t.Errorf("applied = %v, want %v", res.Applied, want)
			}
		})
	}
}

func TestInvalidAnnotationsAreRejected(t *testing.T) {
	e := testEngine(t, true)
	tests := []struct {
		annotation, value string
	}{
		{AnnotationProxyCPU, "lots"},
		{AnnotationProxyCPU, "-1"},
		{AnnotationProxyMemory, "12 MB"},
		{AnnotationProxyCPULimit, "0"},
		{AnnotationProxyMemoryLimit, "x"},
		{AnnotationProxyUID, "0"},
		{AnnotationProxyUID, "root"},
		{AnnotationProxyLogLevel, "loud"},
		{AnnotationProxyImage, "envoy latest"},
		{AnnotationProxyImage, ""},
		{AnnotationService, "Not_A_Name"},
		{AnnotationSidecar, "no"},
		{AnnotationSpread, "False"},
		{AnnotationProxyMemory, "1Gi"}, // above the default 256Mi limit
	}
	for _, tt := range tests {
		t.Run(tt.annotation+"="+tt.value, func(t *testing.T) {
			pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
			pod.Annotations = map[string]string{tt.annotation: tt.value}
			_, err := e.Mutate(pod, Namespace{})
			var ae *AnnotationError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an AnnotationError", err)
			}
			if !strings.Contains(err.Error(), tt.annotation) {
				t.Errorf("error %q does not name %s", err, tt.annotation)
			}
		})
	}
}

// TestNoDoubleInjection covers pods whose earlier admission left work behind.
func TestNoDoubleInjection(t *testing.T) {
	e := testEngine(t, true)
	mutated, _ := mutateFile(t, e, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))

	t.Run("a container added after inzone gets the zone and only that", func(t *testing.T) {
		pod := mutated.DeepCopy()
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "late", Image: "x"})
		res, err := e.Mutate(pod, Namespace{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Applied, []string{MutationZoneEnv}) {
			t.Fatalf("applied = %v, want [zone-env]", res.Applied)
		}
		again, _ := res.Apply(pod)
		if !hasEnv(&again.Spec.Containers[len(again.Spec.Containers)-1], "INZONE_ZONE") {
			t.Error("late container has no zone")
		}
		var st Status
		_ = json.Unmarshal([]byte(again.Annotations[AnnotationStatus]), &st)
		if len(st.Applied) != len(mutations) {
			t.Errorf("status lost earlier mutations: %v", st.Applied)
		}
	})
	t.Run("a proxy running under the inzone name is not replaced", func(t *testing.T) {
		pod := readPod(t, filepath.Join("testdata", "pods", "legacy-sidecar.yaml"))
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: SidecarName, Image: "custom"})
		res, _ := e.Mutate(pod, Namespace{})
		if slices.Contains(res.Applied, MutationSidecar) {
			t.Error("injected a second inzone-proxy")
		}
	})
}

func TestMutateHandlesEmptyLists(t *testing.T) {
	e := testEngine(t, true)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "x"}, Annotations: map[string]string{}},
		Spec: corev1.PodSpec{
			InitContainers:            []corev1.Container{},
			Containers:                []corev1.Container{{Name: "a", Image: "x", Env: []corev1.EnvVar{}}},
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{},
		},
	}
	res, err := e.Mutate(pod, Namespace{})
	if err != nil {
		t.Fatal(err)
	}
	// Marshalling drops the empty lists and map (omitempty): the patch must
	// create them rather than append to lists that are not there.
	if _, err := res.Apply(pod); err != nil {
		t.Fatal(err)
	}
}
