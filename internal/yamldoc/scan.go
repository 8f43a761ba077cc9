package yamldoc

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The line check: a subset of YAML whose parse is known without a parser.
//
// Most bytes of a typical repository are CRDs, which lint reads no further
// than their kind. Generated CRDs are plain block YAML: mappings and
// sequences by indentation, plain and quoted scalars (some over several
// lines) and block scalars. For such a document, scanSkippable checks its
// lines against that subset, in which every valid document parses without
// error and has a root mapping whose "kind" value is plain text; when the
// whole document is in the subset and its kind is one to skip, no parser
// reads it. scanBuildable checks the same subset, any kind or none, for the
// builder (build.go). Anything outside the subset (anchors, aliases, tags,
// flow collections with content, tabs, CR, characters YAML does not
// allow, directives, "...", indentation a parser would refuse, a kind over
// several lines or with escapes, a kind to keep) gives up, and the library
// parses the document, errors and all.

// skipScan is what scanSkippable found in an accepted document.
type skipScan struct {
	end int // bytes of the text the document takes: up to its "---" line or the end

	key, value mark // line and column relative to the text's start
	kind       string
	keyStyle   yaml.Style // the "kind" key's: it may be quoted
	style      yaml.Style
}

// skipLevel is an open block collection.
type skipLevel struct {
	indent     int
	seq        bool
	indentless bool // a sequence at its parent mapping's indentation
}

// What the line before left open.
const (
	skipAfterNode   = iota // a complete node: the next line is an entry of an open collection
	skipAfterPlain         // a plain scalar, which lines indented at least minCol continue
	skipAfterKey           // a key or "-" with no value on its line: a nested node may follow
	skipBlockScalar        // a block scalar's header: its content follows
	skipInQuoted           // a quoted scalar that goes on over this line
)

type skipScanner struct {
	text    []byte
	s       skipScan
	levels  []skipLevel
	state   int
	minCol  int  // skipAfterPlain: the least indentation of a continuation line
	parent  int  // skipAfterKey, skipBlockScalar: the indentation a nested node must exceed
	sameSeq bool // skipAfterKey: a sequence may nest at the parent's indentation
	content int  // skipBlockScalar: the content's indentation, once known (0 before)
	leading int  // skipBlockScalar: the most spaces of a blank line before the content
	quote   byte // skipInQuoted: the quote that ends the scalar

	kindFound   bool
	kindPending bool // the kind is a plain scalar that the next line could continue
	skip        func(kind string) bool
	// build checks a document for the builder: any kind, or none.
	build bool
}

// mark is a 0-based line and column.
type mark struct{ line, column int }

// skipMaxDepth bounds the nesting the fast path follows; deeper documents
// are parsed as before.
const skipMaxDepth = 512

// scanSkippable checks text, the rest of the input from the start of a
// document's first line with content (its first key, at column 0), as
// that document.
func scanSkippable(text []byte, skip func(kind string) bool) (skipScan, bool) {
	sc := skipScanner{text: text, skip: skip}
	ok := sc.scan()
	return sc.s, ok
}

// scanBuildable checks text as scanSkippable does, the document's kind
// aside, for the builder.
func scanBuildable(text []byte) (skipScan, bool) {
	sc := skipScanner{text: text, build: true}
	ok := sc.scan()
	return sc.s, ok
}

// IsMarker says whether l, a line without its line break, is a document
// marker: "---" when c is '-', "..." when c is '.'.
func IsMarker(l []byte, c byte) bool {
	return len(l) >= 3 && l[0] == c && l[1] == c && l[2] == c && (len(l) == 3 || l[3] == ' ' || l[3] == '\t')
}

func (sc *skipScanner) scan() bool {
	text := sc.text
	i, line := 0, 0
	for i < len(text) {
		end := lineEnd(text, i)
		l := text[i:end]
		if IsMarker(l, '-') {
			if sc.state == skipInQuoted {
				return false // the library: "found unexpected document indicator"
			}
			return sc.finish(i)
		}
		if IsMarker(l, '.') || !sc.allowed(l) || !sc.line(l, line) {
			return false
		}
		if end == len(text) {
			return sc.finish(end)
		}
		i, line = end+1, line+1
	}
	return sc.finish(i)
}

