package audit

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/inzone-io/inzone/report"
	"github.com/inzone-io/inzone/test/golden"
)

// TestEmptyReportHasLists holds the JSON and YAML output's contract: every
// list, lint's findings and errors among them, is written [] when there is
// nothing in it, never null, whether it is nil or empty.
func TestEmptyReportHasLists(t *testing.T) {
	empty := &Report{Zones: []string{}, Workloads: []Workload{}, Coverage: []NamespaceCoverage{}, NodesWithoutZone: []string{},
		Services: []ServiceTraffic{}, ELBReferences: []ELBReference{}, LintFindings: []report.Finding{}, LintErrors: []report.FileError{}}
	for _, format := range []string{"json", "yaml"} {
		for _, tt := range []struct {
			name string
			rep  *Report
		}{
			{"nil lists", &Report{}},
			{"empty lists", empty},
		} {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Write(&buf, format, tt.rep, ""); err != nil {
					t.Fatal(err)
				}
				golden.Assert(t, filepath.Join("testdata", "write", "empty."+format), buf.Bytes())
			})
		}
	}
}
