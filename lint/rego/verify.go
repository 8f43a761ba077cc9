package rego

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
)

// VerifyResult is the outcome of one Rego unit test (a test_ rule).
type VerifyResult struct {
	Package  string // the test's package, as data.inzone.rules.x_test
	Name     string // the test rule, as test_flags_unset
	Pass     bool   // it passed, or was skipped (todo_test_)
	Skip     bool   // it is a todo_test_ rule and was not run
	Fail     string // why it did not pass: "file:line: test failed" or the error
	Duration time.Duration
}

// Verify runs the Rego unit tests (test_ rules) of the policies in fsys (the
// embedded policies.FS, plus extra user policy dirs) through OPA's tester
// package, with the inzone builtins registered. It returns one result per
// test, sorted by package and name.
//
// Every *.rego file of every fsys is loaded (rules and tests alike) and
// parsed as Rego v1; other files (testdata, data documents) are not: a test
// brings its input and data along with `with`. The error is for policies
// that cannot be read, parsed or compiled; failing tests are results.
func Verify(ctx context.Context, fsys ...fs.FS) ([]VerifyResult, error) {
	modules, err := loadRegoModules(fsys...)
	if err != nil {
		return nil, err
	}
	if len(modules) == 0 {
		return nil, nil
	}
	ch, err := tester.NewRunner().
		SetDefaultRegoVersion(ast.RegoV1).
		AddCustomBuiltins(testerBuiltins(nil)).
		RaiseBuiltinErrors(true).
		CapturePrintOutput(true).
		SetModules(modules).
		RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("compiling policies: %w", err)
	}
	var out []VerifyResult
	for r := range ch {
		out = append(out, verifyResult(r))
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	slices.SortFunc(out, func(a, b VerifyResult) int {
		if c := strings.Compare(a.Package, b.Package); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

func verifyResult(r *tester.Result) VerifyResult {
	v := VerifyResult{
		Package:  r.Package,
		Name:     r.Name,
		Skip:     r.Skip,
		Pass:     r.Skip || r.Pass(),
		Duration: r.Duration,
	}
	switch {
	case r.Error != nil:
		v.Fail = r.Error.Error()
	case r.Fail:
		v.Fail = "test failed"
		if r.Location != nil {
			v.Fail = r.Location.String() + ": " + v.Fail
		}
		if out := strings.TrimSpace(string(r.Output)); out != "" {
			v.Fail += "\n" + out
		}
	}
	return v
}

// loadRegoModules parses every *.rego file in fsys, keyed by its path; when
// there are several file systems, the paths of all but the first are
// prefixed with the file system's index so that they cannot collide.
func loadRegoModules(fsys ...fs.FS) (map[string]*ast.Module, error) {
	modules := map[string]*ast.Module{}
	opts := regoParserOptions(true)
	for i, f := range fsys {
		err := fs.WalkDir(f, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || path.Ext(p) != ".rego" {
				return nil
			}
			src, err := fs.ReadFile(f, p)
			if err != nil {
				return err
			}
			name := p
			if i > 0 {
				name = fmt.Sprintf("%d/%s", i, p)
			}
			m, err := ast.ParseModuleWithOpts(name, string(src), opts)
			if err != nil {
				return err
			}
			if m == nil { // a file of comments only
				return nil
			}
			modules[name] = m
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("loading policies: %w", err)
		}
	}
	return modules, nil
}
