package report

// Rule describes one rule: a Rego package's METADATA (read by lint/rego),
// or one of the rules found in Go (rules.go, and the audit's).
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
	// rule found in Go.
	Package string `json:"package,omitempty"`
	// Source is the rule's file.
	Source string `json:"source,omitempty"`
}
