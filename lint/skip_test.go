package lint

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/inzone-io/inzone/internal/yamldoc"
	"github.com/inzone-io/inzone/test/shared"
)

// Documents are read by yamldoc, one at a time, skipping the documents
// lintFile skips past their "kind", and building the nodes of plain block
// YAML without the library's parser. These tests hold the result to the
// library reading the whole stream: the same documents, node trees
// (comments aside), errors and kinds, on every fixture, the shared corpus,
// and fuzzed input; but where the YAML spec and a whole-stream reading
// differ (yamldoc's doc comment): an alias to an earlier document's anchor
// is an error, a document may follow a "..." without its own "---", and an
// error is the document's that has it.

// skipAll skips every document with a kind, as far as lintFile ever could.
func skipAll(kind string) bool { return kind != "" && !strings.HasSuffix(kind, "List") }

// skipSome skips some kinds, so that skipped documents are followed by
// documents that are read whole.
func skipSome(kind string) bool {
	return skipAll(kind) && kind != "Pod" && kind != "Service" && kind != "Deployment" && kind != "ConfigMap"
}

func skipSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{
		"anchors across documents": []byte("kind: A\nx: &a {y: 1}\n---\nkind: B\nz: *a\n"),
		"anchor after kind":        []byte("a: 1\nkind: Secret\nb: &k [1, {c: &d 2}]\n---\nkind: Pod\nspec: {x: *k, y: *d}\n"),
		"unknown anchor skipped":   []byte("kind: Secret\nb: *nope\n---\nkind: Pod\n"),
		"error after kind":         []byte("kind: Secret\ndata:\n  a: [1, 2\n---\nkind: Pod\n"),
		"alias kind":               []byte("x: &k Secret\nkind: *k\ny: {a: 1}\n"),
		"kind twice":               []byte("kind: Secret\nkind: Pod\nspec: {}\n"),
		"kind not scalar":          []byte("kind: [Secret]\nspec: {}\n"),
		"list":                     []byte("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, data: {a: b}}\n- {apiVersion: v1, kind: Pod}\n"),
		"non-ascii":                []byte("kind: Secret\ndata: {a: \"héllo ✓ \U0001F600\"}\n---\nkind: Pod\nmetadata: {name: ü}\n"),
		"control character":        []byte("kind: Secret\ndata: {a: \"x\x01\"}\n"),
		"tabs and crlf":            []byte("kind: Secret\r\ndata:\r\n  a: \"b\tc\"\r\n---\r\nkind: Pod\r\n"),
		"tail comments":            []byte("kind: Secret\na:\n  b: 1\n  # tail\n# foot\nc: 2\n"),
		"block scalars":            []byte("kind: Pod\na: |\n  x\n   y \t\n\n  z\nb: >-\n    folded\n      more\n    text\nc: |2+\n     keep\n\n\nd: |\n\t\n"),
		"multi-line plain":         []byte("kind: Pod\nd: one two\n      three:x  #no\n   \n  four # comment\ne: [a b,\n  c   d]\nf:  \"q  r\n     s\"\n"),
		"tab indentation":          []byte("kind: Pod\na:\n\tb: 1\n"),
		"empty":                    []byte(""),
		"bom":                      []byte("\xef\xbb\xbfkind: Secret\na: 1\n"),
		"utf16":                    []byte("\xff\xfek\x00i\x00n\x00d\x00:\x00 \x00S\x00\n\x00"),
		// Documents in the subset that yamldoc skips without the library, and
		// ones just outside it, which the library parses (or refuses) as ever.
		"fast: generated CRD":   []byte("# generated\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  annotations:\n    controller-gen.kubebuilder.io/version: v0.21.0\n  name: issuers.cert-manager.io\nspec:\n  names:\n    categories:\n    - cert-manager\n    kind: Issuer\n  versions:\n  - additionalPrinterColumns:\n    - jsonPath: .status.conditions[?(@.type == \"Ready\")].status\n      name: Ready\n    - description: CreationTimestamp is a timestamp representing the server time when\n        this object was created. It is not\n\n        guaranteed.\n      type: date\n    name: v1\n    schema:\n      openAPIV3Schema:\n        description: |-\n          An Issuer represents a certificate issuing authority.\n\n            indented: more # not a comment\n          end\n        properties:\n          x:\n            description: 'Refresh indicates if the\n              latest revision ''should'' be\n\n              used.'\n            type: string\n          y:\n            description: \"With \\\"escapes\\\" \\u00e9 \\x41 \\\n              and a fold\"\n            enum: []\n            default: {}\n          'quoted key': \"v\"\n          \"dq\": 'w' # c\n          empty:\n          z:\n            - a\n            -\n              b\n            - |\n              text\n    served: true\n---\nkind: Pod\nmetadata: {name: p}\n---\n--- # empty\n---\napiVersion: v1\nkind: Secret # c\ndata:\n  k: dg==\n---\nkind: 'Secret'\n---\nkind: \"Secret\"\nx: y\n---\nkind: Secret\ny: z"),
		"fast: then parsed":     []byte("kind: Secret\na: b\n---\nkind: Pod\nspec:\n  containers:\n  - name: c\n---\nkind: Secret\nb:\n- c\n---\nkind: Service\nspec: {type: NodePort}\n"),
		"fast: kind over lines": []byte("kind: Secret\n  Pod\n---\nkind: Secret\n# c\n  Pod\n"),
		"fast: kind later":      []byte("---\napiVersion: v1\nmetadata:\n  name: x\n  labels:\n    a: b\nkind: Secret\ndata: {}\n"),
		"fast: errors":          []byte("kind: Secret\na: b: c\n---\nkind: Secret\na: 'x\n---\n'\n---\nkind: Secret\na: \"\\q\"\n---\nkind: Secret\n  b: 1\n---\nkind: Secret\na:\n    b: 1\n  c: 2\n---\nkind: Secret\na: \"\\ud800\"\n---\nkind: Secret\na: |\n   \n  x\n"),
		"fast: seq and map":     []byte("kind: Secret\na:\n- b\nc: d\n---\nkind: Secret\na:\n  - b\n  c: d\n---\nkind: Secret\na:\n- b: 1\n  c: 2\n- - x\n"),
		"fast: value lines":     []byte("kind: Secret\na:\n  just text\n   more\nb:\n  'q'\n---\nkind: Secret\na: x # c\n  y\n"),
		"fast: long key":        []byte("kind: Secret\n" + strings.Repeat("k", 1030) + ": v\n---\nkind: Secret\n" + strings.Repeat("k", 999) + ": v\n"),
		"fast: markers":         []byte("kind: Secret\na: |\n  x\n---\nkind: Secret\na: 'x\n---\n  y'\n---\nkind: Secret\n...\n---\nkind: Secret\n--- a\n"),
		"fast: non-ascii":       []byte("kind: Secret\ná: é ✓\nb: 'ü'\n---\nkind: Secret\na: x\u2028y\n---\nkind: Secret\na: x\u0085y\n"),
		// the library reads two tokens ahead: an error at the next document's
		// start fails the document before it (a fuzzer's find).
		"fast: error just after": []byte("kind: 0\n--- 0:"),
		// A reviewer's finds: a plain scalar's continuation line that
		// starts with ": ", a quoted "kind" key, a document after "..."
		// without "---".
		"fast: continued by a colon": []byte("kind: Secret\na: b\n  : c\n---\nkind: Secret\na:\n  b\n  : c\n---\nkind: Secret\na:\n- b\n  :\n"),
		"fast: quoted kind key":      []byte("'kind': Secret\n---\n\"kind\": Secret\n---\na: 1\n'kind': Secret\n"),
		"fast: after the end marker": []byte("kind: Pod\n...\nkind: Secret\na: b\n"),
		"fast: at the end":           []byte("---\nkind: Secret\na: b\n---\nkind: Secret"),
		"long":                       []byte(strings.Repeat("kind: Secret\nx: "+strings.Repeat("abcdefgh", 200)+"\n---\n", 20)),
		// The input is the parser's buffer when it is valid UTF-8 with no
		// control characters, and scalar values that are its text as is are
		// slices of it; these hold both paths to upstream.
		"no final newline":   []byte("kind: Pod\nmetadata: {name: a}\nspec: x"),
		"quoted at the end":  []byte("kind: Pod\na: 'x''y'"),
		"dquoted at the end": []byte("kind: Pod\na: \"x\\ty\""),
		"key at the end":     []byte("kind: Pod\na"),
		"escapes and folds":  []byte("kind: Pod\na: \"x\\u00e9\\\n  y\"\nb: 'p\n\n  q'\nc: m\n  n\n"),
		"nel and nbsp":       []byte("kind: Pod\na: x\u0085y\u00a0z\n"),
		"bom inside":         []byte("kind: Pod\na: x\ufeffy\n"),
		"del":                []byte("kind: Pod\na: x\x7fy\n"),
		"bad utf8":           []byte("kind: Pod\na: x\xc0\xafy\n"),
		"surrogate":          []byte("kind: Pod\na: \xed\xa0\x80\n"),
		"beyond unicode":     []byte("kind: Pod\na: \xf4\x90\x80\x80\n"),
		"truncated utf8":     []byte("kind: Pod\na: \xe2\x82"),
		"lone cr":            []byte("kind: Pod\ra: b\r"),
		"tabs in words":      []byte("kind: Pod\na:\tb\t\nc: \"d\te\"\n"),
		// Words of a plain scalar's line are read at once, up to a comment,
		// a fold or the input's last few characters.
		"words":               []byte("kind: Pod\na: one two  three #c\nb: x #y\nc: p q:r s: t u:\nd: [e f, g h #i\n  , j k]\ne: a\tb c\nf g: h\n- m n\n"),
		"words in flow":       []byte("{kind: Pod, a: b c, d: [e f, g?h i, j{k l]}\n"),
		"words at the end":    []byte("kind: Pod\na: b c d"),
		"words near the end":  []byte("kind: Pod\na: bc d"),
		"words folded":        []byte("kind: Pod\na: b c\n  d e\n\n  f g\nh: i j\n"),
		"words at indent":     []byte("kind: Pod\na:\n- x y\n- z w:\n    v u\n"),
		"long key and values": []byte("kind: Pod\n" + strings.Repeat("k", 1100) + ": " + strings.Repeat("v", 3000) + "\nq: '" + strings.Repeat("w ", 1500) + "'\n"),
		// Past the first buffer fills (512 raw bytes, 1536 decoded), the
		// control character at the end keeps the whole file on the
		// decoding path.
		"buffer boundaries": []byte(strings.Repeat("kind: Pod\nmetadata:\n  name: "+strings.Repeat("n", 300)+"\n  labels: {a: \"é\"}\n---\n", 8) + "a: \"\x01\"\n"),
		"boundaries, valid": []byte(strings.Repeat("kind: Secret\ndata:\n  k: "+strings.Repeat("é", 257)+"\n---\n", 8)),
	}
	for _, glob := range []string{"testdata/fixtures/*.yaml", "testdata/envoy/*", "testdata/*/*.yaml"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil {
				seeds[p] = data
			}
		}
	}
	return seeds
}

