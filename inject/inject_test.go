package inject

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/golden"
)

// testEngine builds the engine every case runs with: testdata/config/inzone.yaml
// (a static ELB map), nativeSidecar auto resolved to true as the CLI does.
func testEngine(t testing.TB) *mutate.Engine {
	t.Helper()
	return engineFrom(t, readFile(t, filepath.Join("testdata", "config", "inzone.yaml")))
}

func engineFrom(t testing.TB, config []byte) *mutate.Engine {
	t.Helper()
	cfg, err := mutate.LoadConfig(config, "test config")
	if err != nil {
		t.Fatal(err)
	}
	ca := readFile(t, filepath.Join("testdata", "config", "xds-ca.pem"))
	e, err := mutate.NewEngine(cfg, mutate.Options{NativeSidecarSupported: true, ControlPlaneCA: ca})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenCase is testdata/<name><ext> with its expected output
// testdata/<name>.injected<ext>.
type goldenCase struct {
	name, in, want string
}

func cases(t *testing.T) []goldenCase {
	t.Helper()
	var out []goldenCase
	for _, pattern := range []string{"*.yaml", "*.json"} {
		paths, err := filepath.Glob(filepath.Join("testdata", pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if strings.Contains(filepath.Base(p), ".injected.") {
				continue
			}
			ext := filepath.Ext(p)
			name := strings.TrimSuffix(filepath.Base(p), ext)
			out = append(out, goldenCase{name, p, filepath.Join("testdata", name+".injected"+ext)})
		}
	}
	if len(out) == 0 {
		t.Fatal("no cases in testdata")
	}
	// A golden file whose case is gone is stale.
	goldens, _ := filepath.Glob(filepath.Join("testdata", "*.injected.*"))
	for _, g := range goldens {
		if !slices.ContainsFunc(out, func(c goldenCase) bool { return c.want == g }) {
			t.Errorf("stale golden %s has no case", g)
		}
	}
	return out
}

// TestGolden injects every testdata/<case>.yaml (or .json) and compares the
// result with testdata/<case>.injected.yaml. Rewrite with
// go test ./inject -update.
func TestGolden(t *testing.T) {
	e := testEngine(t)
	for _, c := range cases(t) {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := Manifests(readFile(t, c.in), e)
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, c.want, out)
		})
	}
}

// TestIdempotent: inject(inject(x)) == inject(x), byte for byte, and the
// second pass applies nothing.
func TestIdempotent(t *testing.T) {
	e := testEngine(t)
	for _, c := range cases(t) {
		t.Run(c.name, func(t *testing.T) {
			once, _, err := Manifests(readFile(t, c.in), e)
			if err != nil {
				t.Fatal(err)
			}
			twice, reports, err := Manifests(once, e)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(once, twice) {
				t.Errorf("second pass changed the output:\n%s", twice)
			}
			for _, r := range reports {
				if len(r.Applied) > 0 {
					t.Errorf("second pass applied %v to %s", r.Applied, r.Object())
				}
			}
		})
	}
}

// TestUnchangedDocuments: documents that are not workloads, and workloads
// that need nothing, come out byte for byte as they went in.
func TestUnchangedDocuments(t *testing.T) {
	e := testEngine(t)
	for _, tc := range []struct {
		file      string
		unchanged []string // documents, by their first line after the --- line
	}{
		{"shop.yaml", []string{"# The web Service.", "apiVersion: v1\nkind: ConfigMap", "apiVersion: apiextensions.k8s.io/v1"}},
		{"opted-out.yaml", []string{"# The pod template opts out"}},
		{"already-injected.yaml", []string{"# The shop's Deployment"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			in := readFile(t, filepath.Join("testdata", tc.file))
			out, _, err := Manifests(in, e)
			if err != nil {
				t.Fatal(err)
			}
			for _, start := range tc.unchanged {
				doc := documentStarting(t, in, start)
				if !bytes.Contains(out, doc) {
					t.Errorf("document %q is not in the output verbatim", start)
				}
			}
		})
	}
}

