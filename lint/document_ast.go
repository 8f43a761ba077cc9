package lint

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"go.yaml.in/yaml/v3"

	"github.com/inzone-io/inzone/internal/yamldoc"
)

// decodeAST returns Node as a Rego value: ast.InterfaceToValue of what
// Decode returns, errors included, built by the same walk (yamldoc.Build)
// without the plain Go maps and slices in between (most documents are only
// ever evaluated). It does not set what Decode returns.
func (d *Document) decodeAST() (ast.Value, error) {
	if d.Node == nil {
		return ast.NullValue, nil
	}
	v, err := yamldoc.Build[ast.Value, regoSequence, regoMapping](regoValues{}, d.Node, yamldoc.Options{Budget: d.budget, DropIgnored: true})
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", d.Node.Line, err)
	}
	return v, nil
}

// regoValues builds Rego values for yamldoc.Build.
type regoValues struct{}

// regoSequence is an array being built, with its items' terms allocated
// at once.
type regoSequence struct {
	terms []ast.Term
	items []*ast.Term
}

// regoMapping is an object being built, with its values' terms allocated
// at once.
type regoMapping struct {
	obj   ast.Object
	terms []ast.Term
}

func (regoValues) Null() ast.Value { return ast.NullValue }

// Text is the text as InterfaceToValue would make it, without boxing it
// into an any first.
func (regoValues) Text(n *yaml.Node) ast.Value { return ast.InternedValue(n.Value) }

func (regoValues) Scalar(v any) (ast.Value, error) { return ast.InterfaceToValue(v) }

func (regoValues) Sequence(size int) regoSequence {
	return regoSequence{terms: make([]ast.Term, size), items: make([]*ast.Term, 0, size)}
}

func (regoValues) Append(s regoSequence, v ast.Value) regoSequence {
	t := &s.terms[len(s.items)]
	t.Value = v
	s.items = append(s.items, t)
	return s
}

func (regoValues) EndSequence(s regoSequence) ast.Value { return ast.NewArray(s.items...) }

func (regoValues) Mapping(size int) regoMapping {
	return regoMapping{obj: ast.NewObjectWithCapacity(size), terms: make([]ast.Term, 0, size)}
}

func (regoValues) Set(m regoMapping, key string, v ast.Value) regoMapping {
	var t *ast.Term
	if len(m.terms) < cap(m.terms) {
		m.terms = m.terms[:len(m.terms)+1]
		t = &m.terms[len(m.terms)-1]
		t.Value = v
	} else {
		t = ast.NewTerm(v) // a merge key's: more keys than pairs
	}
	m.obj.Insert(ast.InternedTerm(key), t)
	return m
}

func (regoValues) EndMapping(m regoMapping) ast.Value { return m.obj }
