package audit

import (
	"fmt"
	"sort"

	"github.com/inzone-io/inzone/report"
)

// The audit's own rules, beside the lint policies' (which keep their IDs):
// what only a live cluster shows. Findings turns a Report into findings of
// these rules for SARIF.
var (
	RuleZoneSkew = report.Rule{
		ID:          "audit-zone-skew",
		Title:       "Workload's pods are unevenly spread over zones",
		Description: "The workload has more pods in one zone than in another by more than one. Envoy's zone-aware routing keeps traffic local only in proportion to balance: callers in the crowded zone overflow into others.",
		Severity:    report.SeverityWarning,
		Remediation: "Add a topology spread constraint on topology.kubernetes.io/zone with maxSkew 1 (the inzone webhook adds one) and roll the workload out again.",
	}
	RuleNoProxy = report.Rule{
		ID:          "audit-pods-without-proxy",
		Title:       "Pods run without the inzone-proxy sidecar",
		Description: "Pods were created before injection was enabled, or in a namespace without inzone.io/inject=enabled: their calls skip zone-aware routing. A warning where other pods of the namespace have the sidecar (they predate injection), info where none has (the namespace may not be meant for the mesh).",
		Severity:    report.SeverityWarning,
		Remediation: "Label the namespace inzone.io/inject=enabled and restart the workloads (kubectl rollout restart).",
	}
	RuleNoCapture = report.Rule{
		ID:          "audit-sidecar-captures-nothing",
		Title:       "Pods run inzone-proxy but none of their traffic goes through it",
		Description: "The pods have the sidecar but no traffic capture (no inzone-capture init container, no inzone.io/capture-cni annotation, no HTTP_PROXY): capture mode none, or injected before traffic capture existed. Unless the app calls Envoy's listener itself, its calls bypass zone-aware routing.",
		Severity:    report.SeverityWarning,
		Remediation: "Restart the workloads so the webhook injects them again with capture (kubectl rollout restart), or set inzone.io/capture to iptables, cni or proxy-env.",
	}
	RuleNodeNoZone = report.Rule{
		ID:          "audit-node-without-zone",
		Title:       "Node has no zone label",
		Description: "The node has no topology.kubernetes.io/zone label: its pods' Envoys do not know their zone, and their endpoints have none.",
		Severity:    report.SeverityWarning,
		Remediation: "Label the node with topology.kubernetes.io/zone (the cloud provider's node controller normally does).",
	}
	RuleCrossZone = report.Rule{
		ID:          "audit-cross-zone-traffic",
		Title:       "Traffic predicted to cross zones despite zone-aware routing",
		Description: "With the callers' and the Service's endpoints' spread over zones, Envoy's zone-aware routing still sends a share of requests to other zones at or above the threshold.",
		Severity:    report.SeverityWarning,
		Remediation: "Spread the callers and the Service's pods over zones in the same proportions (zone spread constraints on both), or add endpoints where callers are.",
	}
	RuleELBReferenced = report.Rule{
		ID:          "audit-elb-still-referenced",
		Title:       "Workload calls a LoadBalancer Service by its ELB hostname",
		Description: "A live object names the ELB hostname in a LoadBalancer Service's status: the client goes out through the load balancer, which picks a target in any zone, instead of through the mesh's DDSD name.",
		Severity:    report.SeverityWarning,
		Remediation: "Replace the ELB hostname by the Service's DDSD name (the inzone webhook rewrites it in pods it admits; update the manifest too).",
	}
)

// AuditRules are the audit's own rules.
func AuditRules() []*report.Rule {
	return []*report.Rule{&RuleCrossZone, &RuleELBReferenced, &RuleNodeNoZone, &RuleNoProxy, &RuleNoCapture, &RuleZoneSkew}
}

