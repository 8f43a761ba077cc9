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
			b := &engineBuilder{cfg: cfg, opts: mutate.Options{ControlPlaneCA: tt.given}, caFile: tt.file, slot: &engineSlot{}}
			missing, err := b.build()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if b.slot.engine.Load() != nil {
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
			res, err := b.slot.Mutate(pod, mutate.Namespace{Name: "shop"})
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(res.Applied, mutate.MutationSidecar); got != tt.sidecar {
				t.Errorf("sidecar applied: %v, want %v (%+v)", got, tt.sidecar, res.Skips)
			}
		})
	}
}

func TestEngineSlotBeforeBuildFailsOpen(t *testing.T) {
	if _, err := new(engineSlot).Mutate(&corev1.Pod{}, mutate.Namespace{}); err == nil {
		t.Fatal("an empty slot mutated")
	}
}
