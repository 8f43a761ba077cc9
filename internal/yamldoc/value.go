package yamldoc

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The values a node stands for are those the Kubernetes API server reads
// from the same text. kubectl and the API server turn YAML into JSON with
// sigs.k8s.io/yaml, which reads YAML 1.1 (go.yaml.in/yaml/v2), and read
// that JSON keeping integers as int64 (k8s.io/apimachinery's json). So:
//
//   - plain y, yes, on, n, no, off (any of their three casings) are
//     booleans, as true and false are; a key spelled so is "true" or
//     "false";
//   - an integer is an int64; beyond int64 it is a float64, as the JSON
//     number it becomes is read;
//   - a float with an integral value under 1e21 (1.0, 1e3) is an int64, as
//     the JSON it becomes ("1", "1000") is read; .inf and .nan have no JSON
//     form and are errors;
//   - timestamps are their text; !!binary is its decoded bytes;
//   - a merge key (<<) sets its mappings' keys where it stands, as later
//     keys set theirs: the later one wins, and of a list of mappings the
//     first; a repeated key is its last value.
//
// TestValueIsTheAPIServers and FuzzScalarIsTheAPIServers hold these rules
// to sigs.k8s.io/yaml and apimachinery's json.

// ErrTooManyValues is returned when a document expands, through aliases,
// to more values than its budget.
var ErrTooManyValues = errors.New("document expands to too many values through aliases")

