package rego

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
	oparego "github.com/open-policy-agent/opa/v1/rego"
	"go.yaml.in/yaml/v3"

	"github.com/inzone-io/inzone/policies"
	"github.com/inzone-io/inzone/report"
)

// Rego test names say which way they go: test_flags_* expects violations,
// test_allows_* expects none. Every rule has at least one of each.
var (
	flagsTest  = regexp.MustCompile(`^test_flags_[a-z0-9_]+$`)
	allowsTest = regexp.MustCompile(`^test_allows_[a-z0-9_]+$`)
	ruleID     = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// ruleDirs lists the rule folders of policies.FS: those holding rule.rego.
func ruleDirs(t *testing.T) []string {
	t.Helper()
	entries, err := fs.ReadDir(policies.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := fs.Stat(policies.FS, path.Join(e.Name(), "rule.rego")); err != nil {
			t.Errorf("%s: folder without rule.rego", e.Name())
			continue
		}
		dirs = append(dirs, e.Name())
	}
	if len(dirs) == 0 {
		t.Fatal("policies.FS holds no rule folder")
	}
	return dirs
}

// rulePackage is the Rego package of the rule in folder dir.
func rulePackage(dir string) string {
	return "inzone.rules." + strings.ReplaceAll(dir, "-", "_")
}

func TestVerifyPolicies(t *testing.T) {
	results, err := Verify(context.Background(), policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	byPackage := map[string][]string{}
	for _, r := range results {
		if !r.Pass || r.Skip {
			t.Errorf("%s.%s: %s", r.Package, r.Name, cmp.Or(r.Fail, "skipped"))
		}
		byPackage[r.Package] = append(byPackage[r.Package], r.Name)
	}
	t.Logf("%d Rego tests in %d packages", len(results), len(byPackage))

	for _, dir := range ruleDirs(t) {
		pkg := "data." + rulePackage(dir) + "_test"
		names, ok := byPackage[pkg]
		if !ok {
			t.Errorf("%s: no tests in package %s", dir, pkg)
			continue
		}
		delete(byPackage, pkg)
		var flags, allows int
		for _, n := range names {
			switch {
			case flagsTest.MatchString(n):
				flags++
			case allowsTest.MatchString(n):
				allows++
			default:
				t.Errorf("%s: test %s: name must start test_flags_ (expects violations) or test_allows_ (expects none)", dir, n)
			}
		}
		if flags == 0 || allows == 0 {
			t.Errorf("%s: %d test_flags_ and %d test_allows_ tests; want at least one of each", dir, flags, allows)
		}
	}
	for pkg := range byPackage {
		t.Errorf("tests in %s belong to no rule folder", pkg)
	}
}

func TestVerifyResults(t *testing.T) {
	fsys := fstest.MapFS{
		"x/rule.rego": {Data: []byte("package inzone.rules.x\n\nviolation contains \"v\" if input.bad\n")},
		"x/rule_test.rego": {Data: []byte(`package inzone.rules.x_test

import data.inzone.rules.x

test_flags_bad if x.violation with input as {"bad": true}

test_allows_good if count(x.violation) == 2 with input as {}

test_allows_error if to_number("nope")

todo_test_later if false

test_flags_builtin if count(inzone.elb_hostnames("a-b.us-east-1.elb.amazonaws.com")) == 1
`)},
		"x/testdata/fail-x.yaml": {Data: []byte("not: rego\n")},
	}
	results, err := Verify(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]VerifyResult{}
	for _, r := range results {
		if r.Package != "data.inzone.rules.x_test" {
			t.Errorf("result %+v: wrong package", r)
		}
		got[r.Name] = r
	}
	for name, want := range map[string]struct {
		pass, skip bool
		fail       string
	}{
		"test_flags_bad":     {pass: true},
		"test_allows_good":   {fail: "x/rule_test.rego:7: test failed"},
		"test_allows_error":  {fail: "to_number"},
		"todo_test_later":    {pass: true, skip: true},
		"test_flags_builtin": {pass: true},
	} {
		r, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: no result", name)
		case r.Pass != want.pass || r.Skip != want.skip:
			t.Errorf("%s: pass %v skip %v, want %v %v (%s)", name, r.Pass, r.Skip, want.pass, want.skip, r.Fail)
		case want.fail == "" && r.Fail != "":
			t.Errorf("%s: fail %q, want none", name, r.Fail)
		case !strings.Contains(r.Fail, want.fail):
			t.Errorf("%s: fail %q, want it to contain %q", name, r.Fail, want.fail)
		}
	}
	if len(got) != 5 {
		t.Errorf("%d results, want 5: %+v", len(got), results)
	}
	if !slices.IsSortedFunc(results, func(a, b VerifyResult) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("results not sorted: %+v", results)
	}
}

func TestVerifyExtraFS(t *testing.T) {
	extra := fstest.MapFS{
		// Same path as in policies.FS: the extra file system's files must
		// not replace the embedded ones.
		"external-traffic-policy-cluster/rule_test.rego": {Data: []byte(`package user.checks_test

test_allows_user if true
`)},
	}
	results, err := Verify(context.Background(), policies.FS, extra)
	if err != nil {
		t.Fatal(err)
	}
	var user, embedded int
	for _, r := range results {
		switch r.Package {
		case "data.user.checks_test":
			user++
		case "data.inzone.rules.external_traffic_policy_cluster_test":
			embedded++
		}
	}
	if user != 1 || embedded == 0 {
		t.Errorf("%d user tests, %d embedded tests of external-traffic-policy-cluster; want 1 and some", user, embedded)
	}
}

func TestVerifyErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  string
	}{
		{"a parse error is an error", "package x\n\ntest_x if {\n"},
		{"a compile error is an error", "package x\n\ntest_x if undefined_function(1)\n"},
		{"a type error in a builtin call is an error", "package x\n\ntest_x if count(inzone.elb_hostnames(1, 2)) == 0\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(context.Background(), fstest.MapFS{"x.rego": {Data: []byte(tt.src)}})
			if err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestVerifyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Verify(ctx, policies.FS); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// TestVerifyFormatted requires every .rego file to be formatted as `opa fmt`
// would.
func TestVerifyFormatted(t *testing.T) {
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".rego" {
			return err
		}
		src, err := fs.ReadFile(policies.FS, p)
		if err != nil {
			return err
		}
		out, err := format.SourceWithOpts(p, src, format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if !bytes.Equal(out, src) {
			t.Errorf("%s is not formatted (opa fmt); formatted:\n%s", p, out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMetadata checks the package METADATA of every rule.
func TestMetadata(t *testing.T) {
	ids := map[string]string{}
	for _, dir := range ruleDirs(t) {
		file := path.Join(dir, "rule.rego")
		src, err := fs.ReadFile(policies.FS, file)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ast.ParseModuleWithOpts(file, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if got, want := strings.TrimPrefix(m.Package.Path.String(), "data."), rulePackage(dir); got != want {
			t.Errorf("%s: package %s, want %s", file, got, want)
		}
		var a *ast.Annotations
		for _, x := range m.Annotations {
			if x.Scope == "package" {
				if a != nil {
					t.Errorf("%s: two package METADATA blocks", file)
				}
				a = x
			}
		}
		if a == nil {
			t.Errorf("%s: no package METADATA", file)
			continue
		}
		if strings.TrimSpace(a.Title) == "" {
			t.Errorf("%s: METADATA has no title", file)
		}
		if strings.TrimSpace(a.Description) == "" {
			t.Errorf("%s: METADATA has no description", file)
		}
		id, _ := a.Custom["id"].(string)
		switch {
		case id != dir:
			t.Errorf("%s: custom.id %q, want the folder name %q", file, id, dir)
		case !ruleID.MatchString(id):
			t.Errorf("%s: custom.id %q is not kebab-case", file, id)
		case ids[id] != "":
			t.Errorf("%s: custom.id %q already used by %s", file, id, ids[id])
		}
		ids[id] = file
		if sev, _ := a.Custom["severity"].(string); report.Severity(sev).Rank() == 0 {
			t.Errorf("%s: custom.severity %q, want error, warning or info", file, sev)
		}
		if rem, _ := a.Custom["remediation"].(string); strings.TrimSpace(rem) == "" {
			t.Errorf("%s: custom.remediation is empty", file)
		}
		if kinds, _ := a.Custom["kinds"].([]any); len(kinds) == 0 {
			t.Errorf("%s: custom.kinds is empty: list the input kinds the rule reads, so documents of other kinds are not evaluated", file)
		}
		for k := range a.Custom {
			if k != "id" && k != "severity" && k != "remediation" && k != "kinds" {
				t.Errorf("%s: unknown custom.%s", file, k)
			}
		}
	}
}

// TestVerifyTestdata runs each rule on its own testdata, as a plain decoded
// document (the engine runs them again with positions): every fail-* file
// must yield a violation of well-formed shape, every pass-* file none. A
// YAML file may hold several documents; a fail-* file passes when any does.
// Documents without a kind are Envoy configs as written in a file, which
// only the engine can turn into Rego input: they are left to its tests, and
// the EnvoyConfig inputs in *.json files stand for them here.
func TestVerifyTestdata(t *testing.T) {
	ctx := context.Background()
	for _, dir := range ruleDirs(t) {
		t.Run(dir, func(t *testing.T) {
			src, err := fs.ReadFile(policies.FS, path.Join(dir, "rule.rego"))
			if err != nil {
				t.Fatal(err)
			}
			pq, err := oparego.New(
				oparego.Query("data."+rulePackage(dir)+".violation"),
				oparego.Module(dir+"/rule.rego", string(src)),
				oparego.SetRegoVersion(ast.RegoV1),
				oparego.StrictBuiltinErrors(true),
				elbHostnames(nil),
			).PrepareForEval(ctx)
			if err != nil {
				t.Fatal(err)
			}
			files, err := fs.Glob(policies.FS, dir+"/testdata/*")
			if err != nil {
				t.Fatal(err)
			}
			var fails, passes int
			for _, file := range files {
				base := path.Base(file)
				wantFail := strings.HasPrefix(base, "fail-")
				if !wantFail && !strings.HasPrefix(base, "pass-") {
					t.Errorf("%s: testdata name must start fail- or pass-", file)
					continue
				}
				var docs []any
				for _, doc := range decodeTestdata(t, file) {
					if m, ok := doc.(map[string]any); ok {
						if _, ok := m["kind"].(string); ok {
							docs = append(docs, doc)
						}
					}
				}
				if len(docs) == 0 {
					continue // an Envoy config file
				}
				if wantFail {
					fails++
				} else {
					passes++
				}
				var got int
				for i, doc := range docs {
					rs, err := pq.Eval(ctx, oparego.EvalInput(doc))
					if err != nil {
						t.Errorf("%s (document %d): %v", file, i, err)
						continue
					}
					for _, v := range violations(t, rs) {
						got++
						checkViolation(t, file, doc, v)
						if !wantFail {
							t.Errorf("%s (document %d): unexpected violation %v", file, i, v)
						}
					}
				}
				if wantFail && got == 0 {
					t.Errorf("%s: no violation", file)
				}
			}
			if fails == 0 || passes == 0 {
				t.Errorf("%d fail-* and %d pass-* testdata files; want at least one of each", fails, passes)
			}
		})
	}
}

func decodeTestdata(t *testing.T, file string) []any {
	t.Helper()
	src, err := fs.ReadFile(policies.FS, file)
	if err != nil {
		t.Fatal(err)
	}
	switch path.Ext(file) {
	case ".yaml", ".yml", ".json":
	default:
		t.Fatalf("%s: testdata must be .yaml or .json", file)
	}
	// JSON is YAML; decoding both with yaml.v3 gives the same Go values.
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []any
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no document", file)
	}
	return docs
}

func violations(t *testing.T, rs oparego.ResultSet) []map[string]any {
	t.Helper()
	if len(rs) == 0 {
		return nil
	}
	set, ok := rs[0].Expressions[0].Value.([]any)
	if !ok {
		t.Fatalf("violation is %T, want a set", rs[0].Expressions[0].Value)
	}
	out := make([]map[string]any, 0, len(set))
	for _, x := range set {
		v, ok := x.(map[string]any)
		if !ok {
			t.Errorf("violation %v is not an object", x)
			continue
		}
		out = append(out, v)
	}
	return out
}

// checkViolation checks the shape the engine relies on: a one-line msg
// naming the object, a non-empty path of keys and indexes whose first step
// exists in the document, and optional one-line hint and severity.
func checkViolation(t *testing.T, file string, doc any, v map[string]any) {
	t.Helper()
	msg, _ := v["msg"].(string)
	if msg == "" || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("%s: msg %q must be one non-empty line", file, msg)
	}
	// An Envoy config's paths are in its source file, not in the input,
	// and its messages name clusters or the bootstrap, not the file.
	obj, _ := doc.(map[string]any)
	kind, _ := obj["kind"].(string)
	k8s := obj != nil && kind != "EnvoyConfig"
	if k8s {
		meta, _ := obj["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		if !strings.HasPrefix(msg, kind+" ") || !strings.Contains(msg, name) {
			t.Errorf("%s: msg %q does not name %s %s", file, msg, kind, name)
		}
	}
	p, _ := v["path"].([]any)
	if len(p) == 0 {
		t.Errorf("%s: %q: empty path", file, msg)
	}
	for _, step := range p {
		switch step.(type) {
		case string, json.Number:
		default:
			t.Errorf("%s: %q: path step %v (%T) is neither key nor index", file, msg, step, step)
		}
	}
	if len(p) > 0 && k8s {
		if k, _ := p[0].(string); obj[k] == nil {
			t.Errorf("%s: %q: path %v starts outside the document", file, msg, p)
		}
	}
	for k, x := range v {
		switch k {
		case "msg", "path":
		case "hint":
			if s, _ := x.(string); s == "" || strings.ContainsAny(s, "\n\r") {
				t.Errorf("%s: %q: hint %q must be one non-empty line", file, msg, s)
			}
		case "severity":
			if s, _ := x.(string); report.Severity(s).Rank() == 0 {
				t.Errorf("%s: %q: severity %v, want error, warning or info", file, msg, x)
			}
		default:
			t.Errorf("%s: %q: unknown violation field %q", file, msg, k)
		}
	}
}

// TestVerifyOddInputs runs every rule on every testdata document with each
// field in turn replaced by values of other types, or removed: the rules must
// never fail (a builtin's type error, a conflict), whatever they are given.
func TestVerifyOddInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	ctx := context.Background()
	opts := []func(*oparego.Rego){
		oparego.Query("x := {id: v | some id; v := data.inzone.rules[id].violation}"),
		oparego.SetRegoVersion(ast.RegoV1),
		oparego.StrictBuiltinErrors(true),
		elbHostnames(nil),
	}
	for _, dir := range ruleDirs(t) {
		src, err := fs.ReadFile(policies.FS, path.Join(dir, "rule.rego"))
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, oparego.Module(dir+"/rule.rego", string(src)))
	}
	pq, err := oparego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(policies.FS, "*/testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	reported := map[string]bool{}
	for _, file := range files {
		for _, doc := range decodeTestdata(t, file) {
			mutateFields(doc, func() {
				_, err := pq.Eval(ctx, oparego.EvalInput(doc))
				if err != nil && !reported[err.Error()] {
					reported[err.Error()] = true
					t.Errorf("%s: %v\ninput: %v", file, err, doc)
				}
			})
		}
	}
}

// mutateFields calls try once for every field below the top level of doc, with
// that field replaced by each of a few values of other types and then
// removed. It changes doc in place and restores it before returning.
func mutateFields(doc any, try func()) {
	odd := []any{nil, "x", 7, []any{"x", 1.5}, map[string]any{}}
	var walk func(x any, set func(any), remove func())
	walk = func(x any, set func(any), remove func()) {
		for _, o := range odd {
			set(o)
			try()
		}
		if remove != nil {
			remove()
			try()
		}
		set(x)
		switch v := x.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				c := v[k]
				walk(c, func(n any) { v[k] = n }, func() { delete(v, k) })
			}
		case []any:
			for i, c := range v {
				walk(c, func(n any) { v[i] = n }, nil)
			}
		}
	}
	if m, ok := doc.(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if k == "kind" {
				continue
			}
			c := m[k]
			walk(c, func(n any) { m[k] = n }, func() { delete(m, k) })
		}
	}
}
