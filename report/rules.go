package report

// The rules the linter finds in Go, without a policy: there is no parsed
// config for one to read, or the finding is about the suppression itself.
var (
	// RuleEnvoyInvalid reports an Envoy config that Envoy itself would
	// reject.
	RuleEnvoyInvalid = Rule{
		ID:          "envoy-invalid-config",
		Title:       "Envoy config does not parse",
		Description: "The Envoy config does not parse or validate with Envoy's own API types, so Envoy would refuse to load it and whatever it says about zones cannot be checked.",
		Severity:    SeverityError,
		Remediation: "Fix the field the message names; Envoy rejects the whole config otherwise.",
	}
	// RuleIgnoreWithoutReason reports an inzone.io/lint-ignore annotation
	// that is not honoured because it gives no reason.
	RuleIgnoreWithoutReason = Rule{
		ID:          "lint-ignore-without-reason",
		Title:       "Suppression without a reason",
		Description: "The object names rules in inzone.io/lint-ignore but has no inzone.io/lint-ignore-reason annotation, so the suppression is not honoured: every exception in a repository should say why.",
		Severity:    SeverityWarning,
		Remediation: "Add the annotation inzone.io/lint-ignore-reason saying why the rules do not apply to this object.",
	}
)

// LintRules are the rules `inzone lint` finds in Go, sorted by ID; the
// lint engine lists them beside the Rego rules.
func LintRules() []*Rule {
	return []*Rule{&RuleEnvoyInvalid, &RuleIgnoreWithoutReason}
}
