// Package report is what inzone's checks report and how: rules, severities,
// findings and file errors, the writers of `inzone lint`'s and `kubectl
// inzone audit`'s outputs (text, JSON, SARIF, GitHub workflow commands),
// and the rules the linter finds in Go.
//
// It does no I/O beyond the io.Writer it is given, and imports neither OPA
// nor the lint engine: every command that reports findings links it.
package report
