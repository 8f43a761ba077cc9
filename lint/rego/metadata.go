package rego

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/inzone-io/inzone/report"
)

var ruleIDRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ruleFromModule reads a rule's package METADATA.
func ruleFromModule(m *ast.Module, file string) (*report.Rule, error) {
	var a *ast.Annotations
	for _, an := range m.Annotations {
		if an.Scope == "package" {
			a = an
		}
	}
	if a == nil {
		return nil, fmt.Errorf("%s: package %s has no package-scoped METADATA (title, description, custom.id, custom.severity, custom.remediation)", file, m.Package.Path)
	}
	str := func(k string) string { s, _ := a.Custom[k].(string); return s }
	r := &report.Rule{ID: str("id"), Title: a.Title, Description: strings.TrimSpace(a.Description), Remediation: strings.TrimSpace(str("remediation")), Source: file}
	var errs []string
	if !ruleIDRE.MatchString(r.ID) {
		errs = append(errs, fmt.Sprintf("custom.id %q must be kebab-case", r.ID))
	}
	sev, err := report.ParseSeverity(str("severity"))
	if err != nil {
		errs = append(errs, "custom."+err.Error())
	}
	r.Severity = sev
	if ks, ok := a.Custom["kinds"]; ok {
		list, _ := ks.([]any)
		for _, k := range list {
			if s, ok := k.(string); ok && s != "" {
				r.Kinds = append(r.Kinds, s)
			}
		}
		if len(r.Kinds) == 0 || len(r.Kinds) != len(list) {
			errs = append(errs, "custom.kinds must be a non-empty list of kinds")
		}
	}
	if r.Title == "" {
		errs = append(errs, "title is required")
	}
	if r.Remediation == "" {
		errs = append(errs, "custom.remediation is required")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s:%d: METADATA: %s", file, a.Location.Row, strings.Join(errs, "; "))
	}
	return r, nil
}