// finish accepts the document ending at byte end if it had a root mapping
// with a kind to skip (or, for the builder, if nothing is left open).
func (sc *skipScanner) finish(end int) bool {
	if sc.state == skipInQuoted || !sc.build && (!sc.kindFound || sc.kindPending && !sc.skip(sc.s.kind)) {
		return false
	}
	sc.s.end = end
	return true
}

// allowed refuses a line with characters outside the subset: control
// characters (tab and CR among
// them), invalid UTF-8, the characters YAML does not allow (a parser's
// "control characters are not allowed"), and the line breaks and byte
// order mark that are not ASCII.
func (sc *skipScanner) allowed(l []byte) bool {
	for j := 0; j < len(l); {
		if j+8 <= len(l) {
			x := binary.LittleEndian.Uint64(l[j:])
			const ones, highs = 0x0101010101010101, 0x8080808080808080
			// No high bit, every byte at least ' ', and none DEL (no
			// byte of del is zero).
			del := x ^ 0x7f*ones
			if (x|(x-0x20*ones))&highs == 0 && (del-ones)&^del&highs == 0 {
				j += 8
				continue
			}
		}
		c := l[j]
		if c < 0x80 {
			if c < 0x20 || c == 0x7f {
				return false
			}
			j++
			continue
		}
		r, size := utf8.DecodeRune(l[j:])
		if !printable(r) || r == utf8.RuneError && size == 1 {
			return false
		}
		j += size
	}
	return true
}

// printable says whether r, not ASCII, is a character YAML allows in this
// subset: the printable ones (YAML 1.2's c-printable) but NEL, which is a
// line break, and the byte order mark.
func printable(r rune) bool {
	return r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD && r != 0xFEFF || r >= 0x10000 && r <= 0x10FFFF
}