func TestSkipAgreesWithUpstream(t *testing.T) {
	seeds := skipSeeds(t)
	if testing.Short() {
		for name, data := range seeds {
			checkSkipAgrees(t, name, data)
		}
		return
	}
	corpus := filepath.Join(shared.Dir(t), "corpus")
	_ = filepath.WalkDir(corpus, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".json")) {
			if data, err := os.ReadFile(p); err == nil {
				seeds[p] = data
			}
		}
		return nil
	})
	for name, data := range seeds {
		checkSkipAgrees(t, name, data)
	}
}

func FuzzSkipAgreesWithUpstream(f *testing.F) {
	for _, data := range skipSeeds(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkSkipAgrees(t, "fuzz", data) })
}

type parsed struct {
	docs []*Document
	err  error
}

func parseWith(data []byte, skip func(string) bool) (p parsed) {
	defer func() {
		if r := recover(); r != nil {
			p.err = fmt.Errorf("panic: %v", r)
		}
	}()
	p.err = eachDocument("f.yaml", data, skip, func(d *Document) { p.docs = append(p.docs, d) })
	return p
}

// upstreamDocs parses data with go.yaml.in/yaml/v3 as one stream,
// returning root nodes and their 0-based indices.
func upstreamDocs(data []byte) (roots []*yaml.Node, idx []int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return roots, idx, nil
		}
		if err != nil {
			return roots, idx, yamlError("f.yaml", data, err)
		}
		if n.Kind != yaml.DocumentNode || len(n.Content) == 0 {
			continue
		}
		root := n.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue
		}
		roots, idx = append(roots, root), append(idx, i)
	}
}

