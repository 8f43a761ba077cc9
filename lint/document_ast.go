package lint

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"go.yaml.in/yaml/v3"

	"github.com/inzone-io/inzone/internal/yamldoc"
)

// decodeAST returns Node as a Rego value: ast.InterfaceToValue of what
// Decode returns, errors included, without the plain Go maps and slices in
// between (most documents are only ever evaluated). It does not set what
// Decode returns.
func (d *Document) decodeAST() (ast.Value, error) {
	if d.Node == nil {
		return ast.NullValue, nil
	}
	w := astDecoder{budget: d.budget}
	v, err := w.value(d.Node, 0)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", d.Node.Line, err)
	}
	return v, nil
}

// astDecoder is yamldoc.Value's walk building Rego values: the same budget
// and depth checks, yamldoc's scalars, keys and merge order, the same
// errors (TestDecodeASTAgreesWithDecode).
type astDecoder struct{ budget int }

func (w *astDecoder) value(n *yaml.Node, depth int) (ast.Value, error) {
	if depth > yamldoc.MaxDepth {
		return nil, &yamldoc.Error{Node: n, Err: fmt.Errorf("nesting deeper than %d", yamldoc.MaxDepth)}
	}
	if w.budget--; w.budget < 0 {
		return nil, yamldoc.ErrTooManyValues
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return ast.NullValue, nil
		}
		return w.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		return w.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		terms := make([]ast.Term, len(n.Content))
		out := make([]*ast.Term, len(n.Content))
		for i, c := range n.Content {
			v, err := w.value(c, depth+1)
			if err != nil {
				return nil, err
			}
			terms[i].Value = v
			out[i] = &terms[i]
		}
		return ast.NewArray(out...), nil
	case yaml.MappingNode:
		out := ast.NewObjectWithCapacity(len(n.Content) / 2)
		if err := w.mapping(out, n, depth); err != nil {
			return nil, err
		}
		return out, nil
	case yaml.ScalarNode:
		if yamldoc.IsText(n) {
			// Text, as InterfaceToValue would make it, without boxing it
			// into an any first.
			return ast.InternedValue(n.Value), nil
		}
		v, err := yamldoc.Scalar(n)
		if err != nil {
			return nil, err
		}
		return ast.InterfaceToValue(v)
	}
	return nil, &yamldoc.Error{Node: n, Err: fmt.Errorf("unexpected YAML node kind %d", n.Kind)}
}

// mapping sets n's pairs in out, in order, as yamldoc.Value does.
func (w *astDecoder) mapping(out ast.Object, n *yaml.Node, depth int) error {
	if depth > yamldoc.MaxDepth { // a merge key's mapping that merges itself
		return &yamldoc.Error{Node: n, Err: fmt.Errorf("nesting deeper than %d", yamldoc.MaxDepth)}
	}
	terms := make([]ast.Term, len(n.Content)/2) // the values' terms, allocated at once
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if yamldoc.IsMerge(k) {
			sources, err := yamldoc.MergeSources(v)
			if err != nil {
				return err
			}
			for _, s := range sources {
				if err := w.mapping(out, s, depth+1); err != nil {
					return err
				}
			}
			continue
		}
		if k.Tag == "!ignore" {
			continue // Envoy drops such keys; configs use them to hold anchors
		}
		key, err := yamldoc.Key(k)
		if err != nil {
			return err
		}
		val, err := w.value(v, depth+1)
		if err != nil {
			return err
		}
		t := &terms[i/2]
		t.Value = val
		out.Insert(ast.InternedTerm(key), t)
	}
	return nil
}
