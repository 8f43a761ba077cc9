package webhook

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/inzone-io/inzone/mutate"
)

// testCA is mutate's throwaway test CA.
func testCA(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "mutate", "testdata", "xds-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEngineBuilderReadsTheCAFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name      string
		file      string
		plaintext bool
		given     []byte
		wantErr   string
		missing   bool
		sidecar   bool
	}{
		{name: "a CA file gives sidecars", file: write("ca.crt", testCA(t)), sidecar: true},
		{name: "no CA file gives no sidecar, not an error", file: filepath.Join(dir, "absent.crt"), missing: true},
		{name: "a CA given as data wins over the file", file: filepath.Join(dir, "absent.crt"), given: testCA(t), sidecar: true},
		{name: "plaintext needs no file", file: filepath.Join(dir, "absent.crt"), plaintext: true, sidecar: true},
		{name: "a file that is not a CA is an error", file: write("bad.crt", []byte("garbage")), wantErr: "not PEM"},
		{name: "a huge file is an error", file: write("huge.crt", make([]byte, mutate.MaxControlPlaneCABytes+1)), wantErr: "larger than"},
		{name: "a device is an error", file: "/dev/zero", wantErr: "not a regular file"},
		{name: "a directory is an error", file: dir, wantErr: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mutate.DefaultConfig()
			cfg.Sidecar.ControlPlane.Plaintext = tt.plaintext
			b := &engineBuilder{cfg: cfg, opts: mutate.Options{ControlPlaneCA: tt.given}, caFile: tt.file, sw: &mutatorSwitch{}}
			missing, err := b.build()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if b.sw.cur.Load() != nil {
					t.Error("an engine was installed despite the error")
				}
				return
			}
			if err != nil || missing != tt.missing {
				t.Fatalf("build: missing %v, err %v; want missing %v", missing, err, tt.missing)
			}
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x"}}},
			}
			res, err := b.sw.Mutate(pod, mutate.Namespace{Name: "shop"})
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(res.Applied, mutate.MutationSidecar); got != tt.sidecar {
				t.Errorf("sidecar applied: %v, want %v (%+v)", got, tt.sidecar, res.Skips)
			}
		})
	}
}

func TestMutatorSwitchBeforeBuildFailsOpen(t *testing.T) {
	if _, err := new(mutatorSwitch).Mutate(&corev1.Pod{}, mutate.Namespace{}); err == nil {
		t.Fatal("an empty switch mutated")
	}
}

// TestEngineBuilderKeepsEveryInput: the native-sidecar answer and the CA
// file arrive in either order, and each rebuild keeps what the other brought.
func TestEngineBuilderKeepsEveryInput(t *testing.T) {
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	b := &engineBuilder{cfg: mutate.DefaultConfig(), caFile: caFile, sw: &mutatorSwitch{}}
	sidecarIn := func() string {
		t.Helper()
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x"}}},
		}
		res, err := b.sw.Mutate(pod, mutate.Namespace{Name: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		out, err := res.Apply(pod)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range out.Spec.InitContainers {
			if c.Name == mutate.SidecarName {
				return "init"
			}
		}
		for _, c := range out.Spec.Containers {
			if c.Name == mutate.SidecarName {
				return "containers"
			}
		}
		return "none"
	}
	if missing, err := b.build(); err != nil || !missing {
		t.Fatalf("first build: missing %v, err %v", missing, err)
	}
	if got := sidecarIn(); got != "none" {
		t.Fatalf("without a CA the sidecar is in %s, want none", got)
	}
	if err := b.setNative(true); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, testCA(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b.build(); err != nil {
		t.Fatal(err)
	}
	if got := sidecarIn(); got != "init" {
		t.Fatalf("native answer, then the CA: sidecar in %s, want init (a native sidecar)", got)
	}
	if err := b.setNative(false); err != nil {
		t.Fatal(err)
	}
	if got := sidecarIn(); got != "containers" {
		t.Fatalf("the CA, then a non-native answer: sidecar in %s, want containers", got)
	}
}