func lineEnd(text []byte, i int) int {
	if j := bytes.IndexByte(text[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(text)
}

// indentOf is the number of spaces l starts with.
func indentOf(l []byte) int {
	n := 0
	for n < len(l) && l[n] == ' ' {
		n++
	}
	return n
}

// blankOrComment says whether l is spaces, then maybe a comment after at
// least one of them (or nothing).
func blankOrComment(l []byte) bool {
	j := indentOf(l)
	return j == len(l) || l[j] == '#' && j > 0
}

// line takes one line of the document's body (no line break), the
// document's line-th.
func (sc *skipScanner) line(l []byte, line int) bool {
	n := indentOf(l)
	rest := l[n:]
	if sc.state == skipInQuoted {
		// the library reads a quoted scalar's lines whatever their indentation.
		end, _, ok := quotedRest(l, sc.quote)
		if !ok || end < 0 {
			return ok
		}
		sc.state = skipAfterNode
		return blankOrComment(l[end:])
	}
	if sc.state == skipBlockScalar {
		if len(rest) == 0 {
			if sc.content == 0 {
				sc.leading = max(sc.leading, n)
			}
			return true
		}
		if sc.content == 0 && n > sc.parent {
			if sc.leading > n {
				return false // the library would take the blank line's indentation
			}
			sc.content = n
		}
		if sc.content > 0 && n >= sc.content {
			return true
		}
		sc.state = skipAfterNode // the scalar ended before this line
	}
	if len(rest) == 0 {
		return true // a blank line ends nothing else either
	}
	if rest[0] == '#' {
		if sc.state == skipAfterPlain {
			sc.state = skipAfterNode // a comment ends a plain scalar
		}
		return true
	}
	if sc.state == skipAfterPlain && n >= sc.minCol {
		// The plain scalar goes on: a " #" ends it, and a ": " in it is a
		// mapping value the library refuses.
		if sc.kindPending {
			return false // a kind over several lines
		}
		end, ok := plainEnd(rest)
		if !ok {
			return false
		}
		if end < len(rest) {
			sc.state = skipAfterNode
		}
		return true
	}
	if sc.kindPending {
		sc.kindPending = false
		if !sc.skip(sc.s.kind) {
			return false
		}
	}
	if len(sc.levels) == 0 {
		// The root: a block mapping at column 0.
		if n != 0 {
			return false
		}
		sc.levels = append(sc.levels, skipLevel{})
		return sc.entry(rest, line, 0)
	}
	if sc.state == skipAfterKey {
		if n > sc.parent {
			return sc.nested(rest, line, n)
		}
		if n == sc.parent && sc.sameSeq && isEntry(rest) {
			sc.levels = append(sc.levels, skipLevel{indent: n, seq: true, indentless: true})
			return len(sc.levels) <= skipMaxDepth && sc.item(rest, line, n)
		}
	}
	// An entry of an open collection, which ends those more indented.
	for len(sc.levels) > 0 {
		top := sc.levels[len(sc.levels)-1]
		if top.indent > n || top.indent == n && top.indentless && !isEntry(rest) {
			sc.levels = sc.levels[:len(sc.levels)-1]
			continue
		}
		break
	}
	if len(sc.levels) == 0 || sc.levels[len(sc.levels)-1].indent != n {
		return false // the library: "did not find expected key" and the like
	}
	if sc.levels[len(sc.levels)-1].seq {
		return isEntry(rest) && sc.item(rest, line, n)
	}
	return sc.entry(rest, line, n)
}

// isEntry says whether a line's content is a sequence entry, "-" then a
// space or nothing.
func isEntry(rest []byte) bool {
	return rest[0] == '-' && (len(rest) == 1 || rest[1] == ' ')
}

// nested takes the first line of a node nested under a key or "-" with no
// value on its own line, at indentation n.
func (sc *skipScanner) nested(rest []byte, line, n int) bool {
	if len(sc.levels) >= skipMaxDepth {
		return false
	}
	if isEntry(rest) {
		sc.levels = append(sc.levels, skipLevel{indent: n, seq: true})
		return sc.item(rest, line, n)
	}
	if keyEnd(rest) >= 0 {
		sc.levels = append(sc.levels, skipLevel{indent: n})
		return sc.entry(rest, line, n)
	}
	// A scalar on a line of its own; a plain one goes on over lines
	// indented past the collection it is in.
	return sc.value(rest, sc.parent+1, false)
}

// item takes a sequence entry at indentation n: "-", then a space and a
// node, or nothing.
func (sc *skipScanner) item(rest []byte, line, n int) bool {
	j := 1
	for j < len(rest) && rest[j] == ' ' {
		j++
	}
	if j == len(rest) || rest[j] == '#' {
		sc.state, sc.parent, sc.sameSeq = skipAfterKey, n, false
		return true
	}
	v := rest[j:]
	if isEntry(v) {
		return false // "- - x"
	}
	if keyEnd(v) >= 0 {
		// A compact mapping, whose keys are at its first key's column.
		if len(sc.levels) >= skipMaxDepth {
			return false
		}
		sc.levels = append(sc.levels, skipLevel{indent: n + j})
		return sc.entry(v, line, n+j)
	}
	sc.parent = n
	return sc.value(v, n+1, true)
}

// entry takes a mapping entry at indentation n, "key:" and then a value or
// nothing, that rest starts.
func (sc *skipScanner) entry(rest []byte, line, n int) bool {
	k := keyEnd(rest)
	if k < 0 {
		return false
	}
	j := k + 1
	for j < len(rest) && rest[j] == ' ' {
		j++
	}
	v := rest[j:]
	if n == 0 && len(sc.levels) == 1 && !sc.kindFound && !sc.build {
		kind, known := isKind(rest[:k])
		if !known {
			return false
		}
		if kind {
			switch rest[0] {
			case '\'':
				sc.s.keyStyle = yaml.SingleQuotedStyle
			case '"':
				sc.s.keyStyle = yaml.DoubleQuotedStyle
			}
			return sc.kind(v, line, utf8.RuneCount(rest[:j]))
		}
	}
	if len(v) == 0 || v[0] == '#' {
		sc.state, sc.parent, sc.sameSeq = skipAfterKey, n, true
		return true
	}
	sc.parent = n
	return sc.value(v, n+1, true)
}

// isKind says whether a key, up to its ":", is "kind"; known is false
// for a key with escapes, whose text the subset does not read.
func isKind(key []byte) (kind, known bool) {
	if key[0] == '\'' || key[0] == '"' {
		end, escaped, _ := quotedEnd(key)
		if escaped && key[0] == '"' {
			return false, false
		}
		return quotedText(key, end) == "kind", true
	}
	return string(bytes.TrimRight(key, " ")) == "kind", true
}

// kind takes the value of the root mapping's first "kind", which starts v
// at column col: a scalar on the key's line.
func (sc *skipScanner) kind(v []byte, line, col int) bool {
	sc.kindFound = true
	if len(v) == 0 || v[0] == '#' {
		return false
	}
	sc.s.key = mark{line: line}
	sc.s.value = mark{line: line, column: col}
	sc.state = skipAfterNode
	switch v[0] {
	case '\'', '"':
		end, escaped, ok := quotedEnd(v)
		if !ok || end < 0 || escaped && v[0] == '"' || !blankOrComment(v[end:]) {
			return false
		}
		text := quotedText(v, end)
		sc.s.kind, sc.s.style = text, yaml.SingleQuotedStyle
		if v[0] == '"' {
			sc.s.style = yaml.DoubleQuotedStyle
		}
		return sc.skip(text)
	}
	if !plainStart(v) {
		return false
	}
	end, ok := plainEnd(v)
	if !ok {
		return false
	}
	sc.s.kind = string(bytes.TrimRight(v[:end], " "))
	if end < len(v) {
		return sc.skip(sc.s.kind) // a comment ends it
	}
	// The next line may go on with it: it is asked about there.
	sc.kindPending = true
	sc.state, sc.minCol = skipAfterPlain, 1
	return true
}

// value takes a scalar that starts v, the rest of its line: plain ones go
// on over lines indented at least minCol. A block scalar's header is taken
// where block says.
func (sc *skipScanner) value(v []byte, minCol int, block bool) bool {
	sc.state = skipAfterNode
	switch v[0] {
	case '\'', '"':
		end, _, ok := quotedEnd(v)
		if ok && end < 0 {
			sc.state, sc.quote = skipInQuoted, v[0] // it goes on over the next lines
			return true
		}
		return ok && blankOrComment(v[end:])
	case '[', '{':
		return len(v) >= 2 && v[1] == v[0]+2 && blankOrComment(v[2:]) // [] or {}
	case '|', '>':
		j := 1
		if j < len(v) && (v[j] == '-' || v[j] == '+') {
			j++
		}
		if !block || !blankOrComment(v[j:]) {
			return false
		}
		sc.state, sc.content, sc.leading = skipBlockScalar, 0, 0
		return true
	}
	if !plainStart(v) {
		return false
	}
	end, ok := plainEnd(v)
	if !ok {
		return false
	}
	if end == len(v) {
		sc.state, sc.minCol = skipAfterPlain, minCol
	}
	return true
}

// plainStart says whether a plain scalar may start v (not empty): not with
// an indicator, and with "-" only before a non-space.
func plainStart(v []byte) bool {
	switch c := v[0]; {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		return true
	case c == '-':
		return len(v) > 1 && v[1] != ' '
	case c == '_', c == '.', c == '/', c == '$', c == '(', c == ')', c == '~', c == '+', c == '=', c == '^', c == '<', c == ';', c == '\\':
		return true
	}
	return false
}

// plainEnd is where a plain scalar's text on this line ends, v starting
// with its first character there: at a " #" comment, or at the line's end.
// A ": " in it, or a ":" at its end, is a mapping value, which the library
// refuses there (not ok).
func plainEnd(v []byte) (int, bool) {
	if v[0] == ':' && (len(v) == 1 || v[1] == ' ') {
		return 0, false // a continuation line's ": " (a first line's is not a plain scalar)
	}
	for j := 1; j < len(v); j++ {
		switch v[j] {
		case ':':
			if j+1 == len(v) || v[j+1] == ' ' {
				return 0, false
			}
		case '#':
			if v[j-1] == ' ' {
				return j, true
			}
		}
	}
	return len(v), true
}

// keyEnd is the index of the ":" that ends a key that starts v, or -1 when
// v does not start with a key of the subset: a plain scalar with no " #"
// before its ":", or a quoted one right before it.
func keyEnd(v []byte) int {
	if v[0] == '\'' || v[0] == '"' {
		end, _, ok := quotedEnd(v)
		if !ok || end < 0 || end >= len(v) || v[end] != ':' || end+1 < len(v) && v[end+1] != ' ' || end > 1000 {
			return -1
		}
		return end
	}
	if !plainStart(v) {
		return -1
	}
	for j := 1; j < len(v); j++ {
		switch v[j] {
		case ':':
			if j+1 == len(v) || v[j+1] == ' ' {
				// the library refuses a key of more than 1024 characters.
				if j > 1000 {
					return -1
				}
				return j
			}
		case '#':
			if v[j-1] == ' ' {
				return -1
			}
		}
	}
	return -1
}

// quotedEnd reads the quoted scalar that starts v, on this line: the
// index after its closing quote, or -1 when it goes on to the next line;
// escaped is whether its text is not simply the characters between the
// quotes. ok is false for an escape the library refuses.
func quotedEnd(v []byte) (end int, escaped, ok bool) {
	end, escaped, ok = quotedRest(v[1:], v[0])
	if end >= 0 {
		end++
	}
	return end, escaped, ok
}

// quotedRest reads v, a quoted scalar's text from a line's start or after
// its opening quote q, as quotedEnd does.
func quotedRest(v []byte, q byte) (end int, escaped, ok bool) {
	for j := 0; j < len(v); j++ {
		switch c := v[j]; {
		case c == q && q == '\'' && j+1 < len(v) && v[j+1] == '\'':
			escaped = true
			j++
		case c == q:
			return j + 1, escaped, true
		case c == '\\' && q == '"':
			escaped = true
			if j+1 == len(v) {
				return -1, true, true // an escaped line break
			}
			n := escapeDigits(v[j+1])
			if n < 0 {
				return 0, false, false
			}
			if n > 0 {
				if j+2+n > len(v) {
					return 0, false, false
				}
				r, ok := escapeHex(v[j+2 : j+2+n])
				if !ok || r >= 0xD800 && r <= 0xDFFF || r > 0x10FFFF {
					return 0, false, false
				}
			}
			j += 1 + n
		}
	}
	return -1, escaped, true
}

// escapeDigits is how many hex digits follow the letter c of an escape in a
// double-quoted scalar: 2, 4 or 8 (\x, \u, \U), 0 for the letters the library
// takes alone, -1 for the others, which it refuses.
func escapeDigits(c byte) int {
	switch c {
	case 'x':
		return 2
	case 'u':
		return 4
	case 'U':
		return 8
	}
	if int(c) < len(escapeTexts) && escapeTexts[c] != "" {
		return 0
	}
	return -1
}

// escapeTexts are the texts of the escapes of one letter.
var escapeTexts = [128]string{
	'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", 'n': "\n", 'v': "\v", 'f': "\f", 'r': "\r", 'e': "\x1b",
	' ': " ", '"': "\"", '\'': "'", '\\': "\\", 'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029",
}

// escapeHex is the code point an escape's hex digits give.
func escapeHex(h []byte) (rune, bool) {
	r := rune(0)
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// quotedText is the value of a quoted scalar on one line, v up to its
// closing quote at end-1, whose only escapes are ” (single quotes).
func quotedText(v []byte, end int) string {
	text := string(v[1 : end-1])
	if v[0] == '\'' {
		text = strings.ReplaceAll(text, "''", "'")
	}
	return text
}
