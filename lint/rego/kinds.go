package rego

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/inzone-io/inzone/report"
)

// otherKinds keys the query for inputs of the kinds no rule names.
const otherKinds = "\x00other"

// kindQuery evaluates, for an input of one kind, only the rules that read
// that kind (custom.kinds) or say nothing of kinds, instead of every
// rule's guard on input.kind. Binding vars[I] is the set of violations of
// rules[I], in package order.
type kindQuery struct {
	rules    []*report.Rule
	vars     []ast.Var
	query    ast.Body
	compiler ast.QueryCompiler
}

// packagesByKind lists the rule packages (names under inzone.rules) of each
// kind, and those of every kind, each sorted.
func packagesByKind(rules map[string]*report.Rule) (map[string][]string, []string) {
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
