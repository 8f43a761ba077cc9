package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/inzone-io/inzone/internal/jsonstring"
)

// Formats Write knows.
var Formats = []string{"text", "json", "sarif", "github"}

// Results are what one run found: the findings, and the files it could not
// read or parse. Write takes them as they are: nil lists are written as
// empty ones.
type Results struct {
	Findings []Finding   `json:"findings"`
	Errors   []FileError `json:"errors"`
}

// Write renders results in one of Formats. rules describes every rule (for
// SARIF's driver.rules); version is inzone's, for SARIF's tool.driver.
func Write(w io.Writer, format string, rep *Results, rules []*Rule, version string) error {
	switch format {
	case "text":
		return writeText(w, rep)
	case "json":
		_, err := w.Write(appendReportJSON(make([]byte, 0, reportJSONSize(rep)), rep))
		return err
	case "sarif":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(toSARIF(rep, rules, version))
	case "github":
		return writeGitHub(w, rep)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// writeText writes `file:line:col: severity [rule] message` and the hint.
func writeText(w io.Writer, rep *Results) error {
	for _, e := range rep.Errors {
		if _, err := fmt.Fprintf(w, "%s: error: %s\n", position(e.File, e.Line, e.Column), e.Message); err != nil {
			return err
		}
	}
	for _, f := range rep.Findings {
		if _, err := fmt.Fprintf(w, "%s: %s [%s] %s\n", position(f.File, f.Line, f.Column), f.Severity, f.Rule, f.Message); err != nil {
			return err
		}
		if f.Hint != "" {
			if _, err := fmt.Fprintf(w, "    hint: %s\n", f.Hint); err != nil {
				return err
			}
		}
	}
	return nil
}

func position(file string, line, col int) string {
	if line == 0 {
		return file
	}
	if col == 0 {
		col = 1
	}
	return fmt.Sprintf("%s:%d:%d", file, line, col)
}

// writeGitHub writes GitHub Actions workflow commands, which annotate the
// pull request's diff.
func writeGitHub(w io.Writer, rep *Results) error {
	level := map[Severity]string{SeverityError: "error", SeverityWarning: "warning", SeverityInfo: "notice"}
	for _, e := range rep.Errors {
		if _, err := fmt.Fprintf(w, "::error file=%s,line=%d,col=%d,title=%s::%s\n",
			ghProperty(e.File), max(e.Line, 1), max(e.Column, 1), "inzone parse error", ghData(e.Message)); err != nil {
			return err
		}
	}
	for _, f := range rep.Findings {
		msg := f.Message
		if f.Hint != "" {
			msg += "\nhint: " + f.Hint
		}
		if _, err := fmt.Fprintf(w, "::%s file=%s,line=%d,col=%d,title=%s::%s\n",
			level[f.Severity], ghProperty(f.File), max(f.Line, 1), max(f.Column, 1), ghProperty("inzone "+f.Rule), ghData(msg)); err != nil {
			return err
		}
	}
	return nil
}

// GitHub's workflow-command escaping.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// SARIF 2.1.0, the subset GitHub code scanning reads.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Results     []sarifResult     `json:"results"`
	Invocations []sarifInvocation `json:"invocations"`
	ColumnKind  string            `json:"columnKind"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	ShortDescription     sarifText         `json:"shortDescription"`
	FullDescription      sarifText         `json:"fullDescription"`
	Help                 sarifHelp         `json:"help"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           map[string]string `json:"properties,omitempty"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

// sarifLocation's URIs are repo-relative with uriBaseId %SRCROOT%, which
// GitHub code scanning resolves against the checkout.
type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

var sarifLevel = map[Severity]string{SeverityError: "error", SeverityWarning: "warning", SeverityInfo: "note"}

const informationURI = "https://github.com/inzone-io/inzone"

func toSARIF(rep *Results, rules []*Rule, version string) sarifLog {
	driver := sarifDriver{Name: "inzone", Version: version, InformationURI: informationURI, Rules: []sarifRule{}}
	index := map[string]int{}
	for i, r := range rules {
		index[r.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{
			ID: r.ID, Name: sarifRuleName(r.ID),
			ShortDescription:     sarifText{Text: r.Title},
			FullDescription:      sarifText{Text: cmp.Or(r.Description, r.Title)},
			Help:                 sarifHelp{Text: r.Remediation, Markdown: "**Fix:** " + r.Remediation},
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel[r.Severity]},
		})
	}
	run := sarifRun{
		Tool:       sarifTool{Driver: driver},
		Results:    []sarifResult{},
		ColumnKind: "unicodeCodePoints",
	}
	for _, f := range rep.Findings {
		msg := f.Message
		if f.Hint != "" {
			msg += " Fix: " + f.Hint
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel[f.Severity],
			Message:   sarifText{Text: msg},
			Locations: []sarifLocation{{PhysicalLocation: physical(f.File, f.Line, f.Column)}},
		})
	}
	inv := sarifInvocation{ExecutionSuccessful: len(rep.Errors) == 0}
	for _, e := range rep.Errors {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level: "error", Message: sarifText{Text: e.Message},
			Locations: []sarifLocation{{PhysicalLocation: physical(e.File, e.Line, e.Column)}},
		})
	}
	run.Invocations = []sarifInvocation{inv}
	return sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	}
}

func physical(file string, line, col int) *sarifPhysical {
	return &sarifPhysical{
		ArtifactLocation: sarifArtifact{URI: sarifURI(file), URIBaseID: "%SRCROOT%"},
		Region:           sarifRegion{StartLine: max(line, 1), StartColumn: max(col, 1)},
	}
}

// sarifURI is a repo-relative URI reference: slashes, no leading ./, with
// characters outside URI syntax percent-encoded.
func sarifURI(file string) string {
	file = strings.TrimPrefix(strings.ReplaceAll(file, "\\", "/"), "./")
	var b strings.Builder
	for i := 0; i < len(file); i++ {
		c := file[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/!$&'()*+,;=:@", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// sarifRuleName turns an-id into AnId, the style code scanning shows.
func sarifRuleName(id string) string {
	parts := strings.Split(id, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}

// appendReportJSON appends rep as encoding/json's Encoder with
// SetIndent("", "  ") writes it, byte for byte (TestReportJSONIsEncodingJSON),
// without reflection: a large report took tens of milliseconds the other way.
// A nil list is written [], as an empty one: the output's contract is that
// "findings" and "errors" are always arrays, never null.
func appendReportJSON(b []byte, rep *Results) []byte {
	b = append(b, "{\n  \"findings\": "...)
	if len(rep.Findings) == 0 {
		b = append(b, "[]"...)
	} else {
		b = append(b, '[')
		for i := range rep.Findings {
			f := &rep.Findings[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n    {\n      \"rule\": "...)
			b = jsonstring.Append(b, f.Rule)
			b = append(b, ",\n      \"severity\": "...)
			b = jsonstring.Append(b, string(f.Severity))
			b = append(b, ",\n      \"file\": "...)
			b = jsonstring.Append(b, f.File)
			b = append(b, ",\n      \"line\": "...)
			b = strconv.AppendInt(b, int64(f.Line), 10)
			b = append(b, ",\n      \"column\": "...)
			b = strconv.AppendInt(b, int64(f.Column), 10)
			b = append(b, ",\n      \"object\": {"...)
			n := 0
			for _, kv := range [4][2]string{{"apiVersion", f.Object.APIVersion}, {"kind", f.Object.Kind}, {"namespace", f.Object.Namespace}, {"name", f.Object.Name}} {
				if kv[1] == "" {
					continue
				}
				if n > 0 {
					b = append(b, ',')
				}
				n++
				b = append(b, "\n        \""...)
				b = append(b, kv[0]...)
				b = append(b, "\": "...)
				b = jsonstring.Append(b, kv[1])
			}
			if n > 0 {
				b = append(b, "\n      "...)
			}
			b = append(b, "},\n      \"message\": "...)
			b = jsonstring.Append(b, f.Message)
			b = append(b, ",\n      \"hint\": "...)
			b = jsonstring.Append(b, f.Hint)
			b = append(b, "\n    }"...)
		}
		b = append(b, "\n  ]"...)
	}
	b = append(b, ",\n  \"errors\": "...)
	if len(rep.Errors) == 0 {
		b = append(b, "[]"...)
	} else {
		b = append(b, '[')
		for i := range rep.Errors {
			e := &rep.Errors[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n    {\n      \"file\": "...)
			b = jsonstring.Append(b, e.File)
			if e.Line != 0 {
				b = append(b, ",\n      \"line\": "...)
				b = strconv.AppendInt(b, int64(e.Line), 10)
			}
			if e.Column != 0 {
				b = append(b, ",\n      \"column\": "...)
				b = strconv.AppendInt(b, int64(e.Column), 10)
			}
			b = append(b, ",\n      \"message\": "...)
			b = jsonstring.Append(b, e.Message)
			b = append(b, "\n    }"...)
		}
		b = append(b, "\n  ]"...)
	}
	return append(b, "\n}\n"...)
}

// reportJSONSize is about the size of rep's JSON, a little over for a
// report of plain text: the buffer is allocated once, not grown.
func reportJSONSize(rep *Results) int {
	n := 64
	for i := range rep.Findings {
		f := &rep.Findings[i]
		n += 260 + len(f.Rule) + len(f.Severity) + len(f.File) + len(f.Object.APIVersion) + len(f.Object.Kind) +
			len(f.Object.Namespace) + len(f.Object.Name) + len(f.Message) + len(f.Hint)
	}
	for i := range rep.Errors {
		n += 100 + len(rep.Errors[i].File) + len(rep.Errors[i].Message)
	}
	return n
}
