package yamldoc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// These tests hold the fast paths to the library: a document the builder
// builds has the library's tree (comments aside), one the line check skips
// parses without error in the library and has its kind, and a document
// the library refuses is taken by neither. lint's TestSkipAgreesWithUpstream
// and FuzzSkipAgreesWithUpstream hold the whole (split, fast paths,
// positions, errors) to the library reading the stream at once.

// skipSecrets skips documents of kind Secret, as lint skips the kinds no
// rule reads.
func skipSecrets(kind string) bool { return kind == "Secret" }

func TestFastPathsTaken(t *testing.T) {
	crd := "apiVersion: apiextensions.k8s.io/v1\nkind: Secret\nmetadata:\n  name: x\nspec:\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        description: |-\n          text\n        properties:\n          a:\n            description: 'over\n              lines'\n            type: string\n"
	for _, tc := range []struct {
		name           string
		in             string
		skipped, built int // documents skipped to their kind, and built, without the library
		docs           int
	}{
		{"a manifest", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web # c\n  labels: {}\nspec:\n  ports:\n  - port: 80\n    name: 'http'\n  selector:\n    app: \"web\"\n", 0, 1, 1},
		{"envoy, no kind", "static_resources:\n  clusters:\n  - name: a\n    type: STRICT_DNS\n    load_assignment:\n      endpoints: []\n", 0, 1, 1},
		{"several", "a: 1\n---\nb: 2\n---\n# c\nc: 3\n", 0, 3, 3},
		{"literal", "a: |\n  x\n\n  y\nb: |-\n  z\nc: |+\n  w\n\n", 0, 1, 1},
		{"plain over lines", "a: one\n  two\n\n  three\nb:\n  c d\n   e\n", 0, 1, 1},
		{"empty values", "a:\nb:\n- \n-\nc: # c\n", 0, 1, 1},
		{"folded", "a: >\n  x\n  y\n\n   z\nb: >-\n  w\n", 0, 1, 1},
		{"quoted over lines", "a: 'x\n  y'\nb: \"p \\\n  q\n\n  r\"\n", 0, 1, 1},
		{"a CRD skipped", crd, 1, 0, 1},
		{"after --- and a comment", "---\n# generated\n" + crd, 1, 0, 1},
		{"skipped between built", "kind: Pod\na: 1\n---\n" + crd + "---\nkind: Pod\n---\n" + crd, 2, 2, 4},
		{"kind last", "apiVersion: v1\nmetadata:\n  name: x\nkind: Secret\n", 1, 0, 1},
		{"indentless and compact", "a:\n- b: 1\n  c: 2\n- - x\n", 0, 0, 1},
		{"empty block scalar", "a: |\nb: 1\n", 0, 0, 1},
		{"merge key", "a: {}\n<<: {}\n", 0, 0, 1},
		{"flow with content", "a: [1]\n", 0, 0, 1},
		{"anchor", "kind: Secret\na: &x 1\n", 0, 0, 1},
		{"tab", "kind: Secret\na: 'x\ty'\n", 0, 0, 1},
		{"CRLF", "kind: Secret\r\na: 1\r\n", 0, 0, 1},
		{"root sequence", "- a\n", 0, 0, 1},
		{"json", "{\"a\": 1}\n", 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, skipped, built := 0, 0, 0
			for _, seg := range Split([]byte(tc.in)) {
				switch n, kindOnly := fast(seg, skipSecrets, &scratch{}); {
				case kindOnly:
					skipped++
				case n != nil:
					built++
				}
			}
			if err := Each([]byte(tc.in), skipSecrets, func(*yaml.Node, int) { docs++ }); err != nil {
				t.Fatal(err)
			}
			if skipped != tc.skipped || built != tc.built || docs != tc.docs {
				t.Errorf("%d documents, %d skipped and %d built without the library; want %d, %d, %d", docs, skipped, built, tc.docs, tc.skipped, tc.built)
			}
		})
	}
}

