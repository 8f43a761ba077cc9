package translate

import (
	"path/filepath"
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/inzone-io/inzone/mutate"
)

func callsPod(name, calls string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{mutate.AnnotationCalls: calls}},
		Spec: corev1.PodSpec{NodeName: testNode, Containers: []corev1.Container{{Name: "app"},
			{Name: mutate.SidecarName, Args: []string{mutate.ServiceClusterFlag, "web.service.prod.ddsd"}}}},
	}
}

// TestScopesHostileCalls: a declaration the webhook would refuse is
// ignored (the full view, one report), never half-read, whatever its size
// or characters; a good pod of the same identity does not scope it.
func TestScopesHostileCalls(t *testing.T) {
	tr := testTranslator(t)
	tests := []struct{ name, value string }{
		{"10,000 names", strings.TrimSuffix(strings.Repeat("orders,", 10000), ",")},
		{"1 MiB", strings.Repeat("o", 1<<20)},
		{"slashes", "orders/v1"},
		{"shell", "orders;$(reboot)`id`"},
		{"yaml", "{orders: [payments]}\n- x"},
		{"dots", "..."},
		{"star among names", "*,orders"},
		{"nul", "orders\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Source{Name: "main", Nodes: testNodes, Pods: []*corev1.Pod{callsPod("web-1", tt.value), callsPod("web-2", "orders")}}
			out := tr.Translate(Input{Sources: []Source{src}})
			if err := out.Validate(); err != nil {
				t.Fatal(err)
			}
			if out.IgnoredCalls != 1 || len(out.Scopes) != 0 {
				t.Fatalf("ignored %d, scopes %d; want 1 ignored and the full view", out.IgnoredCalls, len(out.Scopes))
			}
			if len(out.Problems) != 1 || len(out.Problems[0].String()) > 1024 || !strings.Contains(out.Problems[0].String(), mutate.AnnotationCalls) {
				t.Errorf("problems = %v, want one short one naming %s", out.Problems, mutate.AnnotationCalls)
			}
		})
	}
}

// TestScopesMaxNames: the largest declaration accepted is served: every
// name in the view's calls, a cluster only for the names served.
func TestScopesMaxNames(t *testing.T) {
	tr := testTranslator(t)
	names := make([]string, mutate.MaxCalls)
	for i := range names {
		names[i] = "svc-" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	names[0] = "big"
	src := bigService(10, []string{"a"})
	src.Pods = []*corev1.Pod{callsPod("web-1", strings.Join(names, ","))}
	src.Pods[0].Namespace = "ns"
	out := tr.Translate(Input{Sources: []Source{src}})
	if err := out.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(out.Scopes) != 1 {
		t.Fatalf("scopes = %d, want 1 (problems %v)", len(out.Scopes), out.Problems)
	}
	sc := out.Scopes[0]
	if len(sc.Calls) != mutate.MaxCalls || len(sc.Clusters) != 1+len(ListenerClusters) || len(sc.Route.VirtualHosts) != 2 {
		t.Errorf("calls %d, clusters %d, virtual hosts %d; want %d, %d (big:80 and the listeners' own), 2", len(sc.Calls), len(sc.Clusters), len(sc.Route.VirtualHosts), mutate.MaxCalls, 1+len(ListenerClusters))
	}
}

// TestScopesKeepRouteFields: a scope's route table is the full one but for
// its virtual hosts; every other field, present or added later (e.g.
// request_headers_to_remove, without which the explicit-proxy mark goes
// upstream), is the full table's.
func TestScopesKeepRouteFields(t *testing.T) {
	tr := testTranslator(t)
	out := tr.Translate(Input{Sources: []Source{loadSource(t, filepath.Join("testdata", "cases", "calls", "main.yaml"))}})
	if len(out.Scopes) == 0 || len(out.Routes) != 1 {
		t.Fatalf("scopes %d, routes %d: the calls case must give scopes and one full table", len(out.Scopes), len(out.Routes))
	}
	full := out.Routes[0]
	if len(full.GetRequestHeadersToRemove()) == 0 {
		t.Fatal("the full table removes no header: the case no longer checks request_headers_to_remove")
	}
	// Every field but the virtual hosts, compared whole: a field the
	// scope drops differs.
	bare := func(rc *routev3.RouteConfiguration) *routev3.RouteConfiguration {
		c := proto.Clone(rc).(*routev3.RouteConfiguration)
		c.VirtualHosts = nil
		return c
	}
	want := bare(full)
	for _, sc := range out.Scopes {
		if got := bare(sc.Route); !proto.Equal(got, want) {
			t.Errorf("scope %s: its route table, virtual hosts aside, is\n%v\nwant the full table's\n%v", sc.Identity, prototext.Format(got), prototext.Format(want))
		}
	}
}
