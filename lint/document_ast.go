package lint

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"go.yaml.in/yaml/v3"
)

// decodeAST returns Node as a Rego value: ast.InterfaceToValue of what
// Decode returns, errors included, without the plain Go maps and slices in
// between (most documents are only ever evaluated). It does not set what
// Decode returns.
func (d *Document) decodeAST() (ast.Value, error) {
	if d.Node == nil {
		return ast.NullValue, nil
	}
	budget := d.budget
	v, err := nodeAST(d.Node, 0, &budget)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", d.Node.Line, err)
	}
	return v, nil
}

// nodeAST is nodeValue building Rego values: the same walk, the same
// budget and depth checks, the same errors.
func nodeAST(n *yaml.Node, depth int, budget *int) (ast.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nesting deeper than %d", n.Line, maxDepth)
	}
	if *budget--; *budget < 0 {
		return nil, errAliasBomb
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return ast.NullValue, nil
		}
		return nodeAST(n.Content[0], depth+1, budget)
	case yaml.AliasNode:
		return nodeAST(n.Alias, depth+1, budget)
	case yaml.SequenceNode:
		terms := make([]ast.Term, len(n.Content))
		out := make([]*ast.Term, len(n.Content))
		for i, c := range n.Content {
			v, err := nodeAST(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			terms[i].Value = v
			out[i] = &terms[i]
		}
		return ast.NewArray(out...), nil
	case yaml.MappingNode:
		out := ast.NewObjectWithCapacity(len(n.Content) / 2)
		if err := mergeMappingAST(out, n, depth, budget); err != nil {
			return nil, err
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null", "!!bool", "!!int", "!!float":
			v, err := scalarValue(n)
			if err != nil {
				return nil, err
			}
			return ast.InterfaceToValue(v)
		}
		// scalarValue's text, as InterfaceToValue would make it, without
		// boxing it into an any first.
		return ast.InternedValue(n.Value), nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// mergeMappingAST is mergeMapping into a Rego object.
func mergeMappingAST(out ast.Object, n *yaml.Node, depth int, budget *int) error {
	terms := make([]ast.Term, len(n.Content)/2) // the values' terms, allocated at once
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			sources, err := mergeSources(v)
			if err != nil {
				return err
			}
			for _, s := range sources {
				tmp := ast.NewObject()
				if err := mergeMappingAST(tmp, s, depth+1, budget); err != nil {
					return err
				}
				tmp.Foreach(func(mk, mv *ast.Term) {
					if out.Get(mk) == nil {
						out.Insert(mk, mv)
					}
				})
			}
			continue
		}
		if k.Tag == "!ignore" {
			continue // Envoy drops such keys; configs use them to hold anchors
		}
		val, err := nodeAST(v, depth+1, budget)
		if err != nil {
			return err
		}
		key := k.Value
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			key = k.Alias.Value
		}
		t := &terms[i/2]
		t.Value = val
		out.Insert(ast.InternedTerm(key), t)
	}
	return nil
}
