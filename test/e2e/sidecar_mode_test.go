package e2e

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/inzone-io/inzone/mutate"
)

// TestSidecarModes: with sidecar.nativeSidecar set explicitly, the sidecar
// goes where the config says, and the other mutations still address the
// right containers when it shifts the init containers.
func TestSidecarModes(t *testing.T) {
	withInit := func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{
			Name: "migrate", Image: "registry.example.com/migrate:1.0",
			Env:  []corev1.EnvVar{{Name: "ORDERS", Value: ordersURL}},
			Args: []string{"--orders=" + ordersELB},
		}}
	}
	for _, tc := range []struct {
		name   string
		mode   mutate.NativeSidecarMode
		native bool
	}{
		{"nativeSidecar true puts the proxy first among the init containers, restartPolicy Always", mutate.NativeSidecarTrue, true},
		{"nativeSidecar false appends the proxy to the containers", mutate.NativeSidecarFalse, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Sidecar.NativeSidecar = tc.mode
			withConfig(t, cfg)
			ns := namespace(t, true)

			for _, pc := range []struct {
				name string
				mods []func(*corev1.Pod)
			}{
				{"a pod without init containers", nil},
				{"a pod with an init container", []func(*corev1.Pod){withInit}},
				{"a pod a later webhook changes", []func(*corev1.Pod){withInit, func(p *corev1.Pod) { p.Labels[labelLate] = "true" }}},
			} {
				t.Run(pc.name, func(t *testing.T) {
					pod, warnings := create(t, webPod(t, ns, "", pc.mods...))
					checkMutations(t, pod, all)
					sc := sidecars(pod)
					if len(sc) != 1 {
						t.Fatalf("%d sidecars", len(sc))
					}
					rp := sc[0].c.RestartPolicy
					if tc.native {
						// Second, after the inzone-capture init container.
						if pod.Spec.InitContainers[1].Name != mutate.SidecarName || rp == nil || *rp != corev1.ContainerRestartPolicyAlways {
							t.Errorf("init containers %v (restartPolicy %v): want %s first, restartPolicy Always", names(pod.Spec.InitContainers), rp, mutate.SidecarName)
						}
					} else {
						// Last of the containers, but for the one the later webhook appends.
						regular := slices.DeleteFunc(names(pod.Spec.Containers), func(n string) bool { return n == lateContainer })
						if sc[0].init || rp != nil || regular[len(regular)-1] != mutate.SidecarName {
							t.Errorf("containers %v, init %v (restartPolicy %v): want %s the last regular container", names(pod.Spec.Containers), names(pod.Spec.InitContainers), rp, mutate.SidecarName)
						}
					}
					checkRestricted(t, sc[0].c)
					if slices.ContainsFunc(pod.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == "migrate" }) {
						m := container(t, pod, "migrate")
						if got, want := envValue(m, "ORDERS"), strings.Replace(ordersURL, ordersELB, ordersDDSD, 1); got != want {
							t.Errorf("init container migrate: ORDERS = %q, want %q", got, want)
						}
						if want := []string{"--orders=" + ordersDDSD}; !slices.Equal(m.Args, want) {
							t.Errorf("init container migrate: args %q, want %q", m.Args, want)
						}
					}
					if len(warnings) != 0 && !containsWith(warnings, paymentsNLB) {
						t.Errorf("warnings: %q", warnings)
					}
				})
			}
		})
	}
}