func checkSkipAgrees(t *testing.T, name string, data []byte) {
	t.Helper()
	checkSkipAgreesWith(t, name, data, skipAll)
	checkSkipAgreesWith(t, name+" (some skipped)", data, skipSome)
}

// crossDocumentAlias says whether err is an alias's to an anchor the
// document does not have: the stream as a whole may have it.
func crossDocumentAlias(err error) bool {
	return err != nil && strings.Contains(err.Error(), "unknown anchor")
}

// bareAfterEnd says whether err is the library's refusal of a document after
// a "..." without its own "---", which YAML 1.2 allows (a bare document).
func bareAfterEnd(err error) bool {
	return strings.Contains(err.Error(), "did not find expected <document start>")
}

func checkSkipAgreesWith(t *testing.T, name string, data []byte, skip func(string) bool) {
	t.Helper()
	full, skipped := parseWith(data, nil), parseWith(data, skip)
	roots, idx, uerr := upstreamDocs(data)
	switch {
	case fmt.Sprint(full.err) != fmt.Sprint(skipped.err):
		t.Fatalf("%s: errors differ: %v, skipping %v", name, full.err, skipped.err)
	case uerr != nil && full.err == nil && !bareAfterEnd(uerr):
		t.Fatalf("%s: upstream's error %v is none", name, uerr)
	case uerr == nil && full.err != nil && !crossDocumentAlias(full.err):
		t.Fatalf("%s: error %v, none upstream", name, full.err)
	}
	// List expansion aside, documents are upstream's, node for node, up to
	// the first error of either.
	var want []*Document
	for i, r := range roots {
		d := &Document{File: "f.yaml", Index: idx[i], Node: r, budget: yamldoc.Budget(len(data))}
		if items, ok := listItems(d); ok {
			want = append(want, items...)
		} else {
			want = append(want, d)
		}
	}
	n := len(want)
	if uerr != nil || full.err != nil {
		n = min(n, len(full.docs))
	} else if len(full.docs) != len(want) || len(skipped.docs) != len(want) {
		t.Fatalf("%s: %d documents upstream, %d read, %d skipping", name, len(want), len(full.docs), len(skipped.docs))
	}
	for i, w := range want[:n] {
		f, s := full.docs[i], skipped.docs[i]
		if f.Index != w.Index || s.Index != w.Index {
			t.Fatalf("%s: document %d: index %d upstream, %d, %d", name, i, w.Index, f.Index, s.Index)
		}
		if err := sameNode(w.Node, f.Node); err != nil {
			t.Fatalf("%s: document %d: %v", name, i, err)
		}
		if s.Kind() != w.Kind() {
			t.Fatalf("%s: document %d: kind %q skipping, %q upstream", name, i, s.Kind(), w.Kind())
		}
		if err := sameKind(w.Node, s.Node); err != nil {
			t.Fatalf("%s: document %d: %v", name, i, err)
		}
		if !skip(w.Kind()) {
			if err := sameNode(w.Node, s.Node); err != nil {
				t.Fatalf("%s: document %d (not skipped): %v", name, i, err)
			}
		}
	}
}