// Rules are the audit's rules and the lint engine's, sorted by ID.
func (r *Report) Rules() []*report.Rule {
	out := append(AuditRules(), r.rules...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Findings are the report's problems as findings: the audit's rules, then
// the lint policies' findings on live objects. File is the object's
// FilePath; audit findings have no line.
func (r *Report) Findings() []report.Finding {
	var out []report.Finding
	add := func(rule *report.Rule, kind, namespace, name, msg string) {
		out = append(out, report.Finding{
			Rule: rule.ID, Severity: rule.Severity, File: FilePath(kind, namespace, name),
			Object:  report.ObjectRef{Kind: kind, Namespace: namespace, Name: name},
			Message: msg, Hint: rule.Remediation,
		})
	}
	for _, w := range r.Workloads {
		if w.Skew > 1 {
			add(&RuleZoneSkew, w.Kind, w.Namespace, w.Name, fmt.Sprintf("%s %s/%s: pods per zone %s, skew %d", w.Kind, w.Namespace, w.Name, zoneCounts(w.PodsPerZone), w.Skew))
		}
	}
	for _, c := range r.Coverage {
		n := c.Reasons[ReasonNotInjected]
		switch {
		case n > 0 && c.WithProxy > 0:
			// Injection works here: these pods predate it.
			add(&RuleNoProxy, "Namespace", "", c.Namespace, fmt.Sprintf("namespace %s: %d of %d pods run without inzone-proxy while %d have it: created before injection, restart them", c.Namespace, n, c.Pods, c.WithProxy))
		case n > 0:
			// No pod has it: most likely a namespace not meant for the mesh.
			add(&RuleNoProxy, "Namespace", "", c.Namespace, fmt.Sprintf("namespace %s: none of its %d pods runs inzone-proxy (namespace not enabled?)", c.Namespace, c.Pods))
			out[len(out)-1].Severity = report.SeverityInfo
		}
	}
	for _, c := range r.Coverage {
		if c.WithoutCapture > 0 {
			add(&RuleNoCapture, "Namespace", "", c.Namespace, fmt.Sprintf("namespace %s: %d of %d pods with inzone-proxy capture no traffic (capture mode none, or injected before traffic capture)", c.Namespace, c.WithoutCapture, c.WithProxy))
		}
	}
	for _, n := range r.NodesWithoutZone {
		add(&RuleNodeNoZone, "Node", "", n, fmt.Sprintf("node %s has no %s label", n, ZoneLabel))
	}
	if r.threshold > 0 {
		for _, s := range r.Services {
			if s.Skipped == "" && s.ZoneAwareCrossZone >= r.threshold {
				add(&RuleCrossZone, "Service", s.Namespace, s.Name, fmt.Sprintf("Service %s/%s: %s of requests from %s predicted to cross zones with zone-aware routing (%s with round robin)",
					s.Namespace, s.Name, pct(s.ZoneAwareCrossZone), r.Callers, pct(s.RoundRobinCrossZone)))
			}
		}
		for _, e := range r.Edges {
			if e.Skipped == "" && e.ZoneAwareCrossZone >= r.threshold {
				msg := fmt.Sprintf("%s -> %s: %s of requests predicted to cross zones with zone-aware routing (%s with round robin)", e.From, e.To, pct(e.ZoneAwareCrossZone), pct(e.RoundRobinCrossZone))
				if e.Cost != nil {
					msg += fmt.Sprintf(", %s a month", usd(e.Cost.ZoneAwareUSDPerMonth))
				}
				ns, name := splitRef(e.To)
				add(&RuleCrossZone, "Service", ns, name, msg)
			}
		}
	}
	for _, e := range r.ELBReferences {
		ns, name := splitObject(e.Object)
		add(&RuleELBReferenced, e.Kind, ns, name, fmt.Sprintf("%s %s/%s: %s calls LoadBalancer Service %s by its ELB hostname %s instead of %s",
			e.Kind, ns, name, e.Field, e.Service, e.Host, e.DDSD))
		out[len(out)-1].Hint = fmt.Sprintf("use %s (the DDSD name) instead of %s", e.DDSD, e.Host)
	}
	return append(out, r.LintFindings...)
}

func splitRef(s string) (ns, name string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:]
		}
	}
	return "", s
}

// splitObject splits a FilePath into namespace and name.
func splitObject(path string) (ns, name string) {
	_, rest := splitRef(path)
	return splitRef(rest)
}