// MaxDepth bounds nesting (and alias chains), so hostile input cannot
// exhaust the stack. No manifest nests this deep.
const MaxDepth = 200

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
// anything that copies aliased trees.
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
		if depth > MaxDepth {
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

// Error is a node that has no value: its position, and why.
type Error struct {
	Node *yaml.Node
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %v", e.Node.Line, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Options are how Value reads a document.
type Options struct {
	// Budget is how many values the document may expand to (Budget of its
	// size); beyond it Value returns ErrTooManyValues.
	Budget int
	// DropIgnored drops keys tagged !ignore, as Envoy's loader does (its
	// configs use them to hold anchors). The API server keeps them.
	DropIgnored bool
	// Strict refuses a key repeated in one mapping, as the key reads
	// (on and "true" are one key); otherwise the last one counts, as
	// sigs.k8s.io/yaml's YAMLToJSON has it. (Its YAMLToJSONStrict also
	// refuses a key set after a merge key set it, which is how merge keys
	// are used.)
	Strict bool
}

// Value converts n to plain Go values: map[string]any, []any, string,
// int64, float64, bool and nil, as the API server reads the same text.
// Aliases and merge keys are resolved, each value counted against the
// budget as it is made.
func Value(n *yaml.Node, opts Options) (any, error) {
	return Build[any, []any, map[string]any](plainValues{}, n, opts)
}

// Builder makes the values of one representation: Value's plain Go values,
// or another (lint's Rego values, built without plain ones in between).
// Build walks the tree with Value's rules, and the builder only makes what
// Build tells it to.
type Builder[V, S, M any] interface {
	// Null is the value of a document without content.
	Null() V
	// Text is the value of a scalar that is its text (IsText): most are.
	Text(n *yaml.Node) V
	// Scalar is the value of any other scalar, given as Scalar reads it.
	Scalar(v any) (V, error)
	// Sequence starts a sequence of size items, Append adds the next one,
	// EndSequence is its value.
	Sequence(size int) S
	Append(s S, v V) S
	EndSequence(s S) V
	// Mapping starts a mapping of about size keys; Set sets a key in it,
	// over an earlier value of that key; EndMapping is its value.
	Mapping(size int) M
	Set(m M, key string, v V) M
	EndMapping(m M) V
}

// Build converts n with b, by Value's rules.
func Build[V, S, M any, B Builder[V, S, M]](b B, n *yaml.Node, opts Options) (V, error) {
	w := walker[V, S, M, B]{b: b, budget: opts.Budget, dropIgnored: opts.DropIgnored, strict: opts.Strict}
	return w.value(n, 0)
}

type walker[V, S, M any, B Builder[V, S, M]] struct {
	b           B
	budget      int
	dropIgnored bool
	strict      bool
}

func (w *walker[V, S, M, B]) value(n *yaml.Node, depth int) (V, error) {
	var zero V
	if depth > MaxDepth {
		return zero, &Error{n, fmt.Errorf("nesting deeper than %d", MaxDepth)}
	}
	if w.budget--; w.budget < 0 {
		return zero, ErrTooManyValues
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return w.b.Null(), nil
		}
		return w.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		return w.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		seq := w.b.Sequence(len(n.Content))
		for _, c := range n.Content {
			v, err := w.value(c, depth+1)
			if err != nil {
				return zero, err
			}
			seq = w.b.Append(seq, v)
		}
		return w.b.EndSequence(seq), nil
	case yaml.MappingNode:
		m := w.b.Mapping(len(n.Content) / 2)
		m, err := w.mapping(m, n, depth)
		if err != nil {
			return zero, err
		}
		return w.b.EndMapping(m), nil
	case yaml.ScalarNode:
		if IsText(n) {
			return w.b.Text(n), nil
		}
		v, err := Scalar(n)
		if err != nil {
			return zero, err
		}
		return w.b.Scalar(v)
	}
	return zero, &Error{n, fmt.Errorf("unexpected YAML node kind %d", n.Kind)}
}

// mapping sets n's pairs in m, in order: a merge key sets its mappings'
// keys where it stands (MergeSources), as later keys set theirs.
func (w *walker[V, S, M, B]) mapping(m M, n *yaml.Node, depth int) (M, error) {
	if depth > MaxDepth { // a merge key's mapping that merges itself
		return m, &Error{n, fmt.Errorf("nesting deeper than %d", MaxDepth)}
	}
	var keyLine map[string]int // the keys set so far, when strict
	if w.strict {
		keyLine = make(map[string]int, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if IsMerge(k) {
			sources, err := MergeSources(v)
			if err != nil {
				return m, err
			}
			for _, s := range sources {
				if m, err = w.mapping(m, s, depth+1); err != nil {
					return m, err
				}
			}
			continue
		}
		if w.dropIgnored && k.Tag == "!ignore" {
			continue
		}
		key, err := Key(k)
		if err != nil {
			return m, err
		}
		if keyLine != nil {
			if l, dup := keyLine[key]; dup {
				return m, &Error{k, fmt.Errorf("mapping key %q already defined at line %d", key, l)}
			}
			keyLine[key] = k.Line
		}
		val, err := w.value(v, depth+1)
		if err != nil {
			return m, err
		}
		m = w.b.Set(m, key, val)
	}
	return m, nil
}

// plainValues builds Value's plain Go values.
type plainValues struct{}

func (plainValues) Null() any                 { return nil }
func (plainValues) Text(n *yaml.Node) any     { return n.Value }
func (plainValues) Scalar(v any) (any, error) { return v, nil }

func (plainValues) Sequence(size int) []any     { return make([]any, 0, size) }
func (plainValues) Append(s []any, v any) []any { return append(s, v) }
func (plainValues) EndSequence(s []any) any     { return s }

func (plainValues) Mapping(size int) map[string]any { return make(map[string]any, size) }

func (plainValues) Set(m map[string]any, key string, v any) map[string]any {
	m[key] = v
	return m
}

func (plainValues) EndMapping(m map[string]any) any { return m }

// IsMerge reports a merge key (<<).
func IsMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Tag == "!!merge"
}

// MergeSources is what a merge key's value v merges: its mappings in the
// order to set their keys, so that of a list the first one's win, as the
// API server reads it.
func MergeSources(v *yaml.Node) ([]*yaml.Node, error) {
	src := v
	if src.Kind == yaml.AliasNode {
		src = src.Alias
	}
	if src.Kind == yaml.MappingNode {
		return []*yaml.Node{src}, nil
	}
	if src.Kind != yaml.SequenceNode {
		return nil, &Error{v, errors.New("merge key (<<) value is not a mapping")}
	}
	out := make([]*yaml.Node, 0, len(src.Content))
	for i := len(src.Content) - 1; i >= 0; i-- {
		s := src.Content[i]
		if s.Kind == yaml.AliasNode {
			s = s.Alias
		}
		if s.Kind != yaml.MappingNode {
			return nil, &Error{v, errors.New("merge key (<<) value is not a mapping")}
		}
		out = append(out, s)
	}
	return out, nil
}

// Key is a mapping key's text as the API server reads it: a string as it
// is, a boolean, integer or float as sigs.k8s.io/yaml prints it. A null or
// a collection is no key.
func Key(k *yaml.Node) (string, error) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", &Error{k, errors.New("mapping key is not a scalar")}
	}
	if IsText(k) {
		return k.Value, nil // most keys: a word
	}
	raw, err := resolve(k)
	if err != nil {
		return "", err
	}
	switch r := raw.(type) {
	case string:
		return r, nil
	case bool:
		return strconv.FormatBool(r), nil
	case int64:
		return strconv.FormatInt(r, 10), nil
	case float64:
		// sigs.k8s.io/yaml prints a float key at float32 precision.
		switch s := strconv.FormatFloat(r, 'g', -1, 32); s {
		case "+Inf":
			return ".inf", nil
		case "-Inf":
			return "-.inf", nil
		case "NaN":
			return ".nan", nil
		default:
			return s, nil
		}
	}
	return "", &Error{k, fmt.Errorf("mapping key %q is not a string, number or boolean", k.Value)}
}

// Scalar is a scalar node's value: nil, a bool, an int64, a float64 or a
// string.
func Scalar(n *yaml.Node) (any, error) {
	if IsText(n) {
		return n.Value, nil // most values
	}
	raw, err := resolve(n)
	if err != nil {
		return nil, err
	}
	switch r := raw.(type) {
	case uint64:
		return float64(r), nil // beyond int64: read back from JSON as a float
	case float64:
		return jsonFloat(n, r)
	}
	return raw, nil
}

