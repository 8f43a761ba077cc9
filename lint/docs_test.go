package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inzone-io/inzone/policies"
	"github.com/inzone-io/inzone/test/golden"
)

// TestRuleDocsAreCurrent regenerates every policies/<rule>/README.md in
// memory and compares it with the file (make docs, or -update, rewrites).
func TestRuleDocsAreCurrent(t *testing.T) {
	l := testLinter(t)
	for _, r := range l.Engine.Rules() {
		if r.Package == "" {
			continue // built-in rules are documented in the README's table
		}
		t.Run(r.ID, func(t *testing.T) {
			doc, err := RuleDoc(r, policies.FS)
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("..", "policies", r.ID, "README.md"), []byte(doc))
		})
	}
}

// TestREADMERuleTableIsCurrent checks the README lists every rule.
func TestREADMERuleTableIsCurrent(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	table := RulesTable(testLinter(t).Engine.Rules())
	if !strings.Contains(string(readme), table) {
		t.Errorf("README.md's rule table is stale; it should contain:\n%s", table)
	}
}
