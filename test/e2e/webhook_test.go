package e2e

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/elb"
	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/webhook"
)

// TestNativeSidecarDetection: with nativeSidecar auto (the default), the
// webhook asks the API server whether it supports native sidecars; a 1.36
// API server does.
func TestNativeSidecarDetection(t *testing.T) {
	env := envtest.For(t)
	t.Run("the webhook sees that a 1.36 API server supports native sidecars", func(t *testing.T) {
		supported, err := webhook.ServerSupportsNativeSidecars(env.Config)
		if err != nil {
			t.Fatalf("ServerSupportsNativeSidecars: %v", err)
		}
		if !supported {
			t.Errorf("ServerSupportsNativeSidecars = false against a Kubernetes 1.36 API server (GET /version: %s), "+
				"so nativeSidecar: auto would inject a regular container", serverVersion(t, env))
		}
	})
}

// TestAllMutations: a pod in an injected namespace gets all four mutations,
// as stored by the API server.
func TestAllMutations(t *testing.T) {
	env := envtest.For(t)
	ns := namespace(t, true)
	createPaymentsService(t, env, ns)
	waitForLiveELB(t, env, ns)

	sent := webPod(t, ns, "web")
	pod, warnings := create(t, sent)
	sc := sidecars(pod)
	if len(sc) != 1 {
		t.Fatalf("want exactly one %s container, got %d; init %v, containers %v", mutate.SidecarName, len(sc), names(pod.Spec.InitContainers), names(pod.Spec.Containers))
	}
	proxy := sc[0].c

	t.Run("the sidecar is a native sidecar: the first init container after inzone-capture, restartPolicy Always", func(t *testing.T) {
		if !sc[0].init || len(pod.Spec.InitContainers) < 2 || pod.Spec.InitContainers[0].Name != mutate.CaptureContainerName || pod.Spec.InitContainers[1].Name != mutate.SidecarName {
			t.Fatalf("%s is not the first init container after %s (init %v, containers %v): the API server is Kubernetes %s, which has native sidecars",
				mutate.SidecarName, mutate.CaptureContainerName, names(pod.Spec.InitContainers), names(pod.Spec.Containers), serverVersion(t, env))
		}
		if p := proxy.RestartPolicy; p == nil || *p != corev1.ContainerRestartPolicyAlways {
			t.Errorf("%s restartPolicy = %v, want Always", mutate.SidecarName, p)
		}
	})
	t.Run("the sidecar gets its zone, its own service and its bootstrap as flags", func(t *testing.T) {
		if v, ok := argAfter(proxy.Args, "--service-zone"); !ok || v != "$("+zoneEnvName+")" {
			t.Errorf("--service-zone = %q (present %v), want $(%s); args %q", v, ok, zoneEnvName, proxy.Args)
		}
		if v, ok := argAfter(proxy.Args, "--config-yaml"); !ok || strings.TrimSpace(v) == "" {
			t.Errorf("--config-yaml missing or empty; args %q", proxy.Args)
		}
		if v, _ := argAfter(proxy.Args, "--service-cluster"); v != "web.service.prod.ddsd" {
			t.Errorf("--service-cluster = %q, want web.service.prod.ddsd", v)
		}
	})
	t.Run("the sidecar's securityContext meets Pod Security restricted", func(t *testing.T) {
		checkRestricted(t, proxy)
	})
	t.Run("every container and the sidecar read the zone from the pod's zone label", func(t *testing.T) {
		for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
			env := envVars(c, zoneEnvName)
			if len(env) != 1 {
				t.Errorf("container %s has %d %s env vars, want 1", c.Name, len(env), zoneEnvName)
				continue
			}
			if e := env[0]; e.Value != "" || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != zoneFieldRef {
				t.Errorf("container %s: %s = %+v, want fieldRef %s", c.Name, zoneEnvName, e, zoneFieldRef)
			}
		}
	})
	t.Run("a zone spread constraint selects the workload and spreads each rollout on its own", func(t *testing.T) {
		cs := zoneConstraints(pod)
		if len(cs) != 1 {
			t.Fatalf("want one constraint on %s, got %+v", zoneLabel, pod.Spec.TopologySpreadConstraints)
		}
		checkZoneConstraint(t, cs[0])
	})
	t.Run("the ELB hostname in an env var is rewritten to its DDSD name", func(t *testing.T) {
		want := "http://" + ordersDDSD + ":8080/v1?x=1"
		if got := envValue(container(t, pod, "app"), "URL"); got != want {
			t.Errorf("URL = %q, want %q", got, want)
		}
		if got := envValue(container(t, pod, "app"), "LOG_LEVEL"); got != "info" {
			t.Errorf("LOG_LEVEL = %q, want it untouched", got)
		}
	})
	t.Run("the NLB hostname of a live LoadBalancer Service in an arg is rewritten", func(t *testing.T) {
		want := []string{"--listen=:8080", "--payments=https://" + paymentsDDSD + "/charge"}
		if got := container(t, pod, "app").Args; !reflect.DeepEqual(got, want) {
			t.Errorf("args = %q, want %q", got, want)
		}
	})
	t.Run("the status and rewrite annotations are present and parse", func(t *testing.T) {
		st, ok := status(t, pod)
		if !ok || st.Version != 1 || !reflect.DeepEqual(st.Applied, all.applied()) {
			t.Errorf("%s = %q, want version 1 and applied %v", mutate.AnnotationStatus, pod.Annotations[mutate.AnnotationStatus], all.applied())
		}
		want := []mutate.DDSDRewrite{
			{Container: "app", Field: "env[URL]", From: ordersELB, To: ordersDDSD},
			{Container: "app", Field: "args[1]", From: paymentsNLB, To: paymentsDDSD},
		}
		if got := rewrites(t, pod); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %+v, want %+v", mutate.AnnotationDDSDRewrites, got, want)
		}
	})
	t.Run("the API server returned no warnings", func(t *testing.T) {
		if len(warnings) != 0 {
			t.Errorf("warnings: %q", warnings)
		}
	})
	t.Run("the whole pod shows each mutation exactly once", func(t *testing.T) {
		checkMutations(t, pod, all)
	})
}

