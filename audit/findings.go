package audit

import (
	"fmt"

	"github.com/inzone-io/inzone/report"
)

// Rules are the audit's rules and the lint engine's, sorted by ID.
func (r *Report) Rules() []*report.Rule {
	out := append(report.AuditRules(), r.rules...)
	report.SortRules(out)
	return out
}

// Findings are the report's problems as findings: the audit's rules (in
// package report, with the Go-defined rules of lint), then the lint
// policies' findings on live objects. File is the object's
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
			add(&report.RuleAuditZoneSkew, w.Kind, w.Namespace, w.Name, fmt.Sprintf("%s %s/%s: pods per zone %s, skew %d", w.Kind, w.Namespace, w.Name, zoneCounts(w.PodsPerZone), w.Skew))
		}
	}
	for _, c := range r.Coverage {
		n := c.Reasons[ReasonNotInjected]
		switch {
		case n > 0 && c.WithProxy > 0:
			// Injection works here: these pods predate it.
			add(&report.RuleAuditNoProxy, "Namespace", "", c.Namespace, fmt.Sprintf("namespace %s: %d of %d pods run without inzone-proxy while %d have it: created before injection, restart them", c.Namespace, n, c.Pods, c.WithProxy))
		case n > 0:
			// No pod has it: most likely a namespace not meant for the mesh.
			add(&report.RuleAuditNoProxy, "Namespace", "", c.Namespace, fmt.Sprintf("namespace %s: none of its %d pods runs inzone-proxy (namespace not enabled?)", c.Namespace, c.Pods))
			out[len(out)-1].Severity = report.SeverityInfo
		}
	}
	for _, c := range r.Coverage {
		if c.WithoutCapture > 0 {
			add(&report.RuleAuditNoCapture, "Namespace", "", c.Namespace, fmt.Sprintf("namespace %s: %d of %d pods with inzone-proxy capture no traffic (capture mode none, or injected before traffic capture)", c.Namespace, c.WithoutCapture, c.WithProxy))
		}
	}
	for _, n := range r.NodesWithoutZone {
		add(&report.RuleAuditNodeNoZone, "Node", "", n, fmt.Sprintf("node %s has no %s label", n, ZoneLabel))
	}
	if r.threshold > 0 {
		for _, s := range r.Services {
			if s.Skipped == "" && s.ZoneAwareCrossZone >= r.threshold {
				add(&report.RuleAuditCrossZone, "Service", s.Namespace, s.Name, fmt.Sprintf("Service %s/%s: %s of requests from %s predicted to cross zones with zone-aware routing (%s with round robin)",
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
				add(&report.RuleAuditCrossZone, "Service", ns, name, msg)
			}
		}
	}
	for _, e := range r.ELBReferences {
		ns, name := splitObject(e.Object)
		add(&report.RuleAuditELBReferenced, e.Kind, ns, name, fmt.Sprintf("%s %s/%s: %s calls LoadBalancer Service %s by its ELB hostname %s instead of %s",
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
