package inject

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/inzone-io/inzone/internal/yamldoc"
)

// aliasBomb is a Deployment whose pod template holds levels anchors, each a
// list of width aliases to the one before: width^levels values in a few
// hundred bytes.
func aliasBomb(levels, width int) string {
	var b strings.Builder
	b.WriteString("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bomb\nspec:\n  template:\n    metadata:\n      labels:\n        l0: &l0 \"lol\"\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "        l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", i-1), width), ","))
	}
	b.WriteString("    spec:\n      containers:\n      - name: app\n        image: app\n")
	return b.String()
}

// TestAliasBomb: inject refuses a document that expands to too many values,
// as lint does, rather than expanding it (9 levels of 10 grew to 23.5 GB
// before the budget).
func TestAliasBomb(t *testing.T) {
	e := testEngine(t)
	for _, tc := range []struct {
		name          string
		levels, width int
		refuse        bool
	}{
		{"9 levels of 10", 9, 10, true},
		{"30 levels of 2", 30, 2, true},
		{"3 levels of 3, an ordinary use of anchors", 3, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := aliasBomb(tc.levels, tc.width)
			out, _, err := Manifests([]byte(in), e)
			if !tc.refuse {
				// Labels that are lists do not validate: an error, but not the budget's.
				if errors.Is(err, yamldoc.ErrTooManyValues) {
					t.Fatalf("%d bytes refused: %v", len(in), err)
				}
				return
			}
			if err == nil || out != nil {
				t.Fatalf("%d bytes: want an error and no output, got %v and %d bytes", len(in), err, len(out))
			}
			if !errors.Is(err, yamldoc.ErrTooManyValues) || !strings.Contains(err.Error(), "expands to too many values") {
				t.Errorf("error %q: want the alias budget's", err)
			}
			var ie *Error
			if !errors.As(err, &ie) || ie.Document != 1 {
				t.Errorf("error %v does not name document 1", err)
			}
		})
	}
}

// TestSelfMerge: a pod template that merges itself (an anchor's mapping
// with "<<" on its own alias) expands without end; it is refused before
// anything expands it.
func TestSelfMerge(t *testing.T) {
	in := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template: &t\n    metadata: {labels: {app: w}}\n    <<: *t\n"
	_, _, err := Manifests([]byte(in), testEngine(t))
	if !errors.Is(err, yamldoc.ErrTooManyValues) {
		t.Fatalf("error %v, want the document refused", err)
	}
}
