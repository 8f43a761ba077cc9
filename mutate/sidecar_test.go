package mutate

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestProxyConcurrency checks Envoy's worker count follows the CPU limit, is
// bounded, and that a limit too large to compute with is refused, naming
// the annotation, instead of wrapping to a small or negative count.
func TestProxyConcurrency(t *testing.T) {
	e := testEngine(t, true)
	for _, tt := range []struct {
		cpuLimit, cpuRequest string
		want                 string // --concurrency, or "" for a rejection
	}{
		{cpuLimit: "", want: "2"},
		{cpuLimit: "100m", want: "1"},
		{cpuLimit: "1", want: "1"},
		{cpuLimit: "1001m", want: "2"},
		{cpuLimit: "4", want: "4"},
		{cpuLimit: "64", want: "64"},
		{cpuLimit: "65", want: "64"},
		{cpuLimit: "100000", want: "64"},
		{cpuLimit: "9223372036854775", want: "64"},
		{cpuLimit: "9223372036854776", want: ""},
		{cpuLimit: "9223372036854775807", want: ""},
		{cpuLimit: "1e400", want: ""},
		{cpuLimit: "1E18", want: ""},
		{cpuLimit: "8Ei", want: ""},
		{cpuLimit: "1", cpuRequest: "1e30", want: ""},
	} {
		t.Run(tt.cpuLimit+"/"+tt.cpuRequest, func(t *testing.T) {
			pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
			pod.Annotations = map[string]string{}
			ann := AnnotationProxyCPULimit
			if tt.cpuLimit != "" {
				pod.Annotations[AnnotationProxyCPULimit] = tt.cpuLimit
			}
			if tt.cpuRequest != "" {
				pod.Annotations[AnnotationProxyCPU] = tt.cpuRequest
				ann = AnnotationProxyCPU
			}
			res, err := e.Mutate(pod, Namespace{})
			if tt.want == "" {
				var ae *AnnotationError
				if !errors.As(err, &ae) || !strings.Contains(err.Error(), ann) {
					t.Fatalf("err = %v, want an AnnotationError naming %s", err, ann)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mutated, err := res.Apply(pod)
			if err != nil {
				t.Fatal(err)
			}
			args := sidecarOf(t, mutated).Args
			i := slices.Index(args, "--concurrency")
			if i < 0 || i+1 >= len(args) {
				t.Fatalf("no --concurrency in %q", args)
			}
			if args[i+1] != tt.want {
				t.Errorf("--concurrency %s, want %s", args[i+1], tt.want)
			}
		})
	}
}

func TestMemoryAnnotationOverflowIsRejected(t *testing.T) {
	e := testEngine(t, true)
	for _, v := range []string{"1e400", "9Ei", "1E19"} {
		t.Run(v, func(t *testing.T) {
			pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
			pod.Annotations = map[string]string{AnnotationProxyMemoryLimit: v}
			_, err := e.Mutate(pod, Namespace{})
			var ae *AnnotationError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), AnnotationProxyMemoryLimit) {
				t.Fatalf("err = %v, want an AnnotationError naming %s", err, AnnotationProxyMemoryLimit)
			}
		})
	}
}
