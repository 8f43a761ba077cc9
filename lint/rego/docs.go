package rego

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/inzone-io/inzone/report"
)

// RuleDoc renders a rule's README from its METADATA and its testdata, so
// the description is written once, in the Rego file, and the examples are
// the ones the tests run.
func RuleDoc(r *report.Rule, fsys fs.FS) (string, error) {
	var b strings.Builder
	b.WriteString(report.RulePage(r, "rule.rego and testdata/"))
	if fsys == nil {
		return b.String(), nil
	}
	entries, err := fs.ReadDir(fsys, path.Join(r.ID, "testdata"))
	if err != nil {
		return "", fmt.Errorf("rule %s: %w", r.ID, err)
	}
	names := map[string][]string{}
	for _, e := range entries {
		n := e.Name()
		if strings.HasSuffix(n, ".json") && strings.HasPrefix(r.ID, "envoy-") {
			continue // Rego-input fixtures; the YAML ones show what a user writes
		}
		switch {
		case strings.HasPrefix(n, "fail-"):
			names["fail"] = append(names["fail"], n)
		case strings.HasPrefix(n, "pass-"):
			names["pass"] = append(names["pass"], n)
		}
	}
	for _, kind := range []struct{ key, heading string }{{"fail", "Flagged"}, {"pass", "Not flagged"}} {
		list := names[kind.key]
		if len(list) == 0 {
			continue
		}
		sort.Strings(list)
		fmt.Fprintf(&b, "\n## %s\n", kind.heading)
		for _, n := range list {
			data, err := fs.ReadFile(fsys, path.Join(r.ID, "testdata", n))
			if err != nil {
				return "", err
			}
			lang := strings.TrimPrefix(path.Ext(n), ".")
			if lang == "yml" {
				lang = "yaml"
			}
			fmt.Fprintf(&b, "\n`testdata/%s`\n\n```%s\n%s\n```\n", n, lang, strings.TrimRight(string(data), "\n"))
		}
	}
	return b.String(), nil
}
