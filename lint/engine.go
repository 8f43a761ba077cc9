package lint

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Rule describes one rule: from a Rego package's METADATA, or built in.
type Rule struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Severity    Severity `json:"severity"`
	Remediation string   `json:"remediation"`
	// Kinds are the input kinds the rule reads (METADATA custom.kinds);
	// empty means any.
	Kinds []string `json:"kinds,omitempty"`
	// Package is the Rego package (data.inzone.rules.<name>), empty for a
	// built-in rule.
	Package string `json:"package,omitempty"`
	// Source is the rule's file.
	Source string `json:"source,omitempty"`
}

// RuleEnvoyInvalid reports an Envoy config that Envoy itself would reject.
// It is built in: there is no parsed config for a policy to look at.
var RuleEnvoyInvalid = Rule{
	ID:          "envoy-invalid-config",
	Title:       "Envoy config does not parse",
	Description: "The Envoy config does not parse or validate with Envoy's own API types, so Envoy would refuse to load it and whatever it says about zones cannot be checked.",
	Severity:    SeverityError,
	Remediation: "Fix the field the message names; Envoy rejects the whole config otherwise.",
}

// RuleIgnoreWithoutReason reports an inzone.io/lint-ignore annotation that
// is not honoured because it gives no reason.
var RuleIgnoreWithoutReason = Rule{
	ID:          "lint-ignore-without-reason",
	Title:       "Suppression without a reason",
	Description: "The object names rules in " + AnnotationIgnore + " but has no " + AnnotationIgnoreReason + " annotation, so the suppression is not honoured: every exception in a repository should say why.",
	Severity:    SeverityWarning,
	Remediation: "Add the annotation " + AnnotationIgnoreReason + " saying why the rules do not apply to this object.",
}