// documentStarting returns the original text of the document starting with
// prefix: through the next --- line or the end.
func documentStarting(t *testing.T, in []byte, prefix string) []byte {
	t.Helper()
	i := bytes.Index(in, []byte(prefix))
	if i < 0 {
		t.Fatalf("no document starting %q", prefix)
	}
	rest := in[i:]
	if j := bytes.Index(rest, []byte("\n---")); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

// TestCommentsSurvive: every comment of every input is in the output.
func TestCommentsSurvive(t *testing.T) {
	e := testEngine(t)
	for _, c := range cases(t) {
		in := readFile(t, c.in)
		out, _, err := Manifests(in, e)
		if err != nil {
			t.Fatal(err)
		}
		outLines := strings.Split(string(out), "\n")
		for _, l := range strings.Split(string(in), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "#") && !slices.Contains(outLines, l) {
				t.Errorf("%s: comment line %q lost", c.name, l)
			}
		}
	}
}

// TestOnlyAdditions: in the case files every original line is still in the
// output in order, except the lines whose ELB hostname was rewritten; the
// splice does not reformat what it does not change.
func TestOnlyAdditions(t *testing.T) {
	e := testEngine(t)
	for _, c := range cases(t) {
		in := readFile(t, c.in)
		out, _, err := Manifests(in, e)
		if err != nil {
			t.Fatal(err)
		}
		outLines := strings.Split(string(out), "\n")
		j := 0
		for _, l := range strings.Split(string(in), "\n") {
			if strings.Contains(l, ".elb.") && !slices.Contains(outLines, l) {
				continue // rewritten
			}
			for j < len(outLines) && outLines[j] != l {
				j++
			}
			if j == len(outLines) {
				t.Errorf("%s: line %q is not in the output (in order)", c.name, l)
				break
			}
		}
	}
}

