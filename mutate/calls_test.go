package mutate

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCallees(t *testing.T) {
	e := testEngine(t, true)
	tests := []struct {
		name  string
		value *string // nil: no annotation
		want  []string
		all   bool
	}{
		{name: "absent", all: true},
		{name: "star", value: strp("*"), all: true},
		{name: "star with spaces", value: strp(" * "), all: true},
		{name: "service names rendered in the pod's namespace", value: strp("payments, Orders,orders"),
			want: []string{"orders.service.prod.ddsd", "payments.service.prod.ddsd"}},
		{name: "full DDSD name kept as written", value: strp("billing.service.other.ddsd,orders"),
			want: []string{"billing.service.other.ddsd", "orders.service.prod.ddsd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
			pod.Annotations = map[string]string{}
			if tt.value != nil {
				pod.Annotations[AnnotationCalls] = *tt.value
			}
			got, all, err := e.Callees(pod)
			if err != nil {
				t.Fatal(err)
			}
			if all != tt.all || !slices.Equal(got, tt.want) {
				t.Errorf("Callees = %v, all %v; want %v, all %v", got, all, tt.want, tt.all)
			}
		})
	}
}

// TestCallsRefused: every bad value is an AnnotationError naming the
// annotation, with a message bounded however large the value.
func TestCallsRefused(t *testing.T) {
	e := testEngine(t, true)
	many := strings.TrimSuffix(strings.Repeat("svc,", MaxCalls+1), ",")
	tests := []struct{ name, value, reason string }{
		{"empty", "", "is empty"},
		{"empty entry", "orders,,payments", "entry 2 is empty"},
		{"star among names", "orders,*", "whole value"},
		{"slash", "orders/v1", "not a service name"},
		{"shell", "$(rm -rf /)", "not a service name"},
		{"yaml", "a: {b: [c]}", "not a service name"},
		{"newline", "orders\npayments", "not a service name"},
		{"dots make a bad DDSD name", "orders..ddsd", "not a DDSD name"},
		{"label too long", strings.Repeat("a", 64), "not a service name"},
		{"too many names", many, "at most 256"},
		{"10,000 names", strings.TrimSuffix(strings.Repeat("abcd,", 10000), ","), "bytes long"},
		{"1 MiB", strings.Repeat("a", 1<<20), "bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
			pod.Annotations = map[string]string{AnnotationCalls: tt.value}
			_, err := e.Mutate(pod, Namespace{})
			var ae *AnnotationError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an AnnotationError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, AnnotationCalls) || !strings.Contains(msg, tt.reason) {
				t.Errorf("error %q does not name %s and %q", msg, AnnotationCalls, tt.reason)
			}
			if len(msg) > 1024 {
				t.Errorf("error is %d bytes long; the value must be clipped", len(msg))
			}
		})
	}
}

func strp(s string) *string { return &s }