// createPaymentsService creates a LoadBalancer Service whose status names
// paymentsNLB, annotated with its DDSD name.
func createPaymentsService(t *testing.T, env *envtest.Env, ns string) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "payments-", Annotations: map[string]string{elb.AnnotationDDSDName: "payments"}},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app.kubernetes.io/name": "payments"},
			Ports:    []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443), Protocol: corev1.ProtocolTCP}},
		},
	}
	c := ctx(t)
	if err := env.Client.Create(c, svc); err != nil {
		t.Fatalf("creating the payments Service: %v", err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: paymentsNLB}}
	if err := env.Client.Status().Update(c, svc); err != nil {
		t.Fatalf("setting the payments Service's load balancer status: %v", err)
	}
}

// waitForLiveELB dry-runs a pod until the webhook's Service informer has the
// payments NLB, bounded.
func waitForLiveELB(t *testing.T, env *envtest.Env, ns string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		pod, _, err := env.DryRunPod(ctx(t), webPod(t, ns, ""))
		if err != nil {
			t.Fatalf("dry-run create: %v", err)
		}
		if slices.Contains(container(t, pod, "app").Args, "--payments=https://"+paymentsDDSD+"/charge") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook did not learn the NLB %s of the LoadBalancer Service within 15s: args %q", paymentsNLB, container(t, pod, "app").Args)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func checkRestricted(t *testing.T, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Fatalf("%s has no securityContext", c.Name)
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("runAsNonRoot = %v, want true", sc.RunAsNonRoot)
	}
	if sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("runAsUser = %v, want non-zero", sc.RunAsUser)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("allowPrivilegeEscalation = %v, want false", sc.AllowPrivilegeEscalation)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("privileged = true")
	}
	if sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
		t.Errorf("capabilities = %+v, want drop [ALL] and no add", sc.Capabilities)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccompProfile = %+v, want RuntimeDefault", sc.SeccompProfile)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("readOnlyRootFilesystem = %v, want true", sc.ReadOnlyRootFilesystem)
	}
}

