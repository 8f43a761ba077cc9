package lint

import (
	"strings"
	"testing"

	"github.com/inzone-io/inzone/report"
)

// TestIgnoreRuleNamesTheAnnotations: the rule that reports a suppression
// without a reason is described in package report, which does not know
// lint's annotations; its text must name them as they are.
func TestIgnoreRuleNamesTheAnnotations(t *testing.T) {
	r := report.RuleIgnoreWithoutReason
	for _, a := range []string{AnnotationIgnore, AnnotationIgnoreReason} {
		if !strings.Contains(r.Description, a) {
			t.Errorf("%s's description does not name %s", r.ID, a)
		}
	}
	if !strings.Contains(r.Remediation, AnnotationIgnoreReason) {
		t.Errorf("%s's remediation does not name %s", r.ID, AnnotationIgnoreReason)
	}
}
