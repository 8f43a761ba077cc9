package report

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inzone-io/inzone/test/golden"
	"github.com/inzone-io/inzone/test/shared"
)

func testReport() (*Results, []*Rule) {
	rules := []*Rule{
		{ID: "external-traffic-policy-cluster", Title: "Service sends traffic through another node", Description: "d", Severity: SeverityError, Remediation: "Set externalTrafficPolicy: Local."},
		{ID: "envoy-strict-dns", Title: "Envoy cluster without per-endpoint zones", Description: "d", Severity: SeverityError, Remediation: "Use EDS."},
		&RuleEnvoyInvalid,
	}
	rep := &Results{
		Findings: []Finding{
			{Rule: "external-traffic-policy-cluster", Severity: SeverityError, File: "deploy/web svc.yaml", Line: 6, Column: 3,
				Object:  ObjectRef{APIVersion: "v1", Kind: "Service", Namespace: "shop", Name: "web"},
				Message: "Service shop/web: externalTrafficPolicy is Cluster", Hint: "Set externalTrafficPolicy: Local."},
			{Rule: "envoy-strict-dns", Severity: SeverityWarning, File: "envoy/front.yaml", Line: 40, Column: 7,
				Object:  ObjectRef{APIVersion: "inzone.io/v1alpha1", Kind: "EnvoyConfig", Name: "front.yaml"},
				Message: "cluster service1: type STRICT_DNS, with a comma, a colon: and 100%", Hint: "Use EDS."},
		},
		Errors: []FileError{{File: "broken.yaml", Line: 3, Column: 1, Message: "yaml: line 3: did not find expected key"}},
	}
	return rep, rules
}

func TestFormatsGolden(t *testing.T) {
	rep, rules := testReport()
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, format, rep, rules, "v0.0.0-test"); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", "format", "report."+format), buf.Bytes())
		})
	}
	if err := Write(&bytes.Buffer{}, "xml", rep, rules, ""); err == nil {
		t.Error("an unknown format must be an error")
	}
}

// TestSARIFIsValid validates the SARIF output against the SARIF 2.1.0
// schema in ../shared/schemas, and checks what GitHub code scanning needs:
// rules with help, repo-relative URIs, a start line on every result.
func TestSARIFIsValid(t *testing.T) {
	rep, rules := testReport()
	var buf bytes.Buffer
	if err := Write(&buf, "sarif", rep, rules, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	shared.ValidateSARIF(t, buf.Bytes())

	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) != len(rules) || run.Tool.Driver.Rules[0].Help.Text == "" {
		t.Errorf("driver rules incomplete: %+v", run.Tool.Driver.Rules)
	}
	for _, r := range run.Results {
		loc := r.Locations[0].PhysicalLocation
		if loc.Region.StartLine < 1 {
			t.Errorf("result %s has no start line", r.RuleID)
		}
		if u := loc.ArtifactLocation.URI; strings.HasPrefix(u, "/") || strings.HasPrefix(u, "file:") || strings.Contains(u, " ") {
			t.Errorf("URI %q is not a repo-relative URI reference", u)
		}
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("ruleIndex %d does not point at %s", r.RuleIndex, r.RuleID)
		}
	}
}

// TestReportJSONIsEncodingJSON holds appendReportJSON to encoding/json's
// output, on awkward strings and empty and nil lists (nil written as []).
func TestReportJSONIsEncodingJSON(t *testing.T) {
	odd := []string{"", "plain", "quote \" backslash \\ slash /", "<html> & more", "tab\tnl\ncr\rbs\bff\f", "ctl \x00\x01\x1f\x7f",
		"héllo ✓ \U0001F600", "bad \xff\xfe utf8 \xc3", "sep \u2028 \u2029", "é\xe2\x80"}
	var findings []Finding
	for i, s := range odd {
		findings = append(findings, Finding{Rule: s, Severity: Severity(s), File: s, Line: i, Column: -i,
			Object:  ObjectRef{APIVersion: s, Kind: odd[(i+1)%len(odd)], Namespace: odd[(i+2)%len(odd)], Name: odd[(i+3)%len(odd)]},
			Message: s, Hint: s})
	}
	var errs []FileError
	for i, s := range odd {
		errs = append(errs, FileError{File: s, Line: i % 3, Column: i % 2, Message: s})
	}
	for _, rep := range []*Results{
		{},
		{Findings: []Finding{}, Errors: []FileError{}},
		{Findings: findings, Errors: errs},
		{Findings: findings[:1]},
		{Errors: errs[:1]},
		{Findings: []Finding{{}}},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		// encoding/json writes a nil list null; the report's contract is [].
		lists := *rep
		if lists.Findings == nil {
			lists.Findings = []Finding{}
		}
		if lists.Errors == nil {
			lists.Errors = []FileError{}
		}
		if err := enc.Encode(&lists); err != nil {
			t.Fatal(err)
		}
		if got := appendReportJSON(nil, rep); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendReportJSON:\n%s\nencoding/json:\n%s", got, want.Bytes())
		}
	}
}

// TestEmptyReportJSONHasLists holds the JSON output's contract: "findings"
// and "errors" are arrays, never null, whether the lists are nil or empty.
func TestEmptyReportJSONHasLists(t *testing.T) {
	for _, tt := range []struct {
		name string
		rep  *Results
	}{
		{"nil lists", &Results{}},
		{"empty lists", &Results{Findings: []Finding{}, Errors: []FileError{}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, "json", tt.rep, nil, ""); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", "format", "empty.json"), buf.Bytes())
		})
	}
}
