package envoy

import (
	"reflect"

	"github.com/open-policy-agent/opa/v1/ast"
)

// APIVersion and Kind name an Envoy config as the policies see it: the
// apiVersion and kind of its Rego input, and of the object a finding names.
const (
	APIVersion = "inzone.io/v1alpha1"
	Kind       = "EnvoyConfig"
)

// Input is the Rego input of a parsed config (the result of Parse or
// Salvage, which it completes in place with "apiVersion", "kind" and
// "metadata"), named name in namespace ("" for none). It is what
// ast.InterfaceToValue makes of parsed, with each cluster converted once.
func Input(parsed map[string]any, name, namespace string) (ast.Value, error) {
	meta := map[string]any{"name": name}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	parsed["apiVersion"], parsed["kind"], parsed["metadata"] = APIVersion, Kind, meta
	return inputValue(parsed)
}

// inputValue is ast.InterfaceToValue(input), for Parse's result,
// with each rendered cluster converted once: a bootstrap's clusters are
// both under bootstrap.static_resources.clusters and in clusters, as the
// same maps, and were converted twice. The two places now share one value,
// as OPA itself shares terms: builtins build new values, and topdown copies
// the input before a policy's "with" changes it.
func inputValue(input map[string]any) (ast.Value, error) {
	c := inputConverter{clusters: map[uintptr]ast.Value{}}
	if list, ok := input["clusters"].([]any); ok {
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				if cl, ok := m["cluster"].(map[string]any); ok && len(cl) > 0 {
					v, err := c.value(cl)
					if err != nil {
						return nil, err
					}
					c.clusters[reflect.ValueOf(cl).Pointer()] = v
				}
			}
		}
	}
	return c.value(input)
}

type inputConverter struct {
	clusters map[uintptr]ast.Value // converted clusters, by map
}

// value converts x as ast.InterfaceToValue does; maps and lists are taken
// apart here, to find the clusters already converted, and everything else
// is InterfaceToValue's.
func (c *inputConverter) value(x any) (ast.Value, error) {
	switch x := x.(type) {
	case map[string]any:
		if v, ok := c.clusters[reflect.ValueOf(x).Pointer()]; ok {
			return v, nil
		}
		kvs := make([][2]*ast.Term, 0, len(x))
		for k, e := range x {
			v, err := c.value(e)
			if err != nil {
				return nil, err
			}
			kvs = append(kvs, [2]*ast.Term{ast.StringTerm(k), ast.NewTerm(v)})
		}
		return ast.NewObject(kvs...), nil
	case []any:
		terms := make([]*ast.Term, len(x))
		for i, e := range x {
			v, err := c.value(e)
			if err != nil {
				return nil, err
			}
			terms[i] = ast.NewTerm(v)
		}
		return ast.NewArray(terms...), nil
	}
	return ast.InterfaceToValue(x)
}
