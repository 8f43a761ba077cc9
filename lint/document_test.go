package lint

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/inzone-io/inzone/internal/yamldoc"
	"github.com/inzone-io/inzone/report"
)

const multiDoc = `# leading comment
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  ports:
  - port: 80
---
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b}
`

func TestParseDocumentsSplitsStreamsAndLists(t *testing.T) {
	docs, err := ParseDocuments("m.yaml", []byte(multiDoc))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range docs {
		v, err := d.Decode()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, objectRef(v.(map[string]any)).Name)
	}
	if got := strings.Join(names, ","); got != "web,a,b" {
		t.Fatalf("documents = %s, want web,a,b (empty document skipped, List expanded)", got)
	}
	if p := docs[2].Locate([]any{"metadata", "name"}); p.Line != 20 {
		t.Errorf("List item b's name at line %d, want 20", p.Line)
	}
}

func TestLocate(t *testing.T) {
	docs, err := ParseDocuments("m.yaml", []byte(multiDoc))
	if err != nil {
		t.Fatal(err)
	}
	svc := docs[0]
	tests := []struct {
		name string
		path []any
		want Position
	}{
		{"a field that exists points at its key", []any{"spec", "type"}, Position{7, 3}},
		{"an unset field points at its nearest parent", []any{"spec", "externalTrafficPolicy"}, Position{6, 1}},
		{"a list index points at the element", []any{"spec", "ports", 0, "port"}, Position{9, 5}},
		{"a JSON number index works too", []any{"spec", "ports", float64(0)}, Position{9, 5}},
		{"an index past the end stops at the list", []any{"spec", "ports", 3}, Position{8, 3}},
		{"the empty path is the document", nil, Position{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := svc.Locate(tt.path); got != tt.want {
				t.Errorf("Locate(%v) = %+v, want %+v", tt.path, got, tt.want)
			}
		})
	}
}

func TestLocateMatchesCamelAndSnakeCase(t *testing.T) {
	docs, err := ParseDocuments("e.json", []byte(`{"clusterManager": {"localClusterName": "x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p := docs[0].Locate([]any{"cluster_manager", "local_cluster_name"}); p.Column != 21 {
		t.Errorf("snake_case path did not find the camelCase key: %+v", p)
	}
}

func TestNodeValueResolvesYAMLFeatures(t *testing.T) {
	src := `base: &base {a: 1, b: two}
merged:
  <<: *base
  b: three
when: 2024-01-02
big: 99999999999999999999
!ignore defaults: &d {x: 1}
uses: *d
`
	docs, err := ParseDocuments("f.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	v, err := docs[0].Decode()
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	merged := m["merged"].(map[string]any)
	if merged["a"] != int64(1) || merged["b"] != "three" {
		t.Errorf("merge key: %v (a key after the merge wins)", merged)
	}
	if m["when"] != "2024-01-02" {
		t.Errorf("timestamp = %#v, want the text", m["when"])
	}
	if _, ok := m["big"].(float64); !ok {
		t.Errorf("an int beyond int64 = %#v, want a float", m["big"])
	}
	if _, kept := m["defaults"]; kept || m["uses"].(map[string]any)["x"] != int64(1) {
		t.Errorf("an !ignore key must be dropped while its anchor still works: %v", m)
	}
}

// TestDecodeReadsValuesAsTheAPIServer: the values inject reads too
// (yamldoc.Value). Before one decoder, lint read yes as "yes", .nan as
// ".nan" and 1.0 as a float, unlike the API server.
func TestDecodeReadsValuesAsTheAPIServer(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want any
		err  string
	}{
		{src: "a: yes", want: true},
		{src: "a: off", want: false},
		{src: "a: 'yes'", want: "yes"},
		{src: "on: x", want: map[string]any{"true": "x"}},
		{src: "a: !!bool yes", want: true},
		{src: "a: 1.0", want: int64(1)},
		{src: "a: 1.5", want: 1.5},
		{src: "a: 18446744073709551615", want: float64(18446744073709551615)},
		{src: "a: 9223372036854775807", want: int64(9223372036854775807)},
		{src: "a: 1e400", want: "1e400"},
		{src: "a: .nan", err: "line 1: line 1: number .nan has no JSON form"},
		{src: "a: 1\na: 2", want: int64(2)},
	} {
		t.Run(tt.src, func(t *testing.T) {
			docs, err := ParseDocuments("f.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			v, err := docs[0].Decode()
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := v.(map[string]any)["a"]
			if m, ok := tt.want.(map[string]any); ok {
				got = v
				tt.want = m
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseDocumentsReportsTheLine(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
	}{
		{"an unclosed flow sequence is reported where it starts", "a: 1\nb: 2\nc: 3\nkind: [Service\nd: 4\n", 4},
		{"after a document separator too", "apiVersion: v1\nkind: ConfigMap\n---\nkind: [\n", 4},
		{"a bad indentation (a scanner error)", "a: 1\n  b: 2\n", 2},
		{"an unterminated string", "a: 1\nb: \"unterminated\n", 2},
		{"a tab in the indentation", "a: 1\n\tb: 2\n", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDocuments("bad.yaml", []byte(tt.src))
			var fe report.FileError
			if !errors.As(err, &fe) || fe.Line != tt.line || fe.File != "bad.yaml" {
				t.Fatalf("err = %#v, want a FileError at bad.yaml line %d", err, tt.line)
			}
			if !strings.Contains(fe.Message, fmt.Sprintf("line %d", tt.line)) {
				t.Errorf("message %q names another line", fe.Message)
			}
		})
	}
	docs, _ := ParseDocuments("bad.yaml", []byte("apiVersion: v1\nkind: ConfigMap\n---\nkind: [\n"))
	if len(docs) != 1 {
		t.Errorf("the document before the error is lost: %d documents", len(docs))
	}
}

func TestParseDocumentsRefusesHostileNesting(t *testing.T) {
	src := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	docs, err := ParseDocuments("deep.yaml", []byte(src))
	if err == nil {
		_, err = docs[0].Decode()
	}
	if err == nil {
		t.Fatal("want an error for nesting beyond the limit")
	}
}

func TestParseDocumentsRefusesAliasBombs(t *testing.T) {
	src := "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		src += name + ": &" + name + " [" + strings.Repeat("*"+prev+",", 9) + "*" + prev + "]\n"
		prev = name
	}
	decode := func(src string) error {
		docs, err := ParseDocuments("f.yaml", []byte(src))
		if err != nil {
			return err
		}
		_, err = docs[0].Decode()
		return err
	}
	if err := decode(src); !errors.Is(err, yamldoc.ErrTooManyValues) {
		t.Fatalf("err = %v, want the alias bomb refused", err)
	}
	if err := decode("base: &b {a: 1, b: 2}\nx: *b\ny: *b\nz: {<<: *b, c: 3}\n"); err != nil {
		t.Fatalf("ordinary anchors refused: %v", err)
	}
}

// TestCRLineBreaksPlaceTheDocument: the fuzzer's find: with CR line
// breaks, the document is on line 2, the last line (yamldoc.LastLine).
func TestCRLineBreaksPlaceTheDocument(t *testing.T) {
	docs, err := ParseDocuments("f.yaml", []byte("\r0"))
	if err != nil || len(docs) != 1 {
		t.Fatalf("docs %d, err %v", len(docs), err)
	}
	if got := docs[0].Locate(nil).Line; got > yamldoc.LastLine([]byte("\r0")) {
		t.Errorf("the document is at line %d, past the last line", got)
	}
}
