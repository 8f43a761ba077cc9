package lint

import (
	"fmt"
	"math"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/inzone-io/inzone/internal/yamldoc"
	"github.com/inzone-io/inzone/report"
)

// Document is one YAML or JSON document of a file, with the node tree that
// gives every field its position.
type Document struct {
	File  string
	Index int // 0-based position in the file's stream (List items share their List's)
	// Node is the document's root content node.
	Node *yaml.Node
	// Base is added to positions inside Node: an Envoy config embedded in a
	// ConfigMap value is its own YAML text, whose line 1 is somewhere in File.
	Base Position

	// The plain value is built on first use (Decode): most bytes of a
	// typical repository are CRDs and other kinds no rule reads.
	value   any
	decoded bool
	err     error
	budget  int
}

// Decode returns Node as plain Go values (map[string]any, []any, string,
// int64, float64, bool, nil), ready for Rego or Envoy parsing: what the
// API server reads from the same text (yamldoc.Value), with Envoy's !ignore
// keys dropped. Aliases are expanded within a budget, so a document that
// would expand without bound is an error.
func (d *Document) Decode() (any, error) {
	if !d.decoded {
		d.decoded = true
		if d.Node != nil {
			d.value, d.err = yamldoc.Value(d.Node, yamldoc.Options{Budget: d.budget, DropIgnored: true})
			if d.err != nil {
				d.err = fmt.Errorf("line %d: %w", d.Node.Line, d.err)
			}
		}
	}
	return d.value, d.err
}

// Kind is the document's top-level kind, read from the node without
// decoding the document; "" when it has none.
func (d *Document) Kind() string {
	k := mappingValue(d.Node, "kind")
	for k != nil && k.Kind == yaml.AliasNode {
		k = k.Alias
	}
	if k == nil || k.Kind != yaml.ScalarNode {
		return ""
	}
	return k.Value
}

// Position is a 1-based line and column; zero means unknown.
type Position struct {
	Line, Column int
}

// ParseDocuments splits a YAML (or JSON) stream into documents. A document
// that does not parse is an error with its line; the documents before it
// are still returned, so a caller can report the error and use the rest.
// `kind: List` documents are expanded into their items.
func ParseDocuments(file string, data []byte) ([]*Document, error) {
	var docs []*Document
	err := EachDocument(file, data, func(d *Document) { docs = append(docs, d) })
	return docs, err
}

// EachDocument is ParseDocuments one document at a time, so only one
// document's node tree is alive at once (a 2 MB install.yaml of CRDs would
// otherwise be held whole).
func EachDocument(file string, data []byte, fn func(*Document)) error {
	return eachDocument(file, data, nil, fn)
}

// eachDocument is EachDocument where skip, when not nil, names the kinds
// of documents the caller will not read beyond their Kind: such a document
// in plain block YAML is checked line by line and its node tree holds its
// "kind" alone (yamldoc.Each), which saves parsing every CRD.
func eachDocument(file string, data []byte, skip func(kind string) bool, fn func(*Document)) error {
	budget := yamldoc.Budget(len(data))
	err := yamldoc.Each(data, skip, func(root *yaml.Node, i int) {
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			return // an empty document between separators
		}
		doc := &Document{File: file, Index: i, Node: root, budget: budget}
		if items, ok := listItems(doc); ok {
			for _, it := range items {
				fn(it)
			}
			return
		}
		fn(doc)
	})
	if err != nil {
		return yamlError(file, data, err)
	}
	return nil
}

// listItems expands a `kind: List` (or any *List kind with items, as
// `kubectl get -o yaml` writes) into one document per item.
func listItems(doc *Document) ([]*Document, bool) {
	if !strings.HasSuffix(doc.Kind(), "List") || mappingValue(doc.Node, "apiVersion") == nil {
		return nil, false
	}
	items := mappingValue(doc.Node, "items")
	if items == nil || items.Kind != yaml.SequenceNode {
		return nil, false
	}
	out := make([]*Document, 0, len(items.Content))
	for _, n := range items.Content {
		out = append(out, &Document{File: doc.File, Index: doc.Index, Node: n, Base: doc.Base, budget: doc.budget})
	}
	return out, true
}

// yamlError turns a yaml.v3 error into a report.FileError at the line a person
// sees (yamldoc.ErrorLine).
func yamlError(file string, data []byte, err error) report.FileError {
	line, msg := yamldoc.ErrorLine(err, data)
	return report.FileError{File: file, Line: line, Message: msg}
}

// mappingValue returns the value node of key in mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Locate returns the position of path (string keys, integer indices) in the
// document: the key of the deepest field that exists, so a finding about an
// unset field points at its parent. Keys match their snake_case and
// lowerCamelCase forms alike, as Envoy's parser does.
func (d *Document) Locate(path []any) Position {
	n := d.Node
	if n == nil {
		return d.Base
	}
	pos := Position{Line: n.Line, Column: n.Column}
	for _, seg := range path {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			key, ok := seg.(string)
			if !ok {
				break
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i].Value; k == key || sameFieldName(k, key) {
					pos = Position{Line: n.Content[i].Line, Column: n.Content[i].Column}
					next = n.Content[i+1]
					break
				}
			}
		case yaml.SequenceNode:
			if i, ok := index(seg); ok && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				pos = Position{Line: next.Line, Column: next.Column}
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return d.offset(pos)
}

// offset maps a position inside Node to the file.
func (d *Document) offset(p Position) Position {
	if d.Base.Line == 0 {
		return p
	}
	return Position{Line: d.Base.Line + p.Line - 1, Column: d.Base.Column + p.Column - 1}
}

func index(seg any) (int, bool) {
	switch v := seg.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case int32:
		return int(v), true
	case float64:
		return int(v), v == math.Trunc(v)
	case interface{ Int64() (int64, error) }: // json.Number
		i, err := v.Int64()
		return int(i), err == nil
	}
	return 0, false
}

// sameFieldName compares a proto field's snake_case and lowerCamelCase
// spellings (local_cluster_name, localClusterName).
func sameFieldName(a, b string) bool {
	if len(a) == 0 || len(b) == 0 || (!strings.Contains(a, "_") && !strings.Contains(b, "_")) {
		return false
	}
	return camel(a) == camel(b)
}

func camel(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	var b strings.Builder
	up := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b.WriteByte(c)
	}
	return b.String()
}