// checkZoneConstraint checks inzone's constraint for the web pod. The API
// server (1.34+) may merge matchLabelKeys into the selector as
// pod-template-hash In [abc]; either form is right.
func checkZoneConstraint(t *testing.T, c corev1.TopologySpreadConstraint) {
	t.Helper()
	if c.MaxSkew != 1 || c.WhenUnsatisfiable != corev1.ScheduleAnyway {
		t.Errorf("maxSkew %d, whenUnsatisfiable %s; want 1, ScheduleAnyway", c.MaxSkew, c.WhenUnsatisfiable)
	}
	if c.LabelSelector == nil || c.LabelSelector.MatchLabels["app.kubernetes.io/name"] != "web" {
		t.Fatalf("labelSelector = %+v, want app.kubernetes.io/name=web", c.LabelSelector)
	}
	if len(c.LabelSelector.MatchLabels) != 1 {
		t.Errorf("labelSelector.matchLabels = %v, want only app.kubernetes.io/name", c.LabelSelector.MatchLabels)
	}
	if !reflect.DeepEqual(c.MatchLabelKeys, []string{"pod-template-hash"}) {
		t.Errorf("matchLabelKeys = %v, want [pod-template-hash]", c.MatchLabelKeys)
	}
	for _, e := range c.LabelSelector.MatchExpressions {
		merged := metav1.LabelSelectorRequirement{Key: "pod-template-hash", Operator: metav1.LabelSelectorOpIn, Values: []string{"abc"}}
		if !reflect.DeepEqual(e, merged) {
			t.Errorf("labelSelector has expression %+v; only the API server's merge of matchLabelKeys (%+v) is expected", e, merged)
		}
	}
}

// TestPinnedZone: a pod that can run in one zone only gets that zone
// literally; one that may run in several reads its label.
func TestPinnedZone(t *testing.T) {
	ns := namespace(t, true)
	affinity := func(zones ...string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: zoneLabel, Operator: corev1.NodeSelectorOpIn, Values: zones}},
				}}},
			}}
		}
	}
	for _, tc := range []struct {
		name  string
		mod   func(*corev1.Pod)
		value string // "" means the fieldRef
	}{
		{"a nodeSelector on the zone label gives the literal zone", func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{zoneLabel: "us-east-1a"}
		}, "us-east-1a"},
		{"required node affinity to one zone gives the literal zone", affinity("us-east-1b"), "us-east-1b"},
		{"node affinity to two zones reads the pod's zone label", affinity("us-east-1a", "us-east-1b"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod, _ := create(t, webPod(t, ns, "", tc.mod))
			checkMutations(t, pod, all)
			for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
				env := envVars(c, zoneEnvName)
				if len(env) != 1 {
					t.Errorf("container %s: %d %s env vars, want 1", c.Name, len(env), zoneEnvName)
					continue
				}
				e := env[0]
				if tc.value != "" && (e.Value != tc.value || e.ValueFrom != nil) {
					t.Errorf("container %s: %s = %+v, want the literal %q", c.Name, zoneEnvName, e, tc.value)
				}
				if tc.value == "" && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != zoneFieldRef) {
					t.Errorf("container %s: %s = %+v, want fieldRef %s", c.Name, zoneEnvName, e, zoneFieldRef)
				}
			}
		})
	}
}

// TestUninjectedNamespace: the namespaceSelector keeps inzone away from a
// namespace without the label; the pod is stored as sent.
func TestUninjectedNamespace(t *testing.T) {
	ns := namespace(t, false)
	t.Run("a pod in a namespace without inzone.io/inject=enabled is stored as sent", func(t *testing.T) {
		sent := webPod(t, ns, "web")
		pod, warnings := create(t, sent)
		checkUnmutated(t, sent, pod)
		if len(warnings) != 0 {
			t.Errorf("warnings: %q", warnings)
		}
		if n := callsInNamespace(ns); n != 0 {
			t.Errorf("the API server called inzone %d times for namespace %s", n, ns)
		}
	})
}

