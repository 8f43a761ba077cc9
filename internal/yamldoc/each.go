package yamldoc

import (
	"bytes"
	"errors"
	"io"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Each calls fn with the root node of each document of data, in order,
// and its index in the stream (0-based, empty documents counted). When
// skip is not nil and says yes to a document's kind, the document's root
// may hold its "kind" alone: the caller reads no more of it.
//
// A document that does not parse is an error, with its line in the stream
// as the library words it ("yaml: line N: ..."); the documents before it
// have been passed to fn.
//
// Each document is its own: an alias cannot refer to an anchor of an
// earlier document, as the YAML spec has it (a library reading the whole
// stream lets it), and an error is blamed on the document that has it,
// where one reading the whole stream, which reads ahead, can fail a
// document for its successor's first line.
func Each(data []byte, skip func(kind string) bool, fn func(root *yaml.Node, index int)) error {
	index := 0
	var sc scratch
	for _, seg := range Split(data) {
		if root, _ := fast(seg, skip, &sc); root != nil {
			fn(root, index)
			index++
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(seg.Text))
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return shiftError(err, seg.Line)
			}
			if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
				continue
			}
			if seg.Line > 0 {
				shiftLines(doc.Content[0], seg.Line)
			}
			fn(doc.Content[0], index)
			index++
		}
	}
	return nil
}

// fast reads seg without the library when a fast path takes it: skipped
// to its kind (skipped is true), or built; nil when neither does.
func fast(seg Segment, skip func(kind string) bool, sc *scratch) (root *yaml.Node, skipped bool) {
	text, line0 := seg.Text, seg.Line
	var check skipScanner // for its check of each line's characters
	if l := text[:lineEnd(text, 0)]; IsMarker(l, '-') {
		if !blankOrComment(l[3:]) || len(l) > 3 && l[3] != ' ' || !check.allowed(l) {
			return nil, false
		}
		if len(l) == len(text) {
			return nil, false // "---" alone: an empty document
		}
		text, line0 = text[len(l)+1:], line0+1
	}
	// The fast paths start at the root's first key.
	for len(text) > 0 {
		l := text[:lineEnd(text, 0)]
		if n := indentOf(l); n < len(l) && l[n] != '#' {
			break
		}
		if !check.allowed(l) {
			return nil, false
		}
		if len(l) == len(text) {
			return nil, false
		}
		text, line0 = text[len(l)+1:], line0+1
	}
	if len(text) == 0 {
		return nil, false
	}
	if skip != nil {
		if s, ok := scanSkippable(text, skip); ok && s.end == len(text) {
			return kindOnly(s, line0), true
		}
	}
	return build(text, line0, sc), false
}

// kindOnly is the root of a skipped document: a mapping that holds the
// document's "kind" alone, where the document has it.
func kindOnly(s skipScan, line0 int) *yaml.Node {
	nodes := new([3]yaml.Node)
	root, key, value := &nodes[0], &nodes[1], &nodes[2]
	line := line0 + 1
	*root = yaml.Node{Kind: yaml.MappingNode, Tag: mapTag, Line: line, Column: 1, Content: []*yaml.Node{key, value}}
	*key = yaml.Node{Kind: yaml.ScalarNode, Tag: strTag, Value: "kind", Style: s.keyStyle, Line: line + s.key.line, Column: 1}
	*value = yaml.Node{Kind: yaml.ScalarNode, Tag: strTag, Value: s.kind, Style: s.style, Line: line + s.value.line, Column: s.value.column + 1}
	if s.style == 0 {
		value.Tag = resolvedTag(s.kind)
	}
	return root
}

// shiftLines adds lines to the line of every node of the tree at n: the
// library counts a document's lines from its own text's start.
func shiftLines(n *yaml.Node, lines int) {
	n.Line += lines
	for _, c := range n.Content {
		shiftLines(c, lines)
	}
}

// shiftError is err with the first line number in its message moved down
// by lines, so that it counts from the stream's start.
func shiftError(err error, lines int) error {
	msg := err.Error()
	m := lineRE.FindStringSubmatchIndex(msg)
	if lines == 0 || m == nil {
		return err
	}
	n, _ := strconv.Atoi(msg[m[2]:m[3]])
	return errors.New(msg[:m[2]] + strconv.Itoa(n+lines) + msg[m[3]:])
}