// IsText reports a scalar whose value is its text as it stands, which most
// are: a string, untagged, that is not a YAML 1.1 boolean.
func IsText(n *yaml.Node) bool {
	return n.Tag == strTag && n.Style&yaml.TaggedStyle == 0 && (n.Style != 0 || !IsBoolWord(n.Value))
}

// jsonFloat is what a float reads back as from the JSON it is written as:
// encoding/json writes a value under 1e21 in its shortest digits without an
// exponent ("1000", "-9223372036854776000"), and apimachinery reads digits
// without a fraction as an int64 when they fit.
func jsonFloat(n *yaml.Node, f float64) (any, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, &Error{n, fmt.Errorf("number %s has no JSON form", n.Value)}
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		if i, err := strconv.ParseInt(strconv.FormatFloat(f, 'f', -1, 64), 10, 64); err == nil {
			return i, nil
		}
	}
	return f, nil
}

// resolve is a scalar's YAML 1.1 value as go.yaml.in/yaml/v2 makes it: nil,
// bool, int64, uint64 (beyond int64), float64 or string. The library (v3)
// has already resolved a plain scalar's tag by the YAML 1.2 core schema,
// which differs from 1.1 for those in isBoolWord alone.
func resolve(n *yaml.Node) (any, error) {
	tagged := n.Style&yaml.TaggedStyle != 0
	if !tagged && n.Style != 0 {
		return n.Value, nil // quoted, literal or folded: text
	}
	tag := n.Tag
	if tagged {
		switch tag {
		case strTag, "!!timestamp":
			return n.Value, nil
		case "!!binary":
			b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), ""))
			if err != nil {
				return nil, &Error{n, fmt.Errorf("!!binary value: %v", err)}
			}
			return string(b), nil
		case nullTag, boolTag, "!!int", "!!float":
			// The text read as a plain scalar, which must be of the tag's
			// type (an integer may be a float).
			plain := yaml.Node{Kind: yaml.ScalarNode, Value: n.Value}
			plain.Tag = plain.ShortTag()
			v, err := resolve(&plain)
			if err != nil {
				return nil, err
			}
			got := typeTag(v)
			if got == tag {
				return v, nil
			}
			if i, ok := v.(int64); ok && tag == "!!float" {
				return float64(i), nil // not a uint64: the library refuses that
			}
			return nil, &Error{n, fmt.Errorf("cannot decode %s `%s` as a %s", got, n.Value, tag)}
		default:
			return n.Value, nil // a tag of the application's: its text
		}
	}
	v := n.Value
	switch tag {
	case nullTag:
		return nil, nil
	case boolTag:
		return v[0] == 't' || v[0] == 'T', nil
	case strTag:
		if b, ok := boolWord(v); ok {
			return b, nil
		}
		return v, nil
	case "!!int":
		return resolveInt(n)
	case "!!float":
		return resolveFloat(n)
	}
	return v, nil // !!timestamp and the rest: text
}

// boolWord is the value of the YAML 1.1 booleans YAML 1.2 reads as
// strings; ok is false for any other text.
func boolWord(s string) (value, ok bool) {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON":
		return true, true
	case "n", "N", "no", "No", "NO", "off", "Off", "OFF":
		return false, true
	}
	return false, false
}

// IsBoolWord reports y, yes, on, n, no, off and their casings: booleans to
// the API server, strings to a YAML 1.2 reader, so a string spelled so
// must be quoted.
func IsBoolWord(s string) bool {
	_, ok := boolWord(s)
	return ok
}

// resolveInt reads an integer as the library resolved it: underscores
// dropped, a sign and a base prefix (0x, 0o, 0b, or 0 for octal) followed,
// which strconv's base 0 reads.
func resolveInt(n *yaml.Node) (any, error) {
	plain := strings.ReplaceAll(n.Value, "_", "")
	if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return u, nil
	}
	// Both libraries read what follows 0b on its own, a sign and all.
	if rest, ok := strings.CutPrefix(plain, "0b"); ok {
		if i, err := strconv.ParseInt(rest, 2, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(rest, 2, 64); err == nil {
			return u, nil
		}
	} else if rest, ok := strings.CutPrefix(plain, "-0b"); ok {
		if i, err := strconv.ParseInt("-"+rest, 2, 64); err == nil {
			return i, nil
		}
	}
	// The library (v3) reads 0o the same way; YAML 1.1 does not, and the
	// text stays text.
	return n.Value, nil
}

// resolveFloat reads a float: .inf, .nan or digits (underscores dropped).
func resolveFloat(n *yaml.Node) (any, error) {
	v := n.Value
	switch strings.ToLower(strings.TrimPrefix(v, "+")) {
	case ".inf":
		return math.Inf(1), nil
	case "-.inf":
		return math.Inf(-1), nil
	case ".nan":
		return math.NaN(), nil
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), 64)
	if err != nil {
		return nil, &Error{n, fmt.Errorf("number %s is out of range", v)}
	}
	return f, nil
}

// typeTag is the tag of a value resolve returns.
func typeTag(v any) string {
	switch v.(type) {
	case nil:
		return nullTag
	case bool:
		return boolTag
	case int64, uint64:
		return "!!int"
	case float64:
		return "!!float"
	}
	return strTag
}
