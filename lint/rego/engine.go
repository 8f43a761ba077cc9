package rego

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/inzone-io/inzone/report"
)

// Options configure an Engine.
type Options struct {
	// Policies are file systems of Rego files (test files, *_test.rego,
	// are left out). Typically policies.FS and the user's --policy dirs.
	Policies []fs.FS
	// ELBs gives DDSD names to ELB hostnames for the aws-elb-hostname hint.
	ELBs ELBLookup
	// HoldCompile, when set, holds Start's compile back until it is
	// closed: for tests of what a caller does while the policies compile.
	HoldCompile <-chan struct{}
}

// Engine evaluates every rule on a document with one prepared query. It is
// safe for concurrent use.
type Engine struct {
	// compiler holds the compiled policies, once compiled is closed; each
	// kind's query is prepared against it, the first time an input of
	// that kind is evaluated.
	compiler *ast.Compiler
	store    storage.Store
	builtins map[string]*topdown.Builtin
	queries  sync.Map // kind (or otherKinds) -> *kindQuery
	// byKind are the rule packages (names under inzone.rules) each kind
	// is evaluated by, sorted; anyKind, those for every kind.
	byKind  map[string][]string
	anyKind []string
	rules   map[string]*report.Rule // by package path, e.g. inzone.rules.envoy_strict_dns
	list    []*report.Rule          // sorted by ID, built-in rules included
	// kinds are the input kinds some rule reads; nil when a rule does not
	// say (custom.kinds), and then every document is evaluated.
	kinds map[string]bool
	// compiled is closed when compiler is ready, or compileErr says why
	// it is not.
	compiled   chan struct{}
	compileErr error
}

// Wants reports whether some rule reads inputs of this kind.
func (e *Engine) Wants(kind string) bool { return e.kinds == nil || e.kinds[kind] }

// New parses and compiles the policies once; each kind's query is
// prepared on first use.
func New(ctx context.Context, opts Options) (*Engine, error) {
	e, err := Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := e.Ready(); err != nil {
		return nil, err
	}
	return e, nil
}

// Start parses the policies and reads their rules, then compiles
// them in the background: a run reads and parses its files meanwhile, as
// the rules and the kinds they read are known. Eval waits for the compile;
// Ready waits and says whether it failed, which a caller must check before
// trusting a run's results.
func Start(_ context.Context, opts Options) (*Engine, error) {
	e := &Engine{rules: map[string]*report.Rule{}, compiled: make(chan struct{})}
	seen := map[string]string{}
	for _, r := range report.LintRules() {
		r := *r // the engine's own copy
		e.list = append(e.list, &r)
		seen[r.ID] = "built in"
	}

	// Keyed by policy directory and file name: two directories may both
	// hold a rule.rego.
	modules := map[string]*ast.Module{}
	for i, fsys := range opts.Policies {
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(p, ".rego") || strings.HasSuffix(p, "_test.rego") {
				return nil
			}
			src, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			m, err := ast.ParseModuleWithOpts(p, string(src), regoParserOptions(true))
			if err != nil {
				return err
			}
			modules[fmt.Sprintf("%d/%s", i, p)] = m
			pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
			if !strings.HasPrefix(pkg, "inzone.rules.") {
				if m.Package.Path.HasPrefix(rulesRef) && len(m.Package.Path) > len(rulesRef) {
					// data.inzone.rules["my-rule"]: it would never be evaluated.
					return fmt.Errorf("%s: package %s: a rule's package is inzone.rules.<name>, with <name> a Rego identifier (snake_case)", p, pkg)
				}
				return nil // a library package the rules import
			}
			r, err := ruleFromModule(m, p)
			if err != nil {
				return err
			}
			if prev, dup := seen[r.ID]; dup {
				return fmt.Errorf("%s: rule id %s is already defined in %s", p, r.ID, prev)
			}
			seen[r.ID] = p
			r.Package = pkg
			e.rules[pkg] = r
			e.list = append(e.list, r)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("loading policies: %w", err)
		}
	}
	sort.Slice(e.list, func(i, j int) bool { return e.list[i].ID < e.list[j].ID })
	e.kinds = map[string]bool{}
	for _, r := range e.rules {
		if len(r.Kinds) == 0 {
			e.kinds = nil
			break
		}
		for _, k := range r.Kinds {
			e.kinds[k] = true
		}
	}
	e.byKind, e.anyKind = packagesByKind(e.rules)
	e.builtins = topdownBuiltins(opts.ELBs)
	// The store holds no data: a policy's reference to a base document
	// (data.x that no rule defines) reads it and finds nothing.
	e.store = inmem.New()
	go func() {
		if opts.HoldCompile != nil {
			<-opts.HoldCompile
		}
		e.compile(modules)
	}()
	return e, nil
}

