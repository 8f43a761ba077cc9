package yaml

import (
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
			// Past the input's last few characters the scanner reads its own
			// buffer, where no document is skipped this way: a comment at the
			// end keeps these documents clear of it.
			in := tc.in + "\n# " + strings.Repeat("-", 64) + "\n"
			dec := NewDocumentDecoder([]byte(in), func(k string) bool { return k == "CustomResourceDefinition" })
			defer dec.Release()
			docs := 0
			for {
				var n Node
				if err := dec.DecodeNode(&n); err != nil {
					break
				}
				docs++
			}
			if got := dec.parser.fastSkipped; got != tc.fast || docs != tc.docs {
				t.Errorf("%d documents, %d skipped without libyaml; want %d, %d", docs, got, tc.docs, tc.fast)
			}
		})
	}
}
