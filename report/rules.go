package report

import "sort"

// Who reports a Go-defined rule (Rule.ReportedBy).
const (
	// ByLint: `inzone lint`, and the audit's lint of live objects.
	ByLint = "inzone lint"
	// ByAudit: `kubectl inzone audit` alone, from what a live cluster shows.
	ByAudit = "kubectl inzone audit"
)

// The Go-defined rules: those the linter finds without a policy (there is
// no parsed config for one to read, or the finding is about the
// suppression itself) and those only a live cluster shows. Every one has a
// docs page, docs/rules/<id>.md, rendered from its entry here (make docs).
var (
	// RuleEnvoyInvalid reports an Envoy config that Envoy itself would
	// reject.
	RuleEnvoyInvalid = Rule{
		ID:          "envoy-invalid-config",
		Title:       "Envoy config does not parse",
		Description: "The Envoy config does not parse or validate with Envoy's own API types, so Envoy would refuse to load it and whatever it says about zones cannot be checked.",
		Severity:    SeverityError,
		Remediation: "Fix the field the message names; Envoy rejects the whole config otherwise.",
		ReportedBy:  ByLint,
	}
	// RuleIgnoreWithoutReason reports an inzone.io/lint-ignore annotation
	// that is not honoured because it gives no reason.
	RuleIgnoreWithoutReason = Rule{
		ID:          "lint-ignore-without-reason",
		Title:       "Suppression without a reason",
		Description: "The object names rules in inzone.io/lint-ignore but has no inzone.io/lint-ignore-reason annotation, so the suppression is not honoured: every exception in a repository should say why.",
		Severity:    SeverityWarning,
		Remediation: "Add the annotation inzone.io/lint-ignore-reason saying why the rules do not apply to this object.",
		ReportedBy:  ByLint,
	}

	RuleAuditZoneSkew = Rule{
		ID:          "audit-zone-skew",
		Title:       "Workload's pods are unevenly spread over zones",
		Description: "The workload has more pods in one zone than in another by more than one. Envoy's zone-aware routing keeps traffic local only in proportion to balance: callers in the crowded zone overflow into others.",
		Severity:    SeverityWarning,
		Remediation: "Add a topology spread constraint on topology.kubernetes.io/zone with maxSkew 1 (the inzone webhook adds one) and roll the workload out again.",
		ReportedBy:  ByAudit,
	}
	RuleAuditNoProxy = Rule{
		ID:          "audit-pods-without-proxy",
		Title:       "Pods run without the inzone-proxy sidecar",
		Description: "Pods were created before injection was enabled, or in a namespace without inzone.io/inject=enabled: their calls skip zone-aware routing. A warning where other pods of the namespace have the sidecar (they predate injection), info where none has (the namespace may not be meant for the mesh).",
		Severity:    SeverityWarning,
		Remediation: "Label the namespace inzone.io/inject=enabled and restart the workloads (kubectl rollout restart).",
		ReportedBy:  ByAudit,
	}
	RuleAuditNoCapture = Rule{
		ID:          "audit-sidecar-captures-nothing",
		Title:       "Pods run inzone-proxy but none of their traffic goes through it",
		Description: "The pods have the sidecar but no traffic capture (no inzone-capture init container, no inzone.io/capture-cni annotation, no HTTP_PROXY): capture mode none, or injected before traffic capture existed. Unless the app calls Envoy's listener itself, its calls bypass zone-aware routing.",
		Severity:    SeverityWarning,
		Remediation: "Restart the workloads so the webhook injects them again with capture (kubectl rollout restart), or set inzone.io/capture to iptables, cni or proxy-env.",
		ReportedBy:  ByAudit,
	}
	RuleAuditNodeNoZone = Rule{
		ID:          "audit-node-without-zone",
		Title:       "Node has no zone label",
		Description: "The node has no topology.kubernetes.io/zone label: its pods' Envoys do not know their zone, and their endpoints have none.",
		Severity:    SeverityWarning,
		Remediation: "Label the node with topology.kubernetes.io/zone (the cloud provider's node controller normally does).",
		ReportedBy:  ByAudit,
	}
	RuleAuditCrossZone = Rule{
		ID:          "audit-cross-zone-traffic",
		Title:       "Traffic predicted to cross zones despite zone-aware routing",
		Description: "With the callers' and the Service's endpoints' spread over zones, Envoy's zone-aware routing still sends a share of requests to other zones at or above the threshold.",
		Severity:    SeverityWarning,
		Remediation: "Spread the callers and the Service's pods over zones in the same proportions (zone spread constraints on both), or add endpoints where callers are.",
		ReportedBy:  ByAudit,
	}
	RuleAuditELBReferenced = Rule{
		ID:          "audit-elb-still-referenced",
		Title:       "Workload calls a LoadBalancer Service by its ELB hostname",
		Description: "A live object names the ELB hostname in a LoadBalancer Service's status: the client goes out through the load balancer, which picks a target in any zone, instead of through the mesh's DDSD name.",
		Severity:    SeverityWarning,
		Remediation: "Replace the ELB hostname by the Service's DDSD name (the inzone webhook rewrites it in pods it admits; update the manifest too).",
		ReportedBy:  ByAudit,
	}
)

// LintRules are the Go-defined rules of `inzone lint`, sorted by ID; the
// lint engine lists them beside the Rego rules.
func LintRules() []*Rule {
	return []*Rule{&RuleEnvoyInvalid, &RuleIgnoreWithoutReason}
}

// AuditRules are the audit's own rules, sorted by ID; the audit lists them
// beside the lint engine's.
func AuditRules() []*Rule {
	return []*Rule{&RuleAuditCrossZone, &RuleAuditELBReferenced, &RuleAuditNodeNoZone, &RuleAuditNoProxy, &RuleAuditNoCapture, &RuleAuditZoneSkew}
}

// goRules are every Go-defined rule, sorted by ID: the pages to generate.
func goRules() []*Rule {
	out := append(LintRules(), AuditRules()...)
	SortRules(out)
	return out
}

// SortRules sorts rules by ID, keeping the order of equal IDs.
func SortRules(rules []*Rule) {
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
}