// compile compiles the modules as oparego.New would, with the custom builtins
// declared, but directly: rego would also activate them as a bundle in the
// store, which nothing reads.
func (e *Engine) compile(modules map[string]*ast.Module) {
	defer close(e.compiled)
	c := ast.NewCompiler().
		WithBuiltins(builtinDecls()).
		WithUseTypeCheckAnnotations(true)
	if c.Compile(modules); c.Failed() {
		e.compileErr = fmt.Errorf("compiling policies: %w", c.Errors)
		return
	}
	e.compiler = c
}

// Ready waits for the policies to compile and returns the error if they
// do not.
func (e *Engine) Ready() error { return e.ready(context.Background()) }

// Compiled says whether the compile is over, without waiting for it.
func (e *Engine) Compiled() bool {
	select {
	case <-e.compiled:
		return true
	default:
		return false
	}
}

// ready is Ready, unless ctx is done first: a caller that gave up waits
// for no compile.
func (e *Engine) ready(ctx context.Context) error {
	select {
	case <-e.compiled:
		return e.compileErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Rules lists every rule, sorted by ID.
func (e *Engine) Rules() []*report.Rule { return e.list }

// Rule returns the rule with id.
func (e *Engine) Rule(id string) (*report.Rule, bool) {
	for _, r := range e.list {
		if r.ID == id {
			return r, true
		}
	}
	return nil, false
}

// Violation is one rule's verdict on one document.
type Violation struct {
	Rule     *report.Rule
	Message  string
	Path     []any
	Hint     string
	Severity report.Severity
}

// Eval runs every rule that reads the input's kind on one input, converted
// to an ast.Value once.
func (e *Engine) Eval(ctx context.Context, input ast.Value) ([]Violation, error) {
	kind := ""
	if obj, ok := input.(ast.Object); ok {
		if t := obj.Get(kindTerm); t != nil {
			if s, ok := t.Value.(ast.String); ok {
				kind = string(s)
			}
		}
	}
	kq, err := e.kindQuery(ctx, kind)
	if err != nil || len(kq.rules) == 0 {
		return nil, err
	}
	txn, err := e.store.NewTransaction(ctx)
	if err != nil {
		return nil, err
	}
	defer e.store.Abort(ctx, txn)
	// Straight to topdown, as rego.PreparedEvalQuery.Eval does, without
	// its per-call metrics, cancellation goroutine and conversion of the
	// results to Go values.
	q := topdown.NewQuery(kq.query).
		WithQueryCompiler(kq.compiler).
		WithCompiler(e.compiler).
		WithStore(e.store).
		WithTransaction(txn).
		WithBuiltins(e.builtins).
		WithMetrics(metrics.NoOp()).
		WithInput(ast.NewTerm(input))
	if ctx.Done() != nil {
		c := topdown.NewCancel()
		defer context.AfterFunc(ctx, c.Cancel)()
		q = q.WithCancel(c)
	}
	var out []Violation
	err = q.Iter(ctx, func(qr topdown.QueryResult) error {
		for i, rule := range kq.rules {
			set, _ := qr[kq.vars[i]].Value.(ast.Set)
			if set == nil {
				continue
			}
			if err := set.Iter(func(t *ast.Term) error {
				v, err := violation(rule, t)
				if err != nil {
					return err
				}
				out = append(out, v)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// violation reads one element of a rule's violation set.
func violation(rule *report.Rule, t *ast.Term) (Violation, error) {
	v := Violation{Rule: rule, Severity: rule.Severity, Hint: rule.Remediation}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		x, _ := ast.JSON(t.Value)
		return v, fmt.Errorf("rule %s: a violation must be an object with msg and path, got %T", rule.ID, x)
	}
	str := func(key string) string {
		if f := obj.Get(ast.InternedTerm(key)); f != nil {
			if s, ok := f.Value.(ast.String); ok {
				return string(s)
			}
		}
		return ""
	}
	if v.Message = str("msg"); v.Message == "" {
		return v, fmt.Errorf("rule %s: a violation has no msg", rule.ID)
	}
	if p := obj.Get(ast.InternedTerm("path")); p != nil {
		// As rego's results had it: numbers as json.Number.
		x, err := ast.JSON(p.Value)
		if err != nil {
			return v, err
		}
		v.Path, _ = x.([]any)
	}
	if h := str("hint"); h != "" {
		v.Hint = h
	}
	if sev, err := report.ParseSeverity(str("severity")); err == nil {
		v.Severity = sev
	}
	return v, nil
}

var kindTerm = ast.StringTerm("kind")

// rulesRef is where rule packages live.
var rulesRef = ast.MustParseRef("data.inzone.rules")

// regoCapabilities are those every parse here is for. A parse without
// them works them out afresh, a sorted copy of every builtin's
// declaration, and a run parses some seventy modules, queries and refs.
var regoCapabilities = sync.OnceValue(func() *ast.Capabilities {
	return ast.CapabilitiesForThisVersion(ast.CapabilitiesRegoVersion(ast.RegoV1))
})

// regoParserOptions are the options of a parse of Rego v1: of a module
// (with its METADATA annotations) or of a query.
func regoParserOptions(module bool) ast.ParserOptions {
	return ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: module, Capabilities: regoCapabilities()}
}
