package report

// Rule describes one rule: a Rego package's METADATA (read by lint/rego),
// or one of the Go-defined rules of rules.go.
type Rule struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Severity    Severity `json:"severity"`
	Remediation string   `json:"remediation"`
	// Kinds are the input kinds the rule reads (METADATA custom.kinds);
	// empty means any.
	Kinds []string `json:"kinds,omitempty"`
	// Package is the Rego package (data.inzone.rules.<name>), empty for a
	// Go-defined rule.
	Package string `json:"package,omitempty"`
	// Source is the rule's file.
	Source string `json:"source,omitempty"`
	// ReportedBy names the command that reports a Go-defined rule
	// (`inzone lint`, `kubectl inzone audit`); a Rego rule's is both.
	ReportedBy string `json:"reportedBy,omitempty"`
}

// DocsPath is the repository path of the docs page of a rule inzone ships:
// policies/<id>/README.md for a Rego rule, docs/rules/<id>.md for a
// Go-defined one.
func (r *Rule) DocsPath() string {
	if r.Package != "" {
		return "policies/" + r.ID + "/README.md"
	}
	return "docs/rules/" + r.ID + ".md"
}