// TestReports checks what each case reports per object.
func TestReports(t *testing.T) {
	e := testEngine(t)
	type obj struct {
		object  string
		applied []string
		skips   []mutate.SkipReason
		warns   int
	}
	// In the order the engine runs them (mutate.MutationNames); capture
	// comes with every sidecar injected.
	all := []string{"ddsd-rewrite", "zone-env", "spread", "sidecar", "capture"}
	noDDSD := []string{"zone-env", "spread", "sidecar", "capture"}
	for _, tc := range []struct {
		file string
		want []obj
	}{
		{"shop.yaml", []obj{{"Deployment shop/web", all, nil, 0}}},
		{"statefulset.yaml", []obj{{"StatefulSet orders/orders-db", noDDSD, nil, 0}}},
		{"daemonset.yaml", []obj{{"DaemonSet infra/node-agent", []string{"zone-env", "sidecar", "capture"}, []mutate.SkipReason{mutate.SkipDaemonSet}, 0}}},
		{"replicaset.yaml", []obj{{"ReplicaSet shop/cart", all, nil, 0}}},
		{"replicationcontroller.yaml", []obj{{"ReplicationController shop/legacy-cart", all, nil, 0}}},
		{"pod.yaml", []obj{{"Pod shop/debug", noDDSD, nil, 0}}},
		{"job.yaml", []obj{{"Job payments/settle", all, nil, 0}}},
		{"cronjob.yaml", []obj{{"CronJob shop/report", []string{"zone-env"}, []mutate.SkipReason{mutate.SkipNoIdentifyingLabels, mutate.SkipNoServiceIdentity}, 2}}},
		{"list.yaml", []obj{{"Deployment shop/checkout", noDDSD, nil, 0}}},
		{"opted-out.yaml", []obj{{"Deployment shop/legacy", nil, []mutate.SkipReason{mutate.SkipOptedOut}, 0}}},
		{"already-injected.yaml", []obj{{"Deployment shop/web", nil, nil, 0}}},
		{"web.json", []obj{{"Deployment shop/api", all, nil, 0}}},
		{"four-space.yaml", []obj{{"Deployment shop/api", all, nil, 0}}},
		{"mixed-indent.yaml", []obj{{"Deployment shop/frontend", all, nil, 0}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, reports, err := Manifests(readFile(t, filepath.Join("testdata", tc.file)), e)
			if err != nil {
				t.Fatal(err)
			}
			var got []obj
			for _, r := range reports {
				o := obj{object: r.Object(), applied: r.Applied, warns: len(r.Warnings)}
				for _, s := range r.Skips {
					o.skips = append(o.skips, s.Reason)
				}
				slices.Sort(o.skips)
				got = append(got, o)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("reports: got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i].object != tc.want[i].object || !slices.Equal(got[i].applied, tc.want[i].applied) ||
					!slices.Equal(got[i].skips, tc.want[i].skips) || got[i].warns != tc.want[i].warns {
					t.Errorf("report %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestMatchesEngine decodes every workload of every case with the API
// machinery's own decoder and checks that the injected template is exactly
// what mutate.Result.Apply makes of the original template: patching the
// manifest's fields directly is the same as patching the pod.
func TestMatchesEngine(t *testing.T) {
	e := testEngine(t)
	for _, c := range cases(t) {
		t.Run(c.name, func(t *testing.T) {
			in := readFile(t, c.in)
			out, _, err := Manifests(in, e)
			if err != nil {
				t.Fatal(err)
			}
			before, after := podsOf(t, in), podsOf(t, out)
			if len(before) != len(after) || len(before) == 0 {
				t.Fatalf("%d workloads before, %d after", len(before), len(after))
			}
			for i, p := range before {
				res, err := e.Mutate(p, mutate.Namespace{Name: "default"})
				if err != nil {
					t.Fatal(err)
				}
				want, err := res.Apply(p)
				if err != nil {
					t.Fatal(err)
				}
				got := after[i]
				if !apiequality.Semantic.DeepEqual(want.Spec, got.Spec) {
					t.Errorf("%s: spec differs from the engine's", p.GenerateName)
				}
				if !apiequality.Semantic.DeepEqual(want.Labels, got.Labels) || !apiequality.Semantic.DeepEqual(want.Annotations, got.Annotations) {
					t.Errorf("%s: metadata differs from the engine's: %v %v", p.GenerateName, got.Labels, got.Annotations)
				}
				if len(after[i].OwnerReferences) > 0 && c.name != "daemonset" {
					t.Errorf("%s: owner references", p.GenerateName)
				}
			}
		})
	}
}

// podsOf decodes the pods and pod templates of a stream the way kubectl
// would, building the pod each template's pods would start as.
func podsOf(t *testing.T, data []byte) []*corev1.Pod {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var pods []*corev1.Pod
	var visit func(obj map[string]any)
	visit = func(obj map[string]any) {
		kind, _ := obj["kind"].(string)
		meta, _ := obj["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		ns, _ := meta["namespace"].(string)
		var tmpl any
		switch kind {
		case "List":
			for _, it := range obj["items"].([]any) {
				visit(it.(map[string]any))
			}
			return
		case "Pod":
			p := &corev1.Pod{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, p); err != nil {
				t.Fatal(err)
			}
			pods = append(pods, p)
			return
		case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job":
			tmpl = obj["spec"].(map[string]any)["template"]
		case "CronJob":
			tmpl = obj["spec"].(map[string]any)["jobTemplate"].(map[string]any)["spec"].(map[string]any)["template"]
		default:
			return
		}
		pt := &corev1.PodTemplateSpec{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl.(map[string]any), pt); err != nil {
			t.Fatal(err)
		}
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			GenerateName: name + "-", Namespace: ns, Labels: pt.Labels, Annotations: pt.Annotations,
		}, Spec: pt.Spec}
		if kind == "DaemonSet" {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name}}
		}
		pods = append(pods, p)
	}
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return pods
			}
			t.Fatal(err)
		}
		if obj != nil {
			visit(obj)
		}
	}
}

// TestSyntheticFieldsNotWritten: the namespace, generateName and owner
// reference the engine sees on a template's pod stay out of the manifest.
func TestSyntheticFieldsNotWritten(t *testing.T) {
	e := testEngine(t)
	for _, c := range cases(t) {
		out, _, err := Manifests(readFile(t, c.in), e)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"generateName", "ownerReferences", "uid:"} {
			if bytes.Contains(out, []byte(s)) {
				t.Errorf("%s: output contains %s", c.name, s)
			}
		}
	}
}

// TestBrokenDocument: a document that does not parse is an error naming the
// document and its line in the stream, and there is no output.
func TestBrokenDocument(t *testing.T) {
	e := testEngine(t)
	for _, tc := range []struct {
		name, in  string
		doc, line int
	}{
		{"second document", "# header\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n   labels: x\n", 2, 12},
		{"unclosed flow", "apiVersion: apps/v1\nkind: Deployment\nspec: {template: [\n", 1, 3},
		// Where the sequence starts, as lint reports it (yamldoc.ErrorLine).
		{"unclosed flow sequence", "# header\n---\na: 1\nkind: [Service\nd: 4\n", 1, 4},
		{"duplicate key in a template", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w\nspec:\n  template:\n    spec:\n      containers: []\n      containers: []\n", 1, 9},
		{"type error", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: {name: x}\n", 1, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, reports, err := Manifests([]byte(tc.in), e)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			if out != nil || reports != nil {
				t.Errorf("output on error: %q %v", out, reports)
			}
			var ie *Error
			if !errors.As(err, &ie) || ie.Document != tc.doc || ie.Line != tc.line {
				t.Fatalf("error %v (%#v): want document %d, line %d", err, ie, tc.doc, tc.line)
			}
			want := regexp.MustCompile(`^document \d+, line \d+: `)
			if !want.MatchString(err.Error()) {
				t.Errorf("error %q does not start with its document and line", err)
			}
		})
	}
}