// EngineOptions configure an Engine.
type EngineOptions struct {
	// Policies are file systems of Rego files (test files, *_test.rego,
	// are left out). Typically policies.FS and the user's --policy dirs.
	Policies []fs.FS
	// ELBs gives DDSD names to ELB hostnames for the aws-elb-hostname hint.
	ELBs ELBLookup
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
	rules   map[string]*Rule // by package path, e.g. inzone.rules.envoy_strict_dns
	list    []*Rule          // sorted by ID, built-in rules included
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

var ruleIDRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// NewEngine parses and compiles the policies once; each kind's query is
// prepared on first use.
func NewEngine(ctx context.Context, opts EngineOptions) (*Engine, error) {
	e, err := StartEngine(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := e.Ready(); err != nil {
		return nil, err
	}
	return e, nil
}

// StartEngine parses the policies and reads their rules, then compiles
// them in the background: a run reads and parses its files meanwhile, as
// the rules and the kinds they read are known. Eval waits for the compile;
// Ready waits and says whether it failed, which a caller must check before
// trusting a run's results.
func StartEngine(_ context.Context, opts EngineOptions) (*Engine, error) {
	e := &Engine{rules: map[string]*Rule{}, compiled: make(chan struct{})}
	seen := map[string]string{}
	for _, r := range []Rule{RuleEnvoyInvalid, RuleIgnoreWithoutReason} {
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
	go e.compile(modules)
	return e, nil
}

// compile compiles the modules as rego.New would, with the custom builtins
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

// compiledYet says whether the compile is over, without waiting for it.
func (e *Engine) compiledYet() bool {
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

// otherKinds keys the query for inputs of the kinds no rule names.
const otherKinds = "\x00other"

// kindQuery evaluates, for an input of one kind, only the rules that read
// that kind (custom.kinds) or say nothing of kinds, instead of every
// rule's guard on input.kind. Binding vars[I] is the set of violations of
// rules[I], in package order.
type kindQuery struct {
	rules    []*Rule
	vars     []ast.Var
	query    ast.Body
	compiler ast.QueryCompiler
}

// packagesByKind lists the rule packages (names under inzone.rules) of each
// kind, and those of every kind, each sorted.
func packagesByKind(rules map[string]*Rule) (map[string][]string, []string) {
	byKind := map[string][]string{}
	var any []string
	for pkg, r := range rules {
		name := strings.TrimPrefix(pkg, "inzone.rules.")
		if strings.Contains(name, ".") {
			continue // not a child of data.inzone.rules, so never evaluated
		}
		if len(r.Kinds) == 0 {
			any = append(any, name)
		}
		for _, k := range r.Kinds {
			if !slices.Contains(byKind[k], name) {
				byKind[k] = append(byKind[k], name)
			}
		}
	}
	for k, ps := range byKind {
		for _, p := range any {
			if !slices.Contains(ps, p) {
				ps = append(ps, p)
			}
		}
		sort.Strings(ps)
		byKind[k] = ps
	}
	sort.Strings(any)
	return byKind, any
}

// kindQuery returns the query for inputs of kind, prepared on first use.
func (e *Engine) kindQuery(ctx context.Context, kind string) (*kindQuery, error) {
	if _, ok := e.byKind[kind]; !ok {
		kind = otherKinds
	}
	if q, ok := e.queries.Load(kind); ok {
		return q.(*kindQuery), nil
	}
	if err := e.ready(ctx); err != nil {
		return nil, err
	}
	pkgs := e.byKind[kind]
	if kind == otherKinds {
		pkgs = e.anyKind
	}
	kq := &kindQuery{}
	if len(pkgs) > 0 {
		var b strings.Builder
		for i, p := range pkgs {
			kq.rules = append(kq.rules, e.rules["inzone.rules."+p])
			kq.vars = append(kq.vars, ast.Var(fmt.Sprintf("x%d", i)))
			if i > 0 {
				b.WriteString("; ")
			}
			name, _ := json.Marshal(p)
			ref := fmt.Sprintf("data.inzone.rules[%s].violation", name)
			if e.partialSet(rulesRef.Append(ast.StringTerm(p)).Append(ast.StringTerm("violation"))) {
				fmt.Fprintf(&b, "%s = %s", kq.vars[i], ref)
			} else {
				// Undefined, or not a set: what iterating it yields.
				fmt.Fprintf(&b, "%s = {v | some v in %s}", kq.vars[i], ref)
			}
		}
		body, err := ast.ParseBodyWithOpts(b.String(), regoParserOptions(false))
		if err != nil {
			return nil, fmt.Errorf("compiling policies: %w", err)
		}
		kq.compiler = e.compiler.QueryCompiler()
		if kq.query, err = kq.compiler.Compile(body); err != nil {
			return nil, fmt.Errorf("compiling policies: %w", err)
		}
	}
	q, _ := e.queries.LoadOrStore(kind, kq)
	return q.(*kindQuery), nil
}

// partialSet reports whether the rules of ref are partial set rules
// (violation contains ...) and nothing else, so that ref is a set even when
// no rule body holds, and the query can bind it directly.
func (e *Engine) partialSet(r ast.Ref) bool {
	rules := e.compiler.GetRulesWithPrefix(r)
	if len(rules) == 0 {
		return false
	}
	for _, rule := range rules {
		if rule.Head.RuleKind() != ast.MultiValue || !rule.Ref().Equal(r) {
			return false
		}
	}
	return true
}

// ruleFromModule reads a rule's package METADATA.
func ruleFromModule(m *ast.Module, file string) (*Rule, error) {
	var a *ast.Annotations
	for _, an := range m.Annotations {
		if an.Scope == "package" {
			a = an
		}
	}
	if a == nil {
		return nil, fmt.Errorf("%s: package %s has no package-scoped METADATA (title, description, custom.id, custom.severity, custom.remediation)", file, m.Package.Path)
	}
	str := func(k string) string { s, _ := a.Custom[k].(string); return s }
	r := &Rule{ID: str("id"), Title: a.Title, Description: strings.TrimSpace(a.Description), Remediation: strings.TrimSpace(str("remediation")), Source: file}
	var errs []string
	if !ruleIDRE.MatchString(r.ID) {
		errs = append(errs, fmt.Sprintf("custom.id %q must be kebab-case", r.ID))
	}
	sev, err := ParseSeverity(str("severity"))
	if err != nil {
		errs = append(errs, "custom."+err.Error())
	}
	r.Severity = sev
	if ks, ok := a.Custom["kinds"]; ok {
		list, _ := ks.([]any)
		for _, k := range list {
			if s, ok := k.(string); ok && s != "" {
				r.Kinds = append(r.Kinds, s)
			}
		}
		if len(r.Kinds) == 0 || len(r.Kinds) != len(list) {
			errs = append(errs, "custom.kinds must be a non-empty list of kinds")
		}
	}
	if r.Title == "" {
		errs = append(errs, "title is required")
	}
	if r.Remediation == "" {
		errs = append(errs, "custom.remediation is required")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s:%d: METADATA: %s", file, a.Location.Row, strings.Join(errs, "; "))
	}
	return r, nil
}

// Rules lists every rule, sorted by ID.
func (e *Engine) Rules() []*Rule { return e.list }

// Rule returns the rule with id.
func (e *Engine) Rule(id string) (*Rule, bool) {
	for _, r := range e.list {
		if r.ID == id {
			return r, true
		}
	}
	return nil, false
}

// Violation is one rule's verdict on one document.
type Violation struct {
	Rule     *Rule
	Message  string
	Path     []any
	Hint     string
	Severity Severity
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
func violation(rule *Rule, t *ast.Term) (Violation, error) {
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
	if sev, err := ParseSeverity(str("severity")); err == nil {
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
