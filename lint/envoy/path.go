package envoy

import (
	"fmt"
	"slices"
	"strings"
)

// ParseError is a config Envoy would reject (or that does not parse),
// with the path of the offending field when one is known, and the reason.
type ParseError struct {
	// Path of the offending field in the document: string keys as written
	// (snake_case or lowerCamelCase) and int indices. Empty for the whole
	// document.
	Path   []any
	Reason string
}

func (e *ParseError) Error() string {
	if len(e.Path) == 0 {
		return "envoy config: " + e.Reason
	}
	return "envoy config: " + formatPath(e.Path) + ": " + e.Reason
}

// formatPath renders a path as a.b[2].c.
func formatPath(p []any) string {
	var b strings.Builder
	for i, seg := range p {
		if n, ok := seg.(int); ok {
			fmt.Fprintf(&b, "[%d]", n)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprint(&b, seg)
	}
	return b.String()
}

// pathSeg is one step of a path through messages: a field (by proto and
// JSON name), a list index, or a map key.
type pathSeg struct {
	field, json string
	key         string
	isKey       bool
	index       int
	isIndex     bool
}

func fieldSeg(name, json string) pathSeg { return pathSeg{field: name, json: json} }
func indexSeg(i int) pathSeg             { return pathSeg{index: i, isIndex: true} }
func keySeg(k string) pathSeg            { return pathSeg{key: k, isKey: true} }

// docPath turns a path through messages, starting at the value found at
// base in doc, into a path in doc: keys as the document writes them, and no
// index where the document gives a single value in place of a list. It stops
// at the deepest part that exists.
func docPath(doc any, base []any, segs []pathSeg) []any {
	out := slices.Clone(base)
	if out == nil {
		out = []any{}
	}
	cur := valueAt(doc, base)
	for _, s := range segs {
		switch {
		case s.isIndex:
			l, ok := cur.([]any)
			if !ok {
				if s.index == 0 && cur != nil {
					continue // a single value in place of a list
				}
				return out
			}
			if s.index >= len(l) {
				return out
			}
			out = append(out, s.index)
			cur = l[s.index]
		default:
			m, ok := asObject(cur)
			if !ok {
				return out
			}
			keys := []string{s.key}
			if !s.isKey {
				keys = []string{s.field, s.json}
			}
			found := false
			for _, k := range keys {
				if v, ok := m[k]; ok {
					out = append(out, k)
					cur = v
					found = true
					break
				}
			}
			if !found {
				return out
			}
		}
	}
	return out
}

// valueAt is the value at path in doc, or nil.
func valueAt(doc any, path []any) any {
	cur := doc
	for _, seg := range path {
		if i, ok := seg.(int); ok {
			l, ok := cur.([]any)
			if !ok || i < 0 || i >= len(l) {
				return cur // a single value in place of a list
			}
			cur = l[i]
			continue
		}
		m, ok := asObject(cur)
		if !ok {
			return nil
		}
		cur = m[fmt.Sprint(seg)]
	}
	return cur
}
