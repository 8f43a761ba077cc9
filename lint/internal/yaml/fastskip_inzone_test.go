package yaml

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// The agreement with upstream of documents skipped this way is tested in
// lint (TestSkipAgreesWithUpstream, FuzzSkipAgreesWithUpstream); these
// tests hold that the way is taken where it should be, so that the speed
// it is for does not go unnoticed.
func TestFastSkipTaken(t *testing.T) {
	crd := "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x\nspec:\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        description: |-\n          text\n        properties:\n          a:\n            description: 'over\n              lines'\n            type: string\n"
	for _, tc := range []struct {
		name string
		in   string
		fast int // documents skipped without libyaml
		docs int
	}{
		{"one CRD", crd, 1, 1},
		{"after ---", "---\n" + crd, 1, 1},
		{"after a comment", "# generated\n" + crd, 1, 1},
		{"one after another", crd + "---\n" + crd + "---\n" + crd, 3, 3},
		{"between kept ones", "kind: Pod\na: 1\n---\n" + crd + "---\nkind: Pod\n---\n" + crd, 2, 4},
		{"kind to keep", "kind: Pod\nspec:\n  a: 1\n", 0, 1},
		{"kind last", "apiVersion: v1\nmetadata:\n  name: x\nkind: CustomResourceDefinition\n", 1, 1},
		{"anchor", "kind: CustomResourceDefinition\na: &x 1\n", 0, 1},
		{"flow with content", "kind: CustomResourceDefinition\na: [1]\n", 0, 1},
		{"tab", "kind: CustomResourceDefinition\na: 'x\ty'\n", 0, 1},
		{"CRLF", "kind: CustomResourceDefinition\r\na: 1\r\n", 0, 1},
		{"not UTF-8 as is", "kind: CustomResourceDefinition\na: \x01\n", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, fast, _ := decodeCounting(tc.in, func(k string) bool { return k == "CustomResourceDefinition" })
			if fast != tc.fast || docs != tc.docs {
				t.Errorf("%d documents, %d skipped without libyaml; want %d, %d", docs, fast, tc.docs, tc.fast)
			}
		})
	}
}

// TestFastSkipLeavesLibyamlsState decodes inputs twice, skipping documents
// with and without libyaml, and compares the scanner and parser after each
// document skipped without it: position, what is left to read, simple
// keys, indentation, parser states and the tokens queued must all be what
// libyaml's own scanning left. The inputs are cases by hand and documents
// generated from pieces of YAML, in and out of the subset.
func TestFastSkipLeavesLibyamlsState(t *testing.T) {
	inputs := []string{
		"kind: Secret\na: b\n---\nkind: Secret\n",
		"---\nkind: Secret\na: b\n---\nkind: Pod\n",
		"kind: Secret\na: b\n--- |\n x\n",
		"kind: Secret\na: b",
		"kind: Secret\na: b\n---\n# c\nkind: Secret\nx: y\n",
		"kind: Secret\na: 'x\n\n  y'\nb: |\n  z\n---\n'kind': Secret\n",
	}
	pieces := []string{
		"a:", "b: c", "k: v", "- ", "-", "- x", "- a: b", "- a:", "-  a: b", "'q'", "'q", "q'", "\"d\\", "\"d", "d\"", "''",
		"|", "|-", ">", "|+", "x", "y z", ": c", ":x", "#c", " #c", "[]", "{}", "x #c", "x:y", "'a': b", "\"a\": b", "a: 'b",
		"a: |", "a: >-", "a: []", "a: x", "é: ü", "kind: Pod", "kind: Secret", "  ", "", "a: |\n  x\n\n   y\n  z", "a: 'x\n\n  y'",
		"a:\n  - b\n  - c: d\n    e: f", "a: x\n  y\n  z", "--- x", "--- |", "--- 'x", "---", "--- #c", "@", "- @", "a: @",
	}
	inputs = append(inputs, generated(rand.New(rand.NewSource(1)), 3000, pieces, 6, false)...)
	fast := 0
	for _, in := range inputs {
		fast += compareFastSkip(t, in)
	}
	t.Logf("%d documents of %d inputs skipped without libyaml", fast, len(inputs))
	// About one input in four has a document in the subset (680 of these);
	// far fewer would mean the comparison no longer reaches the fast path.
	if fast < len(inputs)/6 {
		t.Errorf("only %d documents of %d inputs skipped without libyaml", fast, len(inputs))
	}
}