// TestOptOuts: each switch turns off exactly its mutation.
func TestOptOuts(t *testing.T) {
	ns := namespace(t, true)
	label := func(k, v string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Labels[k] = v } }
	annotation := func(k, v string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			if p.Annotations == nil {
				p.Annotations = map[string]string{}
			}
			p.Annotations[k] = v
		}
	}
	for _, tc := range []struct {
		name string
		mod  func(*corev1.Pod)
		want mutations
	}{
		{"the pod label inzone.io/inject=false turns off every mutation", label(mutate.LabelInject, "false"), mutations{}},
		{"the pod annotation inzone.io/inject=false turns off every mutation", annotation(mutate.LabelInject, "false"), mutations{}},
		{"inzone.io/sidecar=false turns off only the sidecar", annotation(mutate.AnnotationSidecar, "false"), mutations{zoneEnv: true, spread: true, ddsd: true}},
		{"inzone.io/zone-env=false turns off only the zone env var", annotation(mutate.AnnotationZoneEnv, "false"), mutations{sidecar: true, spread: true, ddsd: true}},
		{"inzone.io/spread=false turns off only the spread constraint", annotation(mutate.AnnotationSpread, "false"), mutations{sidecar: true, zoneEnv: true, ddsd: true}},
		{"inzone.io/ddsd-rewrite=false turns off only the DDSD rewrite", annotation(mutate.AnnotationDDSDRewrite, "false"), mutations{sidecar: true, zoneEnv: true, spread: true}},
		{"all four switches set to true change nothing", func(p *corev1.Pod) {
			for _, a := range []string{mutate.AnnotationSidecar, mutate.AnnotationZoneEnv, mutate.AnnotationSpread, mutate.AnnotationDDSDRewrite} {
				annotation(a, "true")(p)
			}
		}, all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := webPod(t, ns, "", tc.mod)
			pod, _ := create(t, sent)
			checkMutations(t, pod, tc.want)
			if tc.want == (mutations{}) {
				checkUnmutated(t, sent, pod)
			}
		})
	}
}

// TestIdempotency: inzone never applies a mutation twice.
func TestIdempotency(t *testing.T) {
	env := envtest.For(t)
	ns := namespace(t, true)

	t.Run("a later webhook's change makes the API server reinvoke inzone, which adds only what is missing", func(t *testing.T) {
		name := "reinvoked"
		pod, _ := create(t, webPod(t, ns, name, func(p *corev1.Pod) { p.Labels[labelLate] = "true" }))
		if n := callsFor(ns, name); n < 2 {
			t.Errorf("inzone was called %d times; the API server should have reinvoked it after the later webhook added %q", n, lateContainer)
		}
		if !slices.Contains(names(pod.Spec.Containers), lateContainer) {
			t.Fatalf("the later webhook did not add %q: containers %v", lateContainer, names(pod.Spec.Containers))
		}
		checkMutations(t, pod, all)
		late := envVars(container(t, pod, lateContainer), zoneEnvName)
		if len(late) != 1 || late[0].ValueFrom == nil || late[0].ValueFrom.FieldRef == nil || late[0].ValueFrom.FieldRef.FieldPath != zoneFieldRef {
			t.Errorf("container %s: %s = %+v, want one, from fieldRef %s (added on reinvocation)", lateContainer, zoneEnvName, late, zoneFieldRef)
		}
	})

	first, _ := create(t, webPod(t, ns, ""))
	t.Run("the same manifest created twice gets the same mutations", func(t *testing.T) {
		second, _ := create(t, webPod(t, ns, ""))
		checkMutations(t, first, all)
		checkMutations(t, second, all)
		if !reflect.DeepEqual(first.Spec, second.Spec) {
			t.Errorf("specs differ:\nfirst  %+v\nsecond %+v", first.Spec, second.Spec)
		}
		if a, b := inzoneAnnotations(first), inzoneAnnotations(second); !reflect.DeepEqual(a, b) {
			t.Errorf("inzone annotations differ: %v vs %v", a, b)
		}
	})

	t.Run("a pod sent already mutated is stored unchanged", func(t *testing.T) {
		again := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: first.Name + "-again", Namespace: ns,
				Labels: first.Labels, Annotations: first.Annotations,
			},
			Spec: *first.Spec.DeepCopy(),
		}
		again.Spec.NodeName = ""
		// The API server merged matchLabelKeys into the selector when it
		// stored the pod (MatchLabelKeysInPodTopologySpreadSelectorMerge) and
		// would merge again, then reject the duplicate key: that merge is a
		// server field like the others, so it goes too.
		stripSelectorMerge(again)
		stored, warnings, err := env.CreatePod(ctx(t), again)
		if err != nil {
			t.Fatalf("creating the stored mutated pod again: %v", err)
		}
		if callsFor(ns, again.Name) == 0 {
			t.Errorf("inzone was not called for %s", again.Name)
		}
		checkMutations(t, stored, all)
		if !reflect.DeepEqual(first.Spec, stored.Spec) {
			t.Errorf("spec changed:\nwas %+v\nnow %+v", first.Spec, stored.Spec)
		}
		if a, b := inzoneAnnotations(first), inzoneAnnotations(stored); !reflect.DeepEqual(a, b) {
			t.Errorf("inzone annotations changed: %v -> %v", a, b)
		}
		if len(warnings) != 0 {
			t.Errorf("warnings: %q", warnings)
		}
	})
}

