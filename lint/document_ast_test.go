package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/inzone-io/inzone/lint/source"
	"github.com/inzone-io/inzone/test/shared"
)

// decodeAST is ast.InterfaceToValue of Decode, errors included.
func checkDecodeAST(t *testing.T, name string, data []byte) {
	t.Helper()
	err := eachDocument(name, data, nil, func(d *Document) {
		got, gotErr := d.decodeAST()
		v, wantErr := d.Decode()
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Errorf("%s#%d: error %v, want %v", name, d.Index, gotErr, wantErr)
			return
		}
		if wantErr != nil {
			return
		}
		want, err := ast.InterfaceToValue(v)
		if err != nil {
			t.Fatal(err)
		}
		if ast.Compare(got, want) != 0 {
			t.Errorf("%s#%d: decodeAST\n%v\nwant\n%v", name, d.Index, got, want)
		}
	})
	if err != nil && !strings.Contains(name, "bad") {
		t.Logf("%s: %v", name, err)
	}
}

func TestDecodeASTAgreesWithDecode(t *testing.T) {
	cases := map[string]string{
		"scalars":     "a: 1\nb: -2\nc: 1.5\nd: 1e3\ne: .inf\nf: .nan\ng: true\nh: null\ni: ~\nj: '1'\nk: 0x1F\nl: 0o17\nm: 99999999999999999999\nn: 2001-12-14\no: !!binary aGk=\np: !custom x\n",
		"duplicates":  "a: 1\na: 2\nb: {c: 1, c: 3}\n",
		"merge":       "base: &b {x: 1, y: 2}\nother: &o {y: 3, z: 4}\none: {<<: *b, y: 9}\ntwo: {y: 9, <<: [*b, *o]}\nthree:\n  <<: *o\n  <<: *b\n",
		"bad merge":   "a: &a [1]\nb: {<<: *a}\n",
		"ignore":      "!ignore anchors: &x {a: 1}\nb: *x\n",
		"aliases":     "a: &a [1, 2, {b: &s str}]\nc: *a\nd: *s\n*s : key from alias\n",
		"bad bomb":    "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
		"bad depth":   strings.Repeat("[", 250) + strings.Repeat("]", 250) + "\n",
		"documents":   "kind: A\n---\n- 1\n- [2, {a: b}]\n---\nplain\n---\n{}\n---\n[]\n",
		"bad bool":    "a: !!bool maybe\n",
		"bad int":     "a: !!int x\n",
		"bad float":   "a: !!float x\n",
		"tagged":      "a: !!str 1\nb: !!timestamp 2001-12-14\nc: \"true\"\nd: !!str\ne: ''\nf: kind\n",
		"yaml 1.1":    "a: yes\nb: Off\non: 1\n'no': 2\nc: [y, N, 'on']\nd: !!bool yes\ne: 1.0\nf: 1e3\ng: 18446744073709551615\nh: 1e400\n1.5: x\n",
		"merge order": "x: &x {a: 1, b: 1}\ny: &y {a: 2, c: 2}\nm: {a: 0, <<: [*x, *y], c: 3}\n",
		"bad key":     "~: x\n",
	}
	for name, text := range cases {
		checkDecodeAST(t, name, []byte(text))
	}
	corpus := filepath.Join(shared.Dir(t), "corpus")
	if _, err := os.Stat(corpus); err != nil {
		t.Skip("no corpus:", err)
	}
	err := filepath.WalkDir(corpus, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !source.IsManifest(p) {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		checkDecodeAST(t, p, data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
