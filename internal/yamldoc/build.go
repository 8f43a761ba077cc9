package yamldoc

import (
	"bytes"
	"unicode/utf8"
	"unsafe"

	"go.yaml.in/yaml/v3"
)

// The builder: the node tree of a document in plain block YAML, built from
// its lines without a parser.
//
// A document is taken when scanBuildable accepts it (the subset the line
// check knows, any kind or none: the library parses every such document
// without error) and the builder knows every construct in it: block
// mappings and sequences, plain scalars over one line or several, quoted
// scalars (escapes and folds), literal and folded block scalars with
// content, empty values, empty flow collections ([] and {}) and comments.
// On anything else (a block scalar without content, a merge key) it gives
// up, and the library parses the document. The nodes are those the library
// builds: kinds, tags, styles, values and positions (lines, and columns in
// characters); comments aside, which lint does not read.

// build builds the document whose text is text, from its root's first key
// on, at 0-based line line0 of its input, and returns its root node; nil
// when it gives up. sc is scratch space that serves one document after
// another.
func build(text []byte, line0 int, sc *scratch) *yaml.Node {
	if s, ok := scanBuildable(text); !ok || s.end != len(text) {
		return nil // not in the subset, or a stream left whole that goes on
	}
	b := builder{text: text, line0: line0, starts: sc.starts[:0], buf: sc.buf[:0], stack: sc.stack[:0]}
	b.split()
	b.arena = make([]byte, 0, len(text))
	b.slab = make([]yaml.Node, 0, 2*b.lines()+4)
	root := b.mapping(0, 0)
	clear(b.stack[:cap(b.stack)]) // no pointer into the tree stays behind
	sc.starts, sc.buf, sc.stack = b.starts, b.buf, b.stack
	if root == nil || b.i != b.lines() {
		return nil
	}
	return root
}

// scratch is the builder's space that holds no part of a tree it built,
// kept from one document to the next.
type scratch struct {
	starts []int
	buf    []byte
	stack  []*yaml.Node
}

// builder builds the nodes of one document's text. Each node's
// builder starts at its first line (b.i) and leaves b.i at the next line
// with content after the node (or at the end).
type builder struct {
	text   []byte
	starts []int // where each line starts, then where a next one would: len(text), or len(text)+1 after a last line with no line break
	line0  int   // the text's first line in the input, 0-based
	i      int   // the current line

	slab  []yaml.Node  // nodes are carved out of it: one allocation for many
	arena []byte       // the values' text: one allocation for many
	ptrs  []*yaml.Node // Content slices are carved out of it
	stack []*yaml.Node // the children of the collections being built
	buf   []byte       // scratch space for values that are not the text as is
}

// close gives collection n the children on the stack from first on, in a
// Content slice of their number carved out of ptrs, and takes them off.
func (b *builder) close(n *yaml.Node, first int) *yaml.Node {
	kids := b.stack[first:]
	if cap(b.ptrs)-len(b.ptrs) < len(kids) {
		b.ptrs = make([]*yaml.Node, 0, max(len(kids), 2*b.lines()))
	}
	start := len(b.ptrs)
	b.ptrs = append(b.ptrs, kids...)
	n.Content = b.ptrs[start:len(b.ptrs):len(b.ptrs)]
	clear(kids)
	b.stack = b.stack[:first]
	return n
}

// split lists the lines of the text. The last one's end is one past the
// text when it has no line break.
func (b *builder) split() {
	i := 0
	for i < len(b.text) {
		b.starts = append(b.starts, i)
		j := bytes.IndexByte(b.text[i:], '\n')
		if j < 0 {
			i = len(b.text) + 1
			break
		}
		i += j + 1
	}
	b.starts = append(b.starts, i)
}

func (b *builder) lines() int { return len(b.starts) - 1 }

// line is line i without its line break.
func (b *builder) line(i int) []byte {
	return b.text[b.starts[i]:min(b.starts[i+1]-1, len(b.text))]
}

// broken says whether line i ends with a line break (the last line of the
// input may not).
func (b *builder) broken(i int) bool { return b.starts[i+1]-1 < len(b.text) }

// next moves b.i to the first line after line i with content: neither
// blank nor a comment.
func (b *builder) next(i int) {
	for i++; i < b.lines(); i++ {
		l := b.line(i)
		if n := indentOf(l); n < len(l) && l[n] != '#' {
			break
		}
	}
	b.i = i
}

// node is a new node at byte off of line i, carved out of the slab.
func (b *builder) node(kind yaml.Kind, tag string, style yaml.Style, value string, i, off int) *yaml.Node {
	if len(b.slab) == cap(b.slab) {
		b.slab = make([]yaml.Node, 0, 64)
	}
	b.slab = b.slab[:len(b.slab)+1]
	n := &b.slab[len(b.slab)-1]
	n.Kind, n.Tag, n.Value, n.Style = kind, tag, value, style
	n.Line = b.line0 + i + 1
	n.Column = column(b.line(i)[:off]) + 1
	return n
}

