package lint

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/inzone-io/inzone/lint/file"
	"github.com/inzone-io/inzone/lint/rego"
	"github.com/inzone-io/inzone/lint/source"
	"github.com/inzone-io/inzone/policies"
	"github.com/inzone-io/inzone/test/golden"
	"github.com/inzone-io/inzone/test/shared"
)

// testEngineOptions are the shipped policies and a DDSD name for one ELB.
func testEngineOptions() rego.Options {
	return rego.Options{
		Policies: []fs.FS{policies.FS},
		ELBs: func(key string) (string, bool) {
			if key == "internal-orders-1234567890.us-east-1.elb.amazonaws.com" {
				return "orders.service.prod.ddsd", true
			}
			return "", false
		},
	}
}

// testLinter uses testEngineOptions.
func testLinter(t testing.TB) *Linter {
	t.Helper()
	e, err := rego.New(context.Background(), testEngineOptions())
	if err != nil {
		t.Fatal(err)
	}
	return &Linter{Engine: e, Config: &Config{}}
}

// TestFixturesGolden lints testdata/fixtures and compares every finding
// (rule, position, object, message, hint) and error with the golden file.
func TestFixturesGolden(t *testing.T) {
	files, errs := source.Collect(os.DirFS("testdata"), []string{"fixtures"}, source.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	rep := testLinter(t).Lint(context.Background(), files)
	out, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "fixtures.golden.json"), append(out, '\n'))

	t.Run("a broken file is an error with its line, and its good documents are still linted", func(t *testing.T) {
		if len(rep.Errors) != 1 || rep.Errors[0].File != "fixtures/broken.yaml" || rep.Errors[0].Line != 7 {
			t.Errorf("errors = %+v, want one at fixtures/broken.yaml line 7", rep.Errors)
		}
	})
	t.Run("a suppression with a reason hides exactly the named rules", func(t *testing.T) {
		for _, f := range rep.Findings {
			if f.Object.Name == "legacy" {
				t.Errorf("suppressed finding reported: %+v", f)
			}
		}
	})
}

// TestPolicyTestdata checks each rule's own examples: every
// policies/<rule>/testdata/fail-* yields that rule, every pass-* does not.
func TestPolicyTestdata(t *testing.T) {
	l := testLinter(t)
	rules, err := fs.ReadDir(policies.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if !r.IsDir() {
			continue
		}
		id := r.Name()
		entries, _ := fs.ReadDir(policies.FS, path.Join(id, "testdata"))
		var fails, passes int
		for _, e := range entries {
			name := e.Name()
			isFail, isPass := strings.HasPrefix(name, "fail-"), strings.HasPrefix(name, "pass-")
			if !isFail && !isPass {
				continue
			}
			if strings.HasSuffix(name, ".json") && strings.HasPrefix(id, "envoy-") {
				continue // Rego-input fixtures, used by the Rego tests
			}
			if isFail {
				fails++
			} else {
				passes++
			}
			t.Run(id+"/"+name, func(t *testing.T) {
				data, err := fs.ReadFile(policies.FS, path.Join(id, "testdata", name))
				if err != nil {
					t.Fatal(err)
				}
				rep := l.Lint(context.Background(), []file.File{{Path: name, Data: data}})
				if len(rep.Errors) > 0 {
					t.Fatalf("errors: %v", rep.Errors)
				}
				got := 0
				for _, f := range rep.Findings {
					if f.Rule == id {
						got++
						if f.Line == 0 {
							t.Errorf("finding without a line: %+v", f)
						}
					}
				}
				if isFail && got == 0 {
					t.Errorf("%s does not yield %s; findings: %+v", name, id, rep.Findings)
				}
				if isPass && got > 0 {
					t.Errorf("%s yields %s", name, id)
				}
			})
		}
		if fails == 0 || passes == 0 {
			t.Errorf("rule %s needs testdata with at least one fail-* and one pass-* manifest (has %d, %d)", id, fails, passes)
		}
	}
}

// corpusCounts are the per-file counts checked in for ../shared/corpus.
type corpusCounts map[string]map[string]int

