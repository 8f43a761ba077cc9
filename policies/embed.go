// Package policies holds the Rego rules of `inzone lint`, one folder per
// rule: rule.rego (METADATA and the `violation` set), rule_test.rego (its
// Rego unit tests) and testdata/ (fail-* and pass-* manifests or Envoy
// configs that the lint tests run the rule on).
//
// This file exists because go:embed cannot reach "..": the engine in package
// lint cannot embed the rule folders itself, so this package embeds them and
// hands them over as FS.
package policies

import "embed"

// FS holds every rule folder: */rule.rego, */rule_test.rego and
// */testdata/*, with paths relative to this directory
// (external-traffic-policy-cluster/rule.rego).
//
//go:embed */*.rego */testdata
var FS embed.FS
