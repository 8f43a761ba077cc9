package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
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