// column is the number of characters in prefix.
func column(prefix []byte) int {
	for _, c := range prefix {
		if c >= utf8.RuneSelf {
			return utf8.RuneCount(prefix)
		}
	}
	return len(prefix)
}

// str is s as a string in the arena. The arena's bytes are never written
// again once a string refers to them (a full arena is replaced, not
// reused), so the strings may share them.
func (b *builder) str(s []byte) string {
	if len(s) == 0 {
		return ""
	}
	if cap(b.arena)-len(b.arena) < len(s) {
		b.arena = make([]byte, 0, max(len(s), 1024))
	}
	start := len(b.arena)
	b.arena = append(b.arena, s...)
	return unsafe.String(&b.arena[start], len(s))
}

// scratchStr is str(s) for s written into the scratch buffer (buf[:0]
// appended to), whose array, grown, serves the next value.
func (b *builder) scratchStr(s []byte) string {
	b.buf = s[:0]
	return b.str(s)
}

// mapping builds the block mapping whose first key is at byte off of line
// b.i, at indentation n.
func (b *builder) mapping(n, off int) *yaml.Node {
	m := b.node(yaml.MappingNode, mapTag, 0, "", b.i, off)
	first := len(b.stack)
	for {
		rest := b.line(b.i)[off:]
		k := keyEnd(rest)
		if k < 0 {
			return nil
		}
		key := b.scalarText(rest[:k], b.i, off)
		if key == nil || key.Style == 0 && key.Value == "<<" {
			return nil // an escape it cannot decode, or a merge key: left to the library
		}
		j := k + 1
		for j < len(rest) && rest[j] == ' ' {
			j++
		}
		var value *yaml.Node
		if v := rest[j:]; len(v) == 0 || v[0] == '#' {
			value = b.nested(n, true, off+k+1) // a null goes right after the ":"
		} else {
			value = b.value(off+j, n, true)
		}
		if value == nil {
			return nil
		}
		b.stack = append(b.stack, key, value)
		if b.i == b.lines() {
			return b.close(m, first)
		}
		l := b.line(b.i)
		if ind := indentOf(l); ind != n || isEntry(l[ind:]) {
			return b.close(m, first)
		}
		off = n
	}
}

// sequence builds the block sequence whose first "-" starts line b.i, at
// indentation n.
func (b *builder) sequence(n int) *yaml.Node {
	s := b.node(yaml.SequenceNode, seqTag, 0, "", b.i, n)
	first := len(b.stack)
	for {
		rest := b.line(b.i)[n:]
		j := 1
		for j < len(rest) && rest[j] == ' ' {
			j++
		}
		var item *yaml.Node
		switch v := rest[j:]; {
		case len(v) == 0 || v[0] == '#':
			item = b.nested(n, false, n+1) // a null goes right after the "-"
		case keyEnd(v) >= 0:
			item = b.mapping(n+j, n+j) // a compact mapping
		default:
			item = b.value(n+j, n, true)
		}
		if item == nil {
			return nil
		}
		b.stack = append(b.stack, item)
		if b.i == b.lines() {
			return b.close(s, first)
		}
		l := b.line(b.i)
		if ind := indentOf(l); ind != n || !isEntry(l[ind:]) {
			return b.close(s, first)
		}
	}
}

// nested builds the node under a key or "-" with nothing after it on its
// line b.i, whose collection is at indentation parent: a collection or a
// scalar on the lines after it, or else an empty value, a null that the library
// puts right after the ":" or "-" (at byte nullOff of that line, the
// token's end mark). sameSeq allows a sequence at the parent's own
// indentation (under a key).
func (b *builder) nested(parent int, sameSeq bool, nullOff int) *yaml.Node {
	i := b.i
	b.next(i)
	if b.i < b.lines() {
		l := b.line(b.i)
		n := indentOf(l)
		rest := l[n:]
		switch {
		case n > parent && isEntry(rest), n == parent && sameSeq && isEntry(rest):
			return b.sequence(n)
		case n > parent && keyEnd(rest) >= 0:
			return b.mapping(n, n)
		case n > parent:
			return b.value(n, parent, false)
		}
	}
	return b.node(yaml.ScalarNode, nullTag, 0, "", i, nullOff)
}