// TestInvalidAnnotation: an inzone annotation that does not parse is an
// error naming the object and the annotation, as the webhook's rejection does.
func TestInvalidAnnotation(t *testing.T) {
	in := `apiVersion: v1
kind: Service
metadata:
  name: fine
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      labels:
        app: web
      annotations:
        inzone.io/proxy-cpu: lots
    spec:
      containers:
      - name: app
        image: example/web:1
`
	out, _, err := Manifests([]byte(in), testEngine(t))
	if err == nil || out != nil {
		t.Fatalf("got %q, %v", out, err)
	}
	var ae *mutate.AnnotationError
	if !errors.As(err, &ae) || ae.Annotation != mutate.AnnotationProxyCPU {
		t.Fatalf("error %v is not the annotation's", err)
	}
	for _, s := range []string{"document 2", "line 17", "Deployment shop/web", "inzone.io/proxy-cpu", `"lots"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
}

// TestVerbatim: streams that need no change come back byte for byte, odd
// formatting and all.
func TestVerbatim(t *testing.T) {
	e := testEngine(t)
	for name, in := range map[string]string{
		"empty":               "",
		"comments only":       "# nothing here\n\n# at all\n",
		"no trailing newline": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}",
		"crlf":                "apiVersion: v1\r\nkind: ConfigMap\r\n---\r\napiVersion: v1\r\nkind: Secret\r\n",
		"empty documents":     "---\n---\n# c\n---\napiVersion: v1\nkind: ConfigMap\n...\n---\n",
		"document end":        "apiVersion: v1\nkind: ConfigMap\n...\n# trailing\n",
		"opted-out pod":       "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {inzone.io/inject: \"false\"}\nspec:\n  containers:\n  -   name:   x\n      image: 'y'\n",
		"template-less":       "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w\nspec:\n  replicas: 1\n",
		"other apiVersion":    "apiVersion: example.com/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: b}]\n",
		"scalar document":     "--- just a string\n",
		"json service":        `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			out, _, err := Manifests([]byte(in), e)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != in {
				t.Errorf("changed:\n%q\nwant:\n%q", out, in)
			}
		})
	}
}