// stripSelectorMerge removes from each topology spread constraint the
// selector requirements the API server derived from its matchLabelKeys and
// the pod's labels.
func stripSelectorMerge(pod *corev1.Pod) {
	for i := range pod.Spec.TopologySpreadConstraints {
		c := &pod.Spec.TopologySpreadConstraints[i]
		if c.LabelSelector == nil {
			continue
		}
		c.LabelSelector.MatchExpressions = slices.DeleteFunc(c.LabelSelector.MatchExpressions, func(e metav1.LabelSelectorRequirement) bool {
			v, ok := pod.Labels[e.Key]
			return ok && slices.Contains(c.MatchLabelKeys, e.Key) && e.Operator == metav1.LabelSelectorOpIn && reflect.DeepEqual(e.Values, []string{v})
		})
		if len(c.LabelSelector.MatchExpressions) == 0 {
			c.LabelSelector.MatchExpressions = nil
		}
	}
}

// TestDryRun: a server-side dry-run create is mutated and stores nothing.
func TestDryRun(t *testing.T) {
	env := envtest.For(t)
	ns := namespace(t, true)
	t.Run("a dry-run create returns the mutated pod and stores nothing", func(t *testing.T) {
		pod, _, err := env.DryRunPod(ctx(t), webPod(t, ns, "dry"))
		if err != nil {
			t.Fatalf("dry-run create: %v", err)
		}
		checkMutations(t, pod, all)
		err = env.Client.Get(ctx(t), client.ObjectKey{Namespace: ns, Name: "dry"}, &corev1.Pod{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("Get after a dry-run create: err = %v, want NotFound", err)
		}
	})
}

// TestConcurrentCreates: 200 pods, 20 at a time, are all mutated, and the
// API server accepts every mutated pod.
func TestConcurrentCreates(t *testing.T) {
	env := envtest.For(t)
	ns := namespace(t, true)
	const total, workers = 200, 20
	var (
		mu     sync.Mutex
		stored []*corev1.Pod
		errs   []error
		wg     sync.WaitGroup
		next   = make(chan int)
	)
	c := ctx(t)
	for range workers {
		wg.Go(func() {
			for i := range next {
				pod, _, err := env.CreatePod(c, webPod(t, ns, fmt.Sprintf("web-%03d", i)))
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("pod %d: %w", i, err))
				} else {
					stored = append(stored, pod)
				}
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	for i := range total {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Logf("%d creates with %d workers in %s", total, workers, time.Since(start).Round(time.Millisecond))

	t.Run("every create succeeds", func(t *testing.T) {
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("%d of %d creates failed: %v", len(errs), total, err)
		}
	})
	t.Run("every stored pod has the sidecar, the zone env var and the zone constraint once", func(t *testing.T) {
		if len(stored) != total {
			t.Errorf("%d pods stored, want %d", len(stored), total)
		}
		for _, p := range stored {
			checkMutations(t, p, all)
		}
		var list corev1.PodList
		if err := env.Client.List(ctx(t), &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != total {
			t.Errorf("namespace %s holds %d pods, want %d", ns, len(list.Items), total)
		}
	})
}

// TestBadOverrides: an override annotation that does not parse is rejected
// with a message naming it, and nothing is stored.
func TestBadOverrides(t *testing.T) {
	env := envtest.For(t)
	ns := namespace(t, true)
	for _, tc := range []struct {
		name, annotation, value string
	}{
		{"a proxy CPU that is not a quantity is rejected", mutate.AnnotationProxyCPU, "lots"},
		{"a proxy UID of root is rejected", mutate.AnnotationProxyUID, "0"},
		{"a switch that is not true or false is rejected", mutate.AnnotationSidecar, "yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "bad-" + strings.ReplaceAll(strings.TrimPrefix(tc.annotation, "inzone.io/"), "/", "-")
			_, _, err := env.CreatePod(ctx(t), webPod(t, ns, name, func(p *corev1.Pod) {
				p.Annotations = map[string]string{tc.annotation: tc.value}
			}))
			if err == nil {
				t.Fatalf("the create with %s=%q succeeded; want it rejected", tc.annotation, tc.value)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.annotation) || !strings.Contains(msg, `"`+envtest.WebhookName+`" denied`) {
				t.Errorf("error %q is not inzone's denial naming %s", msg, tc.annotation)
			}
			if !apierrors.IsForbidden(err) {
				t.Errorf("error %q is not Forbidden (reason %s)", err, apierrors.ReasonForError(err))
			}
			if err := env.Client.Get(ctx(t), client.ObjectKey{Namespace: ns, Name: name}, &corev1.Pod{}); !apierrors.IsNotFound(err) {
				t.Errorf("Get after the rejected create: err = %v, want NotFound", err)
			}
		})
	}
}

// TestFailOpen: an internal error admits the pod unmutated with a warning.
func TestFailOpen(t *testing.T) {
	ns := namespace(t, true)
	for _, tc := range []struct {
		name, label, want string
	}{
		{"a panic in the engine admits the pod unmutated, with a warning", labelPanic, "panic: injected panic for e2e"},
		{"an internal error from the engine admits the pod unmutated, with a warning", labelError, errInjected.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := webPod(t, ns, "", func(p *corev1.Pod) { p.Labels[tc.label] = "true" })
			pod, warnings := create(t, sent)
			checkUnmutated(t, sent, pod)
			if !containsWith(warnings, "inzone", "internal error", tc.want) {
				t.Errorf("warnings %q do not report the internal error %q", warnings, tc.want)
			}
		})
	}
}

// TestHostNetwork: no sidecar on the node's network, the rest applies.
func TestHostNetwork(t *testing.T) {
	ns := namespace(t, true)
	t.Run("a hostNetwork pod gets no sidecar and a warning, and the other mutations", func(t *testing.T) {
		pod, warnings := create(t, webPod(t, ns, "host", func(p *corev1.Pod) { p.Spec.HostNetwork = true }))
		checkMutations(t, pod, mutations{zoneEnv: true, spread: true, ddsd: true})
		if !containsWith(warnings, "inzone", "sidecar not injected", "hostNetwork") {
			t.Errorf("warnings %q do not explain the missing sidecar", warnings)
		}
	})
}

// serverVersion is the API server's /version, for messages.
func serverVersion(t *testing.T, env *envtest.Env) string {
	t.Helper()
	body, err := env.RawGet(ctx(t), "/version")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return strings.Join(strings.Fields(string(body)), " ")
}