// value builds the scalar (or empty flow collection) at byte off of line
// b.i, in a collection at indentation parent; block says whether a block
// scalar may start there.
func (b *builder) value(off, parent int, block bool) *yaml.Node {
	i := b.i
	v := b.line(i)[off:]
	switch v[0] {
	case '\'', '"':
		end, _, ok := quotedEnd(v)
		if !ok {
			return nil
		}
		if end < 0 {
			return b.quoted(off)
		}
		n := b.scalarText(v[:end], i, off)
		b.next(i)
		return n
	case '[', '{':
		n := b.node(yaml.SequenceNode, seqTag, yaml.FlowStyle, "", i, off)
		if v[0] == '{' {
			n.Kind, n.Tag = yaml.MappingNode, mapTag
		}
		b.next(i)
		return n
	case '|', '>':
		if !block {
			return nil
		}
		return b.blockScalar(v, off, parent)
	}
	return b.plain(off, parent+1)
}

// scalarText is the scalar written as t (a key, or a value on one line)
// at byte off of line i: plain, or quoted with its quotes.
func (b *builder) scalarText(t []byte, i, off int) *yaml.Node {
	switch t[0] {
	case '\'':
		return b.node(yaml.ScalarNode, strTag, yaml.SingleQuotedStyle, b.str(singleQuoted(t)), i, off)
	case '"':
		body := t[1 : len(t)-1]
		if bytes.IndexByte(body, '\\') < 0 {
			return b.node(yaml.ScalarNode, strTag, yaml.DoubleQuotedStyle, b.str(body), i, off)
		}
		s, ok := unescape(b.buf[:0], body)
		if !ok {
			return nil
		}
		return b.node(yaml.ScalarNode, strTag, yaml.DoubleQuotedStyle, b.scratchStr(s), i, off)
	}
	value := b.str(bytes.TrimRight(t, " "))
	return b.node(yaml.ScalarNode, resolvedTag(value), 0, value, i, off)
}

// plain builds the plain scalar at byte off of line b.i, which lines
// indented at least minCol continue, folded as the library folds them: one
// line break is a space, and n blank lines are n line breaks.
func (b *builder) plain(off, minCol int) *yaml.Node {
	first := b.i
	v := b.line(first)[off:]
	end, _ := plainEnd(v)
	text := bytes.TrimRight(v[:end], " ")
	last := first
	var folded []byte
	if end == len(v) {
		blank := 0
		for i := first + 1; i < b.lines(); i++ {
			l := b.line(i)
			n := indentOf(l)
			if n == len(l) {
				blank++
				continue
			}
			if l[n] == '#' || n < minCol {
				break
			}
			rest := l[n:]
			e, ok := plainEnd(rest)
			if !ok {
				return nil
			}
			if folded == nil {
				folded = append(b.buf[:0], text...)
			}
			if blank == 0 {
				folded = append(folded, ' ')
			}
			for ; blank > 0; blank-- {
				folded = append(folded, '\n')
			}
			folded = append(folded, bytes.TrimRight(rest[:e], " ")...)
			last = i
			if e < len(rest) {
				break // a comment ends it
			}
		}
	}
	var value string
	if folded != nil {
		value = b.scratchStr(folded)
	} else {
		value = b.str(text)
	}
	if value == "<<" {
		return nil // a merge tag: left to the library
	}
	n := b.node(yaml.ScalarNode, resolvedTag(value), 0, value, first, off)
	b.next(last)
	return n
}

// blockScalar builds the block scalar whose header ("|" or ">", then "-",
// "+" or nothing) starts v, at byte off of line b.i, in a collection at
// indentation parent: its content is the lines after it indented past
// parent. Its text is the library's: the lines without their indentation, the
// line breaks between them kept (literal) or folded into spaces between
// lines that do not start with a space (folded), the last ones chomped.
func (b *builder) blockScalar(v []byte, off, parent int) *yaml.Node {
	head := b.i
	folded := v[0] == '>'
	chomp := byte(0)
	if len(v) > 1 && (v[1] == '-' || v[1] == '+') {
		chomp = v[1]
	}
	content := 0
	lastContent := -1
	end := head + 1 // one past the scalar's last line
	for i := head + 1; i < b.lines(); i++ {
		l := b.line(i)
		n := indentOf(l)
		if n == len(l) && (content == 0 || n <= content) {
			end = i + 1 // an empty line
			continue
		}
		if content == 0 {
			if n <= parent {
				break
			}
			content = n
		}
		if n < content {
			break
		}
		lastContent, end = i, i+1
	}
	if lastContent < 0 {
		return nil // no content: left to the library
	}
	s := b.buf[:0]
	// As in the library's scanner: leadingBreak and leadingBlank are its
	// leading_break and leading_blank (the last content line's), blank
	// its trailing_blank (this line's), breaks its trailing_breaks.
	breaks := 0           // empty lines since the last content line
	leadingBreak := false // the last content line's line break, not yet written
	leadingBlank := false // whether the last content line starts with a space
	for i := head + 1; i <= lastContent; i++ {
		l := b.line(i)
		if len(l) <= content && indentOf(l) == len(l) {
			breaks++
			continue
		}
		blank := l[content] == ' '
		if leadingBreak {
			if !folded || leadingBlank || blank {
				s = append(s, '\n')
			} else if breaks == 0 {
				s = append(s, ' ')
			}
		}
		for ; breaks > 0; breaks-- {
			s = append(s, '\n')
		}
		s = append(s, l[content:]...)
		leadingBreak, leadingBlank = b.broken(i), blank
	}
	if chomp != '-' && leadingBreak {
		s = append(s, '\n')
	}
	if chomp == '+' {
		for i := lastContent + 1; i < end; i++ {
			if b.broken(i) {
				s = append(s, '\n')
			}
		}
	}
	style := yaml.LiteralStyle
	if folded {
		style = yaml.FoldedStyle
	}
	n := b.node(yaml.ScalarNode, strTag, style, b.scratchStr(s), head, off)
	b.next(end - 1)
	return n
}