// TestCRLF: a changed document keeps its CRLF line endings.
func TestCRLF(t *testing.T) {
	in := strings.ReplaceAll(string(readFile(t, filepath.Join("testdata", "pod.yaml"))), "\n", "\r\n")
	out, _, err := Manifests([]byte(in), testEngine(t))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(string(readFile(t, filepath.Join("testdata", "pod.injected.yaml"))), "\n", "\r\n")
	if string(out) != want {
		t.Errorf("got:\n%q", out)
	}
}

// TestAliases: anchors and merge keys in a workload are expanded before the
// edit, so the edit cannot reach other places through an alias, and the
// result means the same as the engine's.
func TestAliases(t *testing.T) {
	in := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: &labels
    app: web
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels: *labels
    spec:
      containers:
      - &app
        name: app
        image: example/web:1
        env: &env
        - name: A
          value: "1"
      - <<: *app
        name: worker
        env: *env
`
	e := testEngine(t)
	out, _, err := Manifests([]byte(in), e)
	if err != nil {
		t.Fatal(err)
	}
	before, after := podsOf(t, []byte(in)), podsOf(t, out)
	res, err := e.Mutate(before[0], mutate.Namespace{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := res.Apply(before[0])
	if err != nil {
		t.Fatal(err)
	}
	if !apiequality.Semantic.DeepEqual(want.Spec, after[0].Spec) || !apiequality.Semantic.DeepEqual(want.Labels, after[0].Labels) {
		t.Errorf("output differs from the engine's:\n%s", out)
	}
	// The selector still selects only app: web.
	if !strings.Contains(string(out), "matchLabels:\n      app: web\n") {
		t.Errorf("selector changed:\n%s", out)
	}
	again, _, err := Manifests(out, e)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("not idempotent: %v\n%s", err, again)
	}
}

// TestAnchorsOutsideTheEdit: anchors and aliases the edit does not touch
// stay as written; a template reached through an alias is still injected.
func TestAnchorsOutsideTheEdit(t *testing.T) {
	e := testEngine(t)
	in := "port: &port 8080\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {app: p}\nspec:\n  containers:\n  - name: a\n    image: b\n    ports: [{containerPort: *port}]\n"
	out, _, err := Manifests([]byte(in), e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte("port: &port 8080\n")) || !bytes.Contains(out, []byte("ports: [{containerPort: *port}]\n")) {
		t.Errorf("anchor or alias lost:\n%s", out)
	}

	in = "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\nx-template: &t\n  metadata:\n    labels: {app: c}\n  spec:\n    containers: [{name: a, image: b}]\nspec:\n  jobTemplate:\n    spec:\n      template: *t\n"
	out, reports, err := Manifests([]byte(in), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || len(reports[0].Applied) != 4 { // sidecar, zone-env, spread, capture
		t.Fatalf("reports: %+v", reports)
	}
	// The edit must not leak into x-template through the alias: the
	// document is expanded, and only the CronJob's template is injected.
	pods := podsOf(t, out)
	if len(pods[0].Spec.InitContainers) != 2 || bytes.Count(out, []byte("inzone-proxy")) != 1 { // the proxy and inzone-capture
		t.Errorf("template not injected exactly once:\n%s", out)
	}
}

// TestFallbackReencode: when the changed lines cannot be placed in the
// original text (here the insertion point follows a folded scalar that
// yaml.v3 reflows, at the end of the document), the whole document is
// re-encoded, and still means what the engine says.
func TestFallbackReencode(t *testing.T) {
	e := testEngine(t)
	in := "---\n# the pod\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {app: p}\nspec:\n  containers:\n  - name: a\n    image: b\n    args:\n    - >-\n      folded\n      text\n"
	out, _, err := Manifests([]byte(in), e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte("---\n# the pod\napiVersion: v1\n")) || !bytes.Contains(out, []byte("folded text")) {
		t.Errorf("not re-encoded as expected:\n%s", out)
	}
	before, after := podsOf(t, []byte(in)), podsOf(t, out)
	res, err := e.Mutate(before[0], mutate.Namespace{Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := res.Apply(before[0])
	if !apiequality.Semantic.DeepEqual(want.Spec, after[0].Spec) {
		t.Errorf("differs from the engine's:\n%s", out)
	}
	if again, _, err := Manifests(out, e); err != nil || !bytes.Equal(again, out) {
		t.Errorf("not idempotent: %v", err)
	}
}

// TestNamespaceWarning: with {namespace} in the DDSD name template, a
// manifest without a namespace is injected for "default", with a warning.
func TestNamespaceWarning(t *testing.T) {
	e := engineFrom(t, []byte("ddsd:\n  nameTemplate: \"{service}.{namespace}.svc.ddsd\"\n"))
	in := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: app\n        image: x\n"
	out, reports, err := Manifests([]byte(in), e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("web.default.svc.ddsd")) {
		t.Errorf("local cluster not rendered for default:\n%s", out)
	}
	if len(reports) != 1 || reports[0].Object() != "Deployment web" || !slices.ContainsFunc(reports[0].Warnings, func(w string) bool {
		return strings.Contains(w, "no metadata.namespace")
	}) {
		t.Errorf("reports: %+v", reports)
	}
}

// TestNativeSidecarOff: with native sidecars off the proxy is a regular
// container, appended after the app's.
func TestNativeSidecarOff(t *testing.T) {
	e := engineFrom(t, []byte("sidecar:\n  nativeSidecar: \"false\"\n"))
	out, _, err := Manifests(readFile(t, filepath.Join("testdata", "pod.yaml")), e)
	if err != nil {
		t.Fatal(err)
	}
	pods := podsOf(t, out)
	// The capture init container runs last among init containers.
	if len(pods[0].Spec.InitContainers) != 1 || pods[0].Spec.InitContainers[0].Name != mutate.CaptureContainerName ||
		len(pods[0].Spec.Containers) != 2 || pods[0].Spec.Containers[1].Name != mutate.SidecarName {
		t.Errorf("sidecar not a regular container:\n%s", out)
	}
}

func TestLCS(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"abcabba", "cbabac"}, {"", "abc"}, {"abc", ""}, {"abc", "abc"}, {"axbxc", "abc"}, {"abc", "xaybzc"},
	} {
		m, ok := lcs(len(tc.a), len(tc.b), func(i, j int) bool { return tc.a[i] == tc.b[j] })
		if !ok {
			t.Fatal("gave up")
		}
		n, last := 0, -1
		for i, j := range m {
			if j < 0 {
				continue
			}
			if j <= last || tc.a[i] != tc.b[j] {
				t.Errorf("%q/%q: bad match %v", tc.a, tc.b, m)
			}
			last = j
			n++
		}
		if want := lcsLen(tc.a, tc.b); n != want {
			t.Errorf("%q/%q: %d matches, want %d", tc.a, tc.b, n, want)
		}
	}
}

func lcsLen(a, b string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

// TestDirectivesPassThrough: a %YAML directive stands apart from its
// document (yamldoc.SplitAtMarkers), is written as it is, and the
// documents after it are injected.
func TestDirectivesPassThrough(t *testing.T) {
	pod := string(readFile(t, filepath.Join("testdata", "pod.yaml")))
	in := "%YAML 1.2\n---\n" + strings.TrimPrefix(pod, "---\n")
	out, reports, err := Manifests([]byte(in), testEngine(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "%YAML 1.2\n---\n") || len(reports) != 1 || len(reports[0].Applied) == 0 {
		t.Errorf("reports %v, output:\n%s", reports, out)
	}
}
