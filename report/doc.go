// Package report is what inzone's checks report and how: rules, severities,
// findings and file errors, the writers of `inzone lint`'s and `kubectl
// inzone audit`'s outputs (text, JSON, SARIF, GitHub workflow commands),
// and the rules defined in Go, with their docs pages.
//
// The Rego rules are described by their METADATA, read by package
// lint/rego; the Go-defined ones, which the linter or the audit finds
// without a policy, are described here, in one table (rules.go). Both are
// Rules, and a rule's docs page is rendered from its Rule.
//
// It does no I/O beyond the io.Writer it is given, and imports neither OPA
// nor the lint engine: every command that reports findings links it.
package report
