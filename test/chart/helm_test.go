package chart

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/inzone-io/inzone/test/envtest"
)

// The release every test renders.
const (
	release   = envtest.ChartRelease
	namespace = envtest.ChartNamespace
)

// helm runs ./bin/helm; the chart tests skip without it, or fail with
// INZONE_E2E_REQUIRED=1.
func helm(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := envtest.Helm(ctx, args...)
	skipWithoutHelm(t, err)
	return out, err
}

func skipWithoutHelm(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, envtest.ErrNoHelm) {
		if envtest.Required() {
			t.Fatal(err)
		}
		t.Skip(err.Error())
	}
}

func chartDir(t testing.TB) string {
	t.Helper()
	dir, err := envtest.ChartDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// render runs helm template and returns the raw output and its objects.
func render(t testing.TB, sets ...string) ([]byte, []*unstructured.Unstructured) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, objs, err := envtest.RenderChart(ctx, sets...)
	skipWithoutHelm(t, err)
	if err != nil {
		t.Fatal(err)
	}
	return out, objs
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
	v, err := envtest.Into[T](u)
	if err != nil {
		t.Fatal(err)
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
