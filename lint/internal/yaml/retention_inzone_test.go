package yaml

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// TestDocumentTreesDoNotKeepEarlierOnesAlive (inzone): nodes and Content
// slices are carved out of chunks; holding the last document's tree must
// not keep the trees of the documents before it alive through them.
func TestDocumentTreesDoNotKeepEarlierOnesAlive(t *testing.T) {
	doc := func(i int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "---\nkind: Pod\nmetadata: {name: p%d, labels: {a: b, c: d}}\nspec:\n  containers:\n", i)
		for j := 0; j < 4; j++ {
			fmt.Fprintf(&b, "  - {name: c%d, args: [x, y, z], env: [{name: A, value: B}]}\n", j)
		}
		return b.String()
	}
	var b strings.Builder
	const docs = 2000
	for i := 0; i < docs; i++ {
		b.WriteString(doc(i))
	}
	input := []byte(b.String())
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	dec := NewDocumentDecoder(input, func(string) bool { return false })
	var last, all Node
	n := 0
	for {
		if err := dec.DecodeNode(&last); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
	dec.Release()
	if n != docs {
		t.Fatalf("decoded %d documents, want %d", n, docs)
	}
	kept := heap() - min(before, heap())
	// What one tree takes, to compare with: the same document alone.
	one := NewDocumentDecoder([]byte(doc(0)), func(string) bool { return false })
	b0 := heap()
	if err := one.DecodeNode(&all); err != nil {
		t.Fatal(err)
	}
	tree := heap() - min(b0, heap())
	runtime.KeepAlive(&all)
	if limit := 50*tree + 1<<20; kept > limit {
		t.Errorf("holding the last of %d documents keeps %d bytes alive; one tree is %d bytes", docs, kept, tree)
	}
	runtime.KeepAlive(&last)
}
