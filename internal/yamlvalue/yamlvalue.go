// Package yamlvalue converts go.yaml.in/yaml/v3 nodes to the JSON values the
// Kubernetes API server reads from the same text (maps, slices, strings,
// bools, nil and json.Number), within a budget: YAML aliases let a few
// hundred bytes stand for billions of values ("billion laughs"), so every
// conversion counts what it expands to and stops at a bound, with an error,
// before it allocates.
//
// It is pure: nodes in, values out.
package yamlvalue

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// ErrTooManyValues is returned when a document expands, through aliases,
// to more values than its budget.
var ErrTooManyValues = errors.New("document expands to too many values through aliases")

// Budget is how many values a document of size bytes may expand to.
// Ordinary anchors for repeated blocks stay far below 100 values per input
// byte; a document without aliases has fewer values than bytes, so a large
// file is held to its own size (at least 10 million values) rather than to
// 100 times it.
func Budget(size int) int {
	return min(10_000+100*size, max(size, 10_000_000))
}

// Count returns how many values n stands for with every alias expanded,
// counting at most limit+1 (ok is false beyond limit). It allocates one map
// entry per node, whatever the expansion, so it is the check to run before
// anything that expands aliases.
func Count(n *yaml.Node, limit int) (count int, ok bool) {
	memo := map[*yaml.Node]int{}
	var visit func(n *yaml.Node, depth int) int
	visit = func(n *yaml.Node, depth int) int {
		if n == nil {
			return 0
		}
		if c, seen := memo[n]; seen {
			return c
		}
		if depth > maxDepth {
			return limit + 1 // an alias cycle, or nesting no manifest has
		}
		memo[n] = limit + 1 // an alias back into its own anchor never ends
		c := 1
		if n.Kind == yaml.AliasNode {
			c = visit(n.Alias, depth+1)
		} else {
			for _, ch := range n.Content {
				c += visit(ch, depth+1)
				if c > limit {
					c = limit + 1
					break
				}
			}
		}
		memo[n] = c
		return c
	}
	c := visit(n, 0)
	return c, c <= limit
}

// Check returns ErrTooManyValues when n expands to more than limit values.
func Check(n *yaml.Node, limit int) error {
	if _, ok := Count(n, limit); !ok {
		return ErrTooManyValues
	}
	return nil
}

// maxDepth bounds nesting (and alias chains), so hostile input cannot
// exhaust the stack.
const maxDepth = 10_000

// Error is a node that has no JSON value.
type Error struct {
	Node *yaml.Node
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Decode converts n to the JSON value the API server would get from it:
// maps, slices, strings, bools, nil and json.Number (so numbers keep their
// precision). Aliases and merge keys are resolved; a duplicate key is an
// error, as it is for the API server. It refuses, with ErrTooManyValues,
// a node that expands to more than limit values.
func Decode(n *yaml.Node, limit int) (any, error) {
	if err := Check(n, limit); err != nil {
		return nil, err
	}
	return decode(n)
}

func decode(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return decode(n.Content[0])
	case yaml.AliasNode:
		return decode(n.Alias)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := decode(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return decodeMapping(n)
	case yaml.ScalarNode:
		return Scalar(n)
	}
	return nil, &Error{n, fmt.Errorf("unexpected YAML node kind %d", n.Kind)}
}

func decodeMapping(n *yaml.Node) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	keyLine := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, &Error{k, errors.New("mapping key is not a scalar")}
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if l, dup := keyLine[k.Value]; dup {
			return nil, &Error{k, fmt.Errorf("mapping key %q already defined at line %d", k.Value, l)}
		}
		keyLine[k.Value] = k.Line
		val, err := decode(v)
		if err != nil {
			return nil, err
		}
		out[k.Value] = val
	}
	for _, m := range merges {
		mv, err := decode(m)
		if err != nil {
			return nil, err
		}
		srcs := []any{mv}
		if s, ok := mv.([]any); ok {
			srcs = s
		}
		for _, s := range srcs {
			sm, ok := s.(map[string]any)
			if !ok {
				return nil, &Error{m, errors.New("merge key (<<) value is not a mapping")}
			}
			for k, v := range sm {
				if _, ok := out[k]; !ok {
					out[k] = v
				}
			}
		}
	}
	return out, nil
}

// Scalar is a scalar node's JSON value: nil, a bool, a json.Number or a
// string (timestamps, binary and custom tags read as their text).
func Scalar(n *yaml.Node) (any, error) {
	v := n.Value
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		return strings.EqualFold(v, "true"), nil
	case "!!int":
		plain := strings.ReplaceAll(v, "_", "")
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10)), nil
		}
		if u, err := strconv.ParseUint(strings.TrimPrefix(plain, "+"), 0, 64); err == nil {
			return json.Number(strconv.FormatUint(u, 10)), nil
		}
		if IsJSONNumber(v) {
			return json.Number(v), nil
		}
		return nil, &Error{n, fmt.Errorf("integer %s is out of range", v)}
	case "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, &Error{n, fmt.Errorf("number %s has no JSON form", v)}
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	}
	return v, nil
}

var jsonNumberRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// IsJSONNumber reports text that is a number as JSON writes it.
func IsJSONNumber(s string) bool { return jsonNumberRE.MatchString(s) }