// compareFastSkip decodes in with and without the fast path and returns
// how many documents took it.
func compareFastSkip(t *testing.T, in string) int {
	t.Helper()
	skip := func(k string) bool { return k != "" && k != "Pod" }
	fast, slow := NewDocumentDecoder([]byte(in), skip), NewDocumentDecoder([]byte(in), skip)
	defer fast.Release()
	defer slow.Release()
	slow.parser.noFastSkip = true
	for i := 0; ; i++ {
		var a, b Node
		before := fast.parser.fastSkipped
		ea, eb := fast.DecodeNode(&a), slow.DecodeNode(&b)
		if fmt.Sprint(ea) != fmt.Sprint(eb) {
			t.Fatalf("%q, document %d: error %v, libyaml's %v", in, i, ea, eb)
		}
		if ea != nil {
			return fast.parser.fastSkipped
		}
		if fast.parser.fastSkipped == before {
			continue
		}
		if sa, sb := parserState(&fast.parser.parser), parserState(&slow.parser.parser); sa != sb {
			t.Fatalf("%q, document %d: state\n%s\nlibyaml's\n%s", in, i, sa, sb)
		}
	}
}

// decodeCounting decodes every document of in with a NewDocumentDecoder
// and returns how many there were and how many fastSkip skipped and
// fastBuild built. A comment follows in: past the input's last few
// characters the scanner reads its own buffer, where no document is taken
// the fast ways, and the comment keeps the documents clear of it.
func decodeCounting(in string, skip func(string) bool) (docs, skipped, built int) {
	dec := NewDocumentDecoder([]byte(in+"\n# "+strings.Repeat("-", 64)+"\n"), skip)
	defer dec.Release()
	for {
		var n Node
		if err := dec.DecodeNode(&n); err != nil {
			return docs, dec.parser.fastSkipped, dec.parser.fastBuilt
		}
		docs++
	}
}

// generated makes n inputs of one to three documents, each a "kind:
// Secret" line then fewer than most pieces at random indentations (an
// indented piece of several lines is indented as a whole when nested says
// so), with "---" lines, comments, no final line break or a comment after.
func generated(r *rand.Rand, n int, pieces []string, most int, nested bool) []string {
	var inputs []string
	for range n {
		var b strings.Builder
		for d := range 1 + r.Intn(3) {
			if d > 0 || r.Intn(3) == 0 {
				b.WriteString("---")
				if r.Intn(3) == 0 {
					b.WriteString(" " + pieces[r.Intn(len(pieces))])
				}
				b.WriteString("\n")
			}
			if r.Intn(4) == 0 {
				b.WriteString("# c\n")
			}
			if r.Intn(4) == 0 {
				b.WriteString("a: 1\n")
			}
			b.WriteString("kind: Secret\n")
			for range r.Intn(most) {
				indent := strings.Repeat(" ", r.Intn(6))
				if r.Intn(3) == 0 {
					indent = ""
				}
				p := pieces[r.Intn(len(pieces))]
				if nested {
					p = strings.ReplaceAll(p, "\n", "\n"+indent)
				}
				b.WriteString(indent + p + "\n")
			}
		}
		in := b.String()
		if r.Intn(3) == 0 {
			in = strings.TrimSuffix(in, "\n")
		}
		if r.Intn(2) == 0 {
			in += "\n# " + strings.Repeat("-", r.Intn(80)) + "\n"
		}
		inputs = append(inputs, in)
	}
	return inputs
}

func parserState(pp *yaml_parser_t) string {
	var b strings.Builder
	rest := pp.buffer[pp.buffer_pos : pp.buffer_pos+min(pp.unread*4, len(pp.buffer)-pp.buffer_pos)]
	fmt.Fprintf(&b, "mark %+v unread %d rest %q eof %v\n", pp.mark, pp.unread, strings.TrimRight(string(rest), "\x00"), pp.eof)
	fmt.Fprintf(&b, "simple key allowed %v indent %d %v flow %d state %v %v marks %v tags %d end %v available %v\n",
		pp.simple_key_allowed, pp.indent, pp.indents, pp.flow_level, pp.state, pp.states, pp.marks, len(pp.tag_directives), pp.stream_end_produced, pp.token_available)
	for _, k := range pp.simple_keys {
		if k.possible {
			fmt.Fprintf(&b, "key required %v token %d mark %+v\n", k.required, k.token_number-pp.tokens_parsed, k.mark)
		}
	}
	for _, e := range pp.simple_keys_by_tok {
		if e.tok >= pp.tokens_parsed {
			fmt.Fprintf(&b, "key by token %d %d\n", e.tok-pp.tokens_parsed, e.idx)
		}
	}
	for _, tk := range pp.tokens[pp.tokens_head:] {
		fmt.Fprintf(&b, "token %v %+v %+v %q %v\n", tk.typ, tk.start_mark, tk.end_mark, tk.value, tk.style)
	}
	fmt.Fprintf(&b, "error %v %q %+v\n", pp.error, pp.problem, pp.problem_mark)
	return b.String()
}
