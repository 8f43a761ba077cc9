package envtest

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestAssetsDir(t *testing.T) {
	t.Run("without KUBEBUILDER_ASSETS it is the bin folder beside go.mod", func(t *testing.T) {
		t.Setenv(EnvAssets, "")
		dir, err := AssetsDir()
		if err != nil {
			t.Fatal(err)
		}
		root := filepath.Dir(dir)
		if filepath.Base(dir) != "bin" {
			t.Errorf("AssetsDir = %s, want a bin folder", dir)
		}
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
			t.Errorf("no go.mod beside %s: %v", dir, err)
		}
	})
	t.Run("KUBEBUILDER_ASSETS wins", func(t *testing.T) {
		t.Setenv(EnvAssets, "/somewhere/else")
		if dir, _ := AssetsDir(); dir != "/somewhere/else" {
			t.Errorf("AssetsDir = %s", dir)
		}
	})
	t.Run("missing binaries are ErrNoBinaries and say to run make bin", func(t *testing.T) {
		err := checkBinaries(t.TempDir())
		if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), "make bin") {
			t.Errorf("checkBinaries(empty dir) = %v", err)
		}
	})
	t.Run("the webhook configuration is what a real installation registers", func(t *testing.T) {
		h := InzoneWebhookConfiguration()
		if h.Name != WebhookConfigurationName || len(h.Webhooks) != 1 {
			t.Fatalf("%+v", h)
		}
		w := h.Webhooks[0]
		if w.Name != WebhookName || *w.ClientConfig.Service.Path != "/mutate-v1-pod" || string(*w.ReinvocationPolicy) != "IfNeeded" ||
			string(*w.FailurePolicy) != "Fail" || *w.TimeoutSeconds != 10 || w.NamespaceSelector.MatchLabels["inzone.io/inject"] != "enabled" {
			t.Errorf("%+v", w)
		}
	})
}

func TestRemoveBuiltBinaries(t *testing.T) {
	bin, err := BuildBinary("./test/envtest/testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := BuildBinary("./test/envtest/testdata/hello"); again != bin {
		t.Fatalf("built twice: %s, then %s", bin, again)
	}
	if out, err := exec.Command(bin).Output(); err != nil || string(out) != "hello\n" {
		t.Fatalf("running %s: %q, %v", bin, out, err)
	}
	if err := RemoveBuiltBinaries(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(bin)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s is still there: %v", filepath.Dir(bin), err)
	}
	rebuilt, err := BuildBinary("./test/envtest/testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	defer RemoveBuiltBinaries()
	if _, err := os.Stat(rebuilt); err != nil {
		t.Fatalf("not built again after the removal: %v", err)
	}
}
