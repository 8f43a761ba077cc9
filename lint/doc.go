// Package lint finds what defeats zone locality in Kubernetes manifests and
// Envoy configs: it loads documents (keeping every field's position), runs
// the Rego policies in package policies on each one with OPA, and reports
// findings with the file, line and column of the offending field.
//
// It does no I/O of its own: files come in as file.File values, found and
// read by package lint/source (files, Helm charts, kustomizations) or made
// by the caller (the audit's live objects), so the CLI, the kubectl plugin
// and the tests share it, and it links neither Helm nor kustomize.
//
// What it owns of its own: the Rego input of a Kubernetes object (the
// object as it is: input.kind, input.metadata, input.spec; an Envoy config's
// input is package lint/envoy's), the position of each finding (a rule's
// path mapped back to the field's line, or its nearest ancestor's when the
// field is absent, as an unset externalTrafficPolicy), the `.inzone.yaml`
// config (LoadConfig: failOn, rules ignored by path, severity overrides), the
// inzone.io/lint-ignore annotations (with their reason, or a finding of
// report.RuleIgnoreWithoutReason), and the Go-defined finding
// report.RuleEnvoyInvalid for an Envoy config Envoy would reject, whose
// parsable clusters are still linted. The rules and their contract are
// package lint/rego's; findings and output formats are package report's.
package lint
