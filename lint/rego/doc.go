// Package rego is inzone lint's policy engine: it loads the Rego rules
// (policies.FS and the user's --policy directories), reads each rule's
// METADATA into a report.Rule, compiles the policies once, and evaluates on
// each input only the rules that read its kind (custom.kinds), with one
// prepared query per kind. It also holds the custom builtins the policies
// call (inzone.elb_hostnames), the Rego unit test runner behind `inzone lint
// verify`, and the rendering of each Rego rule's docs page.
//
// # Rule contract
//
// A rule is a Rego package under data.inzone.rules with package-scoped
// METADATA (title, description, custom.id, custom.severity error|warning|info,
// custom.remediation, and optionally custom.kinds, the input kinds it reads:
// without it the rule runs on every input) and a partial set rule
// `violation` whose members are objects {"msg": string, "path": [string|number, ...]}
// and may carry "hint" (overrides custom.remediation). path names the
// offending field within the input.
//
// Its inputs are ast.Values and fs.FS trees of policies: it reads no file
// of its own, knows nothing of YAML, Envoy or positions (package lint turns
// a Violation's path into a line), and writes no output (package report
// does).
package rego
