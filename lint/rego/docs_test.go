package rego

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inzone-io/inzone/policies"
	"github.com/inzone-io/inzone/report"
	"github.com/inzone-io/inzone/test/golden"
)

func policiesEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := New(context.Background(), Options{Policies: []fs.FS{policies.FS}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRuleDocsAreCurrent regenerates every policies/<rule>/README.md in
// memory and compares it with the file (make docs, or -update, rewrites).
// The Go-defined rules' pages are report's (TestGoRuleDocsAreCurrent).
func TestRuleDocsAreCurrent(t *testing.T) {
	for _, r := range policiesEngine(t).Rules() {
		if r.Package == "" {
			continue
		}
		t.Run(r.ID, func(t *testing.T) {
			doc, err := RuleDoc(r, policies.FS)
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("..", "..", filepath.FromSlash(r.DocsPath())), []byte(doc))
		})
	}
}

// TestREADMERuleTableIsCurrent checks the README lists every rule of
// `inzone lint`, Rego and Go-defined, each linked to its page.
func TestREADMERuleTableIsCurrent(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	e := policiesEngine(t)
	for _, r := range report.LintRules() {
		if _, ok := e.Rule(r.ID); !ok {
			t.Errorf("the engine does not list the Go-defined rule %s", r.ID)
		}
	}
	table := report.RulesTable(e.Rules())
	if !strings.Contains(string(readme), table) {
		t.Errorf("README.md's rule table is stale; it should contain:\n%s", table)
	}
}