// sameKind compares what a skipped document keeps of upstream's: its root
// mapping's position and its first "kind" entry, nodes and all.
func sameKind(want, got *yaml.Node) error {
	if want.Kind != yaml.MappingNode {
		return nil
	}
	if got.Kind != yaml.MappingNode || got.Line != want.Line || got.Column != want.Column {
		return fmt.Errorf("root at %d:%d upstream, %d:%d skipping", want.Line, want.Column, got.Line, got.Column)
	}
	first := func(n *yaml.Node) (k, v *yaml.Node) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "kind" {
				return n.Content[i], n.Content[i+1]
			}
		}
		return nil, nil
	}
	wk, wv := first(want)
	gk, gv := first(got)
	if wk == nil {
		return nil
	}
	if gk == nil {
		return fmt.Errorf("kind at %d missing skipping", wk.Line)
	}
	if err := sameNode(wk, gk); err != nil {
		return fmt.Errorf("kind key: %w", err)
	}
	if wv.Kind != yaml.ScalarNode {
		return nil // a kind no rule reads: its document is not skipped
	}
	if err := sameNode(wv, gv); err != nil {
		return fmt.Errorf("kind value: %w", err)
	}
	return nil
}

func sameNode(a, b *yaml.Node) error {
	if (a == nil) != (b == nil) {
		return fmt.Errorf("nil node vs %v", b)
	}
	if a == nil {
		return nil
	}
	if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != b.Value || a.Anchor != b.Anchor || a.Line != b.Line || a.Column != b.Column || len(a.Content) != len(b.Content) {
		return fmt.Errorf("line %d col %d: upstream %+v, read %+v", a.Line, a.Column, *a, *b)
	}
	if a.Kind == yaml.AliasNode {
		if (a.Alias == nil) != (b.Alias == nil) || a.Alias != nil && (a.Alias.Line != b.Alias.Line || a.Alias.Column != b.Alias.Column) {
			return fmt.Errorf("line %d: alias targets differ", a.Line)
		}
		return nil
	}
	for i := range a.Content {
		if err := sameNode(a.Content[i], b.Content[i]); err != nil {
			return err
		}
	}
	return nil
}