// quoted builds the quoted scalar at byte off of line b.i that goes on
// over the lines after it, whatever their indentation, folded as the library
// folds it: a line break between two lines' text is a space, n empty lines
// are n line breaks, and an escaped line break (double quotes) is nothing;
// the blanks around a line break are dropped.
func (b *builder) quoted(off int) *yaml.Node {
	first := b.i
	q := b.line(first)[off]
	s := b.buf[:0]
	pos := off + 1
	for i := first; i < b.lines(); {
		l := b.line(i)
		keep := len(s) // s without the blanks at the line's end
		escapedBreak := false
		j := pos
	line:
		for j < len(l) {
			c := l[j]
			switch {
			case c == q && q == '\'' && j+1 < len(l) && l[j+1] == '\'':
				s = append(s, '\'')
				j += 2
			case c == q:
				v := b.scratchStr(s)
				style := yaml.SingleQuotedStyle
				if q == '"' {
					style = yaml.DoubleQuotedStyle
				}
				n := b.node(yaml.ScalarNode, strTag, style, v, first, off)
				b.next(i)
				return n
			case c == '\\' && q == '"':
				if j+1 == len(l) {
					escapedBreak = true
					break line
				}
				var n int
				var ok bool
				if s, n, ok = appendEscape(s, l[j+1:]); !ok {
					return nil
				}
				j += 1 + n
			case c == ' ':
				s = append(s, c)
				j++
				continue
			default:
				s = append(s, c)
				j++
			}
			keep = len(s)
		}
		if !escapedBreak {
			s = s[:keep]
		}
		breaks := 0
		for i++; i < b.lines(); i++ {
			if l := b.line(i); indentOf(l) != len(l) {
				break
			}
			breaks++
		}
		if !escapedBreak && breaks == 0 {
			s = append(s, ' ')
		}
		for ; breaks > 0; breaks-- {
			s = append(s, '\n')
		}
		if i < b.lines() {
			pos = indentOf(b.line(i))
		}
	}
	return nil // not closed: the library reports it
}

// singleQuoted is the text of a single-quoted scalar on one line, t with
// its quotes.
func singleQuoted(t []byte) []byte {
	t = t[1 : len(t)-1]
	if bytes.IndexByte(t, '\'') < 0 {
		return t
	}
	return bytes.ReplaceAll(t, []byte("''"), []byte("'"))
}

// unescape appends t, a double-quoted scalar's text on one line, to s with
// its escapes decoded as the library decodes them.
func unescape(s, t []byte) ([]byte, bool) {
	for j := 0; j < len(t); j++ {
		if t[j] != '\\' {
			s = append(s, t[j])
			continue
		}
		var n int
		var ok bool
		if s, n, ok = appendEscape(s, t[j+1:]); !ok {
			return nil, false
		}
		j += n
	}
	return s, true
}

// appendEscape appends the text of the escape whose "\\" comes right
// before t to s, and says how many bytes of t it takes. The document's
// check (quotedRest) has refused the escapes the library refuses, surrogates
// and code points past Unicode's among them.
func appendEscape(s, t []byte) (_ []byte, size int, ok bool) {
	if len(t) == 0 {
		return s, 0, false
	}
	switch digits := escapeDigits(t[0]); {
	case digits < 0 || len(t) < 1+digits:
		return s, 0, false
	case digits == 0:
		return append(s, escapeTexts[t[0]]...), 1, true
	default:
		r, ok := escapeHex(t[1 : 1+digits])
		return utf8.AppendRune(s, r), 1 + digits, ok
	}
}
