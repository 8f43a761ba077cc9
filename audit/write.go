package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"

	"github.com/inzone-io/inzone/report"
)

// Formats are the output formats of Write.
var Formats = []string{"table", "json", "yaml", "sarif"}

// Write writes the report in format: table, json, yaml (the JSON form's
// fields), or sarif (SARIF 2.1.0 as `inzone lint --format sarif` writes it:
// the audit's findings and the lint policies', each located at its object's
// Kind/namespace/name). version is inzone's, for SARIF's tool.driver.
func Write(w io.Writer, format string, rep *Report, version string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep.withLists())
	case "yaml":
		data, err := yaml.Marshal(rep.withLists())
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	case "sarif":
		return report.Write(w, "sarif", &report.Results{Findings: rep.Findings(), Errors: rep.LintErrors}, rep.Rules(), version)
	case "table", "":
		return WriteTable(w, rep)
	default:
		return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
	}
}

// WriteTable writes the report as sections of aligned columns.
func WriteTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	section := func(title string) { fmt.Fprintf(tw, "== %s\n", title) }

	section("WORKLOADS (pods per zone from each pod's node)")
	if len(rep.Workloads) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "NAMESPACE\tWORKLOAD\tPODS\tPER ZONE\tSKEW\tZONE SPREAD")
		for _, wl := range rep.Workloads {
			spread := fmt.Sprintf("%d/%d", wl.ZoneSpread, wl.Pods)
			if wl.HasZoneSpread() {
				spread = "yes"
			} else if wl.ZoneSpread == 0 {
				spread = "no"
			}
			perZone := zoneCounts(wl.PodsPerZone)
			if wl.Unplaced > 0 {
				perZone += fmt.Sprintf(" unplaced=%d", wl.Unplaced)
			}
			fmt.Fprintf(tw, "%s\t%s/%s\t%d\t%s\t%d\t%s\n", wl.Namespace, wl.Kind, wl.Name, wl.Pods, perZone, wl.Skew, spread)
		}
	}

	fmt.Fprintln(tw)
	section("SIDECAR COVERAGE (inzone-proxy)")
	if len(rep.Coverage) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "NAMESPACE\tPODS\tWITH PROXY\tWITHOUT\tWHY NOT")
		for _, c := range rep.Coverage {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", c.Namespace, c.Pods, c.WithProxy, c.WithoutProxy, zoneCounts(c.Reasons))
		}
	}

	fmt.Fprintln(tw)
	section("NODES WITHOUT A ZONE LABEL (topology.kubernetes.io/zone)")
	if len(rep.NodesWithoutZone) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	for _, n := range rep.NodesWithoutZone {
		fmt.Fprintln(tw, n)
	}

	fmt.Fprintln(tw)
	callers := "the Service's own pods"
	if rep.Callers != "" && rep.Callers != CallersOwnPods {
		callers = rep.Callers
	}
	section("SERVICES: PREDICTED CROSS-ZONE TRAFFIC (callers: " + callers + ")")
	if len(rep.Services) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "NAMESPACE\tSERVICE\tCALLERS\tENDPOINTS\tZONE-AWARE\tROUND-ROBIN\tSAVED")
		for _, s := range rep.Services {
			if s.Skipped != "" {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t-\t-\t(%s)\n", s.Namespace, s.Name, zoneCounts(s.Callers), zoneCounts(s.Callees), s.Skipped)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Namespace, s.Name, zoneCounts(s.Callers), zoneCounts(s.Callees),
				pct(s.ZoneAwareCrossZone), pct(s.RoundRobinCrossZone), pct(s.Saved))
		}
	}

	if rep.Edges != nil {
		fmt.Fprintln(tw)
		section("CALL GRAPH: PREDICTED CROSS-ZONE TRAFFIC PER EDGE (cost: 30 days, 2 x price per cross-zone GB)")
		fmt.Fprintln(tw, "FROM\tTO\tREQ/S\tBYTES/S\tZONE-AWARE\tROUND-ROBIN\tSAVED\tUSD/MONTH ZONE-AWARE\tUSD/MONTH ROUND-ROBIN\tUSD/MONTH SAVED")
		for _, e := range rep.Edges {
			if e.Skipped != "" {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t-\t-\t-\t-\t-\t-\t(%s)\n", e.From, e.To, rate(e.RequestsPerSecond), rate(e.BytesPerSecond), e.Skipped)
				continue
			}
			ca, cr, cs := "-", "-", "-"
			if e.Cost != nil {
				ca, cr, cs = usd(e.Cost.ZoneAwareUSDPerMonth), usd(e.Cost.RoundRobinUSDPerMonth), usd(e.Cost.SavedUSDPerMonth)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.From, e.To, rate(e.RequestsPerSecond), rate(e.BytesPerSecond),
				pct(e.ZoneAwareCrossZone), pct(e.RoundRobinCrossZone), pct(e.Saved), ca, cr, cs)
		}
		if t := rep.EdgeTotals; t != nil {
			ca, cr, cs := "-", "-", "-"
			if t.Cost != nil {
				ca, cr, cs = usd(t.Cost.ZoneAwareUSDPerMonth), usd(t.Cost.RoundRobinUSDPerMonth), usd(t.Cost.SavedUSDPerMonth)
			}
			label := fmt.Sprintf("TOTAL (%d of %d edges", t.Edges-t.Skipped, t.Edges)
			if t.WeightedBy != "" {
				label += ", weighted by " + t.WeightedBy
			}
			label += ")"
			fmt.Fprintf(tw, "%s\t\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", label, rate(t.RequestsPerSecond), rate(t.BytesPerSecond),
				pct(t.ZoneAwareCrossZone), pct(t.RoundRobinCrossZone), pct(t.Saved), ca, cr, cs)
		}
	}

	fmt.Fprintln(tw)
	section("ELB HOSTNAMES STILL REFERENCED (call the DDSD name instead)")
	if len(rep.ELBReferences) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "OBJECT\tWHERE\tSERVICE\tELB HOSTNAME\tUSE")
		for _, e := range rep.ELBReferences {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Object, e.Field, e.Service, e.Host, e.DDSD)
		}
	}

	fmt.Fprintln(tw)
	section("LINT FINDINGS (inzone lint policies on the live objects)")
	if len(rep.LintFindings) == 0 && len(rep.LintErrors) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "OBJECT\tRULE\tSEVERITY\tMESSAGE")
		for _, f := range rep.LintFindings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.File, f.Rule, f.Severity, f.Message)
		}
		for _, e := range rep.LintErrors {
			fmt.Fprintf(tw, "%s\t-\terror\t%s\n", e.File, e.Message)
		}
	}
	return tw.Flush()
}

// zoneCounts is "a=1 b=2", sorted by key; "-" when empty.
func zoneCounts(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

// usd is dollars with cents.
func usd(f float64) string { return fmt.Sprintf("$%.2f", f) }

// rate is a per-second rate without trailing zeros; "-" for none.
func rate(f float64) string {
	if f == 0 {
		return "-"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
