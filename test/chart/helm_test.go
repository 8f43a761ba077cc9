package chart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/inzone-io/inzone/test/envtest"
)

// The release every test renders, in the namespace a user would choose.
const (
	release   = "inzone"
	namespace = "inzone-system"
)

// helmBinary is ./bin/helm (built by `make bin`, hack/build-helm.sh); the
// chart tests skip without it, or fail with INZONE_E2E_REQUIRED=1.
func helmBinary(t testing.TB) string {
	t.Helper()
	dir, err := envtest.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "helm")
	if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
		msg := fmt.Sprintf("%s is missing; run `make bin` (hack/build-helm.sh)", p)
		if envtest.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func chartDir(t testing.TB) string {
	t.Helper()
	root, err := envtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "charts", "inzone")
}

// helm runs the helm binary with a private home, so no user config or
// repository cache leaks in, and returns stdout, or an error with stderr.
func helm(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBinary(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// setArgs turns "key=value" pairs into helm --set flags; a pair starting
// with "string:" uses --set-string.
func setArgs(sets []string) []string {
	var args []string
	for _, s := range sets {
		if v, ok := strings.CutPrefix(s, "string:"); ok {
			args = append(args, "--set-string", v)
			continue
		}
		args = append(args, "--set", s)
	}
	return args
}

// render runs helm template and returns the raw output and its objects.
func render(t testing.TB, sets ...string) ([]byte, []*unstructured.Unstructured) {
	t.Helper()
	args := append([]string{"template", release, chartDir(t), "--namespace", namespace}, setArgs(sets)...)
	out, err := helm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeObjects(out)
	if err != nil {
		t.Fatalf("rendered manifests do not decode: %v\n%s", err, out)
	}
	return out, objs
}

// decodeObjects splits a YAML stream into objects, skipping empty documents.
func decodeObjects(stream []byte) ([]*unstructured.Unstructured, error) {
	dec := yamlv3.NewDecoder(bytes.NewReader(stream))
	var objs []*unstructured.Unstructured
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, err
		}
		if doc == nil {
			continue
		}
		// Round-trip through JSON so numbers and maps have the types
		// unstructured expects.
		data, err := yaml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &u.Object); err != nil {
			return nil, err
		}
		objs = append(objs, u)
	}
}

// find returns the one object of kind (and name, when not empty).
func find(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s %q, found %d", kind, name, len(found))
	}
	return found[0]
}

// into converts an object to a typed value.
func into[T any](t testing.TB, u *unstructured.Unstructured) *T {
	t.Helper()
	v := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, v, true); err != nil {
		t.Fatalf("%s %s does not convert to %T: %v", u.GetKind(), u.GetName(), v, err)
	}
	return v
}

func kinds(objs []*unstructured.Unstructured) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.GetKind())
	}
	return ks
}