// TestFastPathsAgreeWithLibrary compares, for every document of each
// input that a fast path takes, its nodes with the library's parse of the
// document's text. The inputs are cases by hand and documents generated
// from pieces of YAML, in and out of the subset.
func TestFastPathsAgreeWithLibrary(t *testing.T) {
	inputs := []string{
		"a: b\n---\nc: d\n",
		"a: |\n  x\n   \n  y\n    \n\n",
		"a: |+\n  x\n\n\n---\nb: 1",
		"a: |-\n  x\n\n",
		"a: |\n\n  x\n",
		"a: |\n  x\n  # not a comment\n # a comment\nb: 1\n",
		"a: |\n  x",
		"a: \"\\u00e9\\x41\\t\\\\ \\\" \\N\\_\\L\\P\\0\\a\\b\\v\\f\\r\\e\\/\"\n",
		"a: 'it''s'\n'b': \"c\"\n",
		"é: ü\nb: x é y\n  ü\n",
		"a: x\n\n\n  y # c\n  z\n",
		"a:\n  - b\n  -   c\n  - d: e\n    f: g\n",
		"a:\n- b\n- c\nd: e\n",
		"a: true\nb: 1.5\nc: null\nd: ~\ne: 0x1F\nf: 2001-12-14\ng: .inf\nh: \"true\"\n",
		"a: b\n...\n", "a: b\n--- x\n", "a: b\n---\n- c: [\n",
		"a: x\x7fy\n", "a: x\u0085y\n", "a: x\ufeffy\n", "a: \xed\xa0\x80\n", "a: \xc0\xaf\n", "a: x\u00a0y\U0001F600\n", "a: \ufffe\n",
		"kind:\n  Secret\na: b\n", "kind: Secret\n  X\na: b\n", "kind: |\n  Secret\na: b\n",
		"kind: \"Sec\\x72et\"\na: b\n", "\"ki\\x6ed\": Secret\na: b\n", "a: 1\nkind:\n  Secret\nb: 2\n",
	}
	pieces := []string{
		"a: b", "k: v", "- x", "- a: b", "- a:", "-", "a:", "'q': r", "\"d\": \"e\\tf\"", "a: 'x''y'", "a: \"x\\u00e9\"",
		"a: |", "a: |-", "a: |+", "a: >", "  x", "   y", "    z", "", "  ", "     ", "#c", "  # c", "a: x #c", "x y",
		"a: []", "a: {}", "a: [1]", "é: ü", "a: true", "a: 1", "a: ~", "a: <<", "<<: {}", "a: &x 1", "a: *x",
		"a:\n  b: c\n  d:\n  - e\n  - f: g\n    h: |\n      text\n\n      more", "a: x\n  y\n\n  z", "- - x", "a: b: c",
		"a: 'x", "a: \"x\\", "---", "--- x", "...", "a: |\n  x\n b", "a:\n  'q'", "a:\n  x\n   y",
		"a: >\n  x\n  y\n\n   z\n  w", "a: >+\n  x\n\n", "a: |\n   \n  x\n   ", "a: 'x\n\n  y''z\n  '", "a: \"x \\\n\n  y\\t \n z\"",
		"a: \"\n  x\"", "- \"x\n  y\"", "a:\n  \"x\n  y\"", "a: x\n  # c\n  y", "- |-\n  x\n- >\n  y", "a: x\x7f", "a: \u0085",
	}
	inputs = append(inputs, generated(rand.New(rand.NewSource(1)), 3000, pieces, 8)...)
	taken := 0
	for _, in := range inputs {
		taken += checkFastPaths(t, []byte(in))
	}
	t.Logf("%d documents of %d inputs taken without the library", taken, len(inputs))
	// About one input in five has a document taken; far fewer would mean
	// the comparison no longer reaches the fast paths.
	if taken < len(inputs)/6 {
		t.Errorf("only %d documents of %d inputs taken without the library", taken, len(inputs))
	}
}

func FuzzFastPathsAgreeWithLibrary(f *testing.F) {
	f.Add([]byte("kind: Secret\na: b\n---\nkind: Pod\nspec:\n  x: 'y'\n"))
	for _, in := range generated(rand.New(rand.NewSource(2)), 50, []string{"a: b", "- x", "a: |", "  x", "a: 'x", "a:", "---"}, 6) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkFastPaths(t, data) })
}

// checkFastPaths checks each document of data that a fast path takes,
// built or skipped, against the library, and returns how many there were.
func checkFastPaths(t *testing.T, data []byte) int {
	t.Helper()
	taken := 0
	for _, seg := range Split(data) {
		built, _ := fast(seg, nil, &scratch{})
		skipped, kindOnly := fast(seg, skipSecrets, &scratch{})
		if built == nil && skipped == nil {
			continue
		}
		taken++
		want, err := libraryRoot(seg)
		if err != nil {
			t.Fatalf("%q: taken, but the library says %v", seg.Text, err)
		}
		if built != nil {
			if err := sameTree(want, built); err != nil {
				t.Fatalf("%q: built: %v", seg.Text, err)
			}
		}
		if kindOnly && !sameKind(want, skipped) || skipped != nil && !kindOnly && sameTree(want, skipped) != nil {
			t.Fatalf("%q: skipped as %+v, the library's root is %+v", seg.Text, skipped.Content, want)
		}
	}
	return taken
}

// libraryRoot is the root of the one document the library reads from
// seg's text, its lines counted from the stream's start.
func libraryRoot(seg Segment) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(seg.Text))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("a second document (%v)", err)
	}
	root := doc.Content[0]
	shiftLines(root, seg.Line)
	return root, nil
}

// sameKind says whether a skipped document's root holds the library's
// root's position and its first "kind" entry.
func sameKind(want, got *yaml.Node) bool {
	if want.Kind != yaml.MappingNode || want.Line != got.Line || want.Column != got.Column {
		return false
	}
	for i := 0; i+1 < len(want.Content); i += 2 {
		if want.Content[i].Value == "kind" {
			return sameTree(want.Content[i], got.Content[0]) == nil && sameTree(want.Content[i+1], got.Content[1]) == nil
		}
	}
	return false
}

// sameTree compares two node trees, everything but their comments.
func sameTree(want, got *yaml.Node) error {
	if want.Kind != got.Kind || want.Style != got.Style || want.Tag != got.Tag || want.Value != got.Value ||
		want.Anchor != got.Anchor || want.Line != got.Line || want.Column != got.Column || len(want.Content) != len(got.Content) {
		return fmt.Errorf("the library's %+v, got %+v", *want, *got)
	}
	for i := range want.Content {
		if err := sameTree(want.Content[i], got.Content[i]); err != nil {
			return err
		}
	}
	return nil
}

// generated makes n inputs of one to three documents, each a "kind:
// Secret" line then fewer than most pieces at random indentations (a piece
// of several lines indented as a whole), with "---" lines, comments, no
// final line break or a comment after.
func generated(r *rand.Rand, n int, pieces []string, most int) []string {
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
				b.WriteString(indent + strings.ReplaceAll(pieces[r.Intn(len(pieces))], "\n", "\n"+indent) + "\n")
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