// TestCorpus lints every file of ../shared/corpus: each must parse, the
// counts of findings per file and rule must match the checked-in golden,
// and the headline rules must match truth.json.
func TestCorpus(t *testing.T) {
	corpus := filepath.Join(shared.Dir(t), "corpus")
	files, errs := source.Collect(os.DirFS(corpus), []string{"k8s", "envoy"}, source.Options{})
	if len(errs) > 0 {
		t.Fatalf("collect: %v", errs)
	}
	rep := testLinter(t).Lint(context.Background(), files)
	for _, e := range rep.Errors {
		t.Errorf("corpus file does not parse: %v", e)
	}
	counts := corpusCounts{}
	strictDNS, envoyFilterDNS, etp := map[string]int{}, map[string]int{}, map[string]int{}
	for _, f := range rep.Findings {
		if counts[f.File] == nil {
			counts[f.File] = map[string]int{}
		}
		counts[f.File][f.Rule]++
		switch {
		case f.Rule == "envoy-strict-dns" && f.Object.Kind == "EnvoyFilter":
			envoyFilterDNS[f.File]++
		case f.Rule == "envoy-strict-dns" && strings.Contains(f.Message, "STRICT_DNS"):
			strictDNS[f.File]++
		case f.Rule == "external-traffic-policy-cluster":
			etp[f.File]++
		}
	}
	out, _ := json.MarshalIndent(counts, "", "  ")
	golden.Assert(t, filepath.Join("testdata", "corpus.golden.json"), append(out, '\n'))

	var truth struct {
		Totals map[string]int            `json:"totals"`
		Files  map[string]map[string]int `json:"files"`
	}
	data, err := os.ReadFile(filepath.Join(corpus, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &truth); err != nil {
		t.Fatal(err)
	}
	if rep.Files != truth.Totals["files"] {
		t.Errorf("linted %d files, truth has %d", rep.Files, truth.Totals["files"])
	}
	var diffs []string
	for file, want := range truth.Files {
		for _, c := range []struct {
			name string
			got  int
		}{
			{"envoy_strict_dns", strictDNS[file]},
			{"envoyfilter_strict_dns", envoyFilterDNS[file]},
			{"services_etp_cluster", etp[file]},
		} {
			if c.got != want[c.name] {
				diffs = append(diffs, fmt.Sprintf("%s: %s = %d, truth %d", file, c.name, c.got, want[c.name]))
			}
		}
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Error(d)
	}
}

// TestKindsNoRuleReadsAreNotEvaluated: a document of a kind outside every
// rule's custom.kinds is parsed but neither decoded nor evaluated; a syntax
// error in it is still reported.
func TestKindsNoRuleReadsAreNotEvaluated(t *testing.T) {
	l := testLinter(t)
	if l.Engine.Wants("CustomResourceDefinition") || !l.Engine.Wants("Service") || !l.Engine.Wants("EnvoyConfig") {
		t.Fatalf("Wants: CRD %v, Service %v, EnvoyConfig %v", l.Engine.Wants("CustomResourceDefinition"), l.Engine.Wants("Service"), l.Engine.Wants("EnvoyConfig"))
	}
	crd := "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\nspec:\n  url: http://internal-orders-1234567890.us-east-1.elb.amazonaws.com\n"
	rep := l.Lint(context.Background(), []file.File{{Path: "crd.yaml", Data: []byte(crd)}})
	if len(rep.Findings) != 0 || len(rep.Errors) != 0 || rep.Documents != 1 {
		t.Errorf("findings %v, errors %v, documents %d", rep.Findings, rep.Errors, rep.Documents)
	}
	rep = l.Lint(context.Background(), []file.File{{Path: "crd.yaml", Data: []byte(crd + "---\nkind: CustomResourceDefinition\nspec: [\n")}})
	if len(rep.Errors) != 1 {
		t.Errorf("a syntax error in a skipped kind must still be reported: %v", rep.Errors)
	}
	// With a rule that names no kinds, every document is evaluated.
	custom := fstest.MapFS{"any.rego": {Data: []byte("# METADATA\n# title: t\n# scope: package\n# custom:\n#   id: any-kind\n#   severity: info\n#   remediation: r\npackage inzone.rules.any_kind\n\nviolation contains {\"msg\": \"m\", \"path\": []} if input.kind == \"CustomResourceDefinition\"\n")}}
	e, err := rego.New(context.Background(), rego.Options{Policies: []fs.FS{policies.FS, custom}})
	if err != nil {
		t.Fatal(err)
	}
	rep = (&Linter{Engine: e}).Lint(context.Background(), []file.File{{Path: "crd.yaml", Data: []byte(crd)}})
	if len(rep.Findings) != 1 || rep.Findings[0].Rule != "any-kind" {
		t.Errorf("a rule without custom.kinds did not see the CRD: %v", rep.Findings)
	}
}
