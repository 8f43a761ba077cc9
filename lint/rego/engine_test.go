package rego

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/inzone-io/inzone/report"
)

// customRule is a rule package for kind Widget with body as its rules.
func customRule(id, body string) *fstest.MapFile {
	name := strings.ReplaceAll(id, "-", "_")
	return &fstest.MapFile{Data: []byte("# METADATA\n# title: t\n# scope: package\n# custom:\n#   id: " + id +
		"\n#   severity: warning\n#   kinds: [Widget]\n#   remediation: fix it\npackage inzone.rules." + name + "\n\n" + body + "\n")}
}

func evalWidget(t *testing.T, ctx context.Context, fsys fs.FS) ([]Violation, error) {
	t.Helper()
	e, err := New(context.Background(), Options{Policies: []fs.FS{fsys}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := ast.InterfaceToValue(map[string]any{"kind": "Widget", "metadata": map[string]any{"name": "w"}})
	if err != nil {
		t.Fatal(err)
	}
	return e.Eval(ctx, in)
}

type violationSummary struct {
	Rule, Message, Hint string
	Severity            report.Severity
	Path                []any
}

func summarize(vs []Violation) []violationSummary {
	var out []violationSummary
	for _, v := range vs {
		out = append(out, violationSummary{v.Rule.ID, v.Message, v.Hint, v.Severity, v.Path})
	}
	return out
}

// TestEngineViolations covers the violation contract for custom rules:
// partial sets, and the other shapes a package may give violation, which
// are read as the elements iterating them yields.
func TestEngineViolations(t *testing.T) {
	fsys := fstest.MapFS{
		"lib/lib.rego": {Data: []byte("package inzone.lib\n\nname := input.metadata.name\n")},
		"a/rule.rego": customRule("a-set", `import data.inzone.lib
violation contains {"msg": sprintf("%s b", [lib.name]), "path": ["spec", 1]}
violation contains {"msg": "a", "path": ["spec", 0], "hint": "h", "severity": "error"}
violation contains {"msg": "never", "path": []} if input.kind == "Gadget"`),
		"b/rule.rego": customRule("b-array", `violation := [{"msg": "b", "path": ["x"]}]`),
		"c/rule.rego": customRule("c-undefined", `violation := [{"msg": "c", "path": []}] if input.kind == "Gadget"`),
		"d/rule.rego": customRule("d-none", `other := 1`),
		"e/rule.rego": customRule("e-base-doc", `violation contains {"msg": "e", "path": []} if not data.nothing.here`),
		"f/rule.rego": customRule("f-empty-set", `violation contains {"msg": "f", "path": []} if false`),
	}
	vs, err := evalWidget(t, context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []violationSummary{
		{"a-set", "a", "h", report.SeverityError, []any{"spec", json.Number("0")}},
		{"a-set", "w b", "fix it", report.SeverityWarning, []any{"spec", json.Number("1")}},
		{"b-array", "b", "fix it", report.SeverityWarning, []any{"x"}},
		{"e-base-doc", "e", "fix it", report.SeverityWarning, []any{}},
	}
	if got := summarize(vs); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestEngineViolationErrors(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`violation contains "oops"`, "rule x-bad: a violation must be an object with msg and path, got string"},
		{`violation contains {"path": []}`, "rule x-bad: a violation has no msg"},
		{`violation contains {"msg": 1, "path": []}`, "rule x-bad: a violation has no msg"},
	} {
		_, err := evalWidget(t, context.Background(), fstest.MapFS{"x.rego": customRule("x-bad", tt.body)})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error %v, want %s", tt.body, err, tt.want)
		}
	}
}

func TestEngineCompileError(t *testing.T) {
	_, err := New(context.Background(), Options{Policies: []fs.FS{fstest.MapFS{
		"x.rego": customRule("x-bad", `violation contains {"msg": "x", "path": []} if count(5) > 1`),
	}}})
	if err == nil || !strings.HasPrefix(err.Error(), "compiling policies: ") || !strings.Contains(err.Error(), "x.rego:11: rego_type_error: count") {
		t.Errorf("error %v, want the type error of x.rego", err)
	}
}

// TestEngineKeepsSameNamedFilesOfTwoPolicyDirs: two --policy directories
// may each have a rule.rego at their root; both rules are loaded.
func TestEngineKeepsSameNamedFilesOfTwoPolicyDirs(t *testing.T) {
	one := fstest.MapFS{"rule.rego": customRule("one", `violation contains {"msg": "one", "path": []}`)}
	two := fstest.MapFS{"rule.rego": customRule("two", `violation contains {"msg": "two", "path": []}`)}
	e, err := New(context.Background(), Options{Policies: []fs.FS{one, two}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := ast.InterfaceToValue(map[string]any{"kind": "Widget"})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := e.Eval(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Rule.ID+": "+v.Message)
	}
	if want := []string{"one: one", "two: two"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("violations = %q, want %q", got, want)
	}
}

// TestEngineRefusesARulePackageItWouldNotEvaluate: a package under
// data.inzone.rules whose name is not an identifier is never evaluated, so
// loading it is an error rather than a rule that silently does nothing.
func TestEngineRefusesARulePackageItWouldNotEvaluate(t *testing.T) {
	f := customRule("my-rule", `violation contains {"msg": "m", "path": []}`)
	f.Data = []byte(strings.Replace(string(f.Data), "package inzone.rules.my_rule", `package inzone.rules["my-rule"]`, 1))
	_, err := New(context.Background(), Options{Policies: []fs.FS{fstest.MapFS{"rule.rego": f}}})
	if err == nil || !strings.Contains(err.Error(), "rule.rego") || !strings.Contains(err.Error(), "Rego identifier") {
		t.Fatalf("err = %v, want one naming rule.rego and the package rule", err)
	}
}

// TestEngineEvalGivesUpWaitingForTheCompile: Eval waits for the policies
// to compile, unless its context is done.
func TestEngineEvalGivesUpWaitingForTheCompile(t *testing.T) {
	e := &Engine{compiled: make(chan struct{}), byKind: map[string][]string{"Widget": {"x"}}} // never compiles
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in, err := ast.InterfaceToValue(map[string]any{"kind": "Widget"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := e.Eval(ctx, in); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Eval with a cancelled context still waits for a compile that never ends")
	}
}
