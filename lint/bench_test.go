package lint

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/inzone-io/inzone/lint/file"
	"github.com/inzone-io/inzone/lint/source"
	"github.com/inzone-io/inzone/test/shared"
)

// BenchmarkLintCorpus lints ../shared/corpus (every file, all rules) in
// process, at 1x, 4x and 16x its size, and reports documents per second.
// Whole-binary runs, with peak memory and conftest beside them, are
// hack/bench-lint.sh.
func BenchmarkLintCorpus(b *testing.B) {
	corpus := filepath.Join(shared.Dir(b), "corpus")
	files, errs := source.Collect(os.DirFS(corpus), []string{"k8s", "envoy"}, source.Options{})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	l := testLinter(b)
	for _, n := range []int{1, 4, 16} {
		var batch []file.File
		for i := 0; i < n; i++ {
			batch = append(batch, files...)
		}
		b.Run(map[int]string{1: "1x", 4: "4x", 16: "16x"}[n], func(b *testing.B) {
			b.ReportAllocs()
			docs := 0
			for b.Loop() {
				rep := l.Lint(context.Background(), batch)
				docs += rep.Documents
			}
			b.ReportMetric(float64(docs)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}

// BenchmarkParseCorpus parses ../shared/corpus as lintFile does, skipping
// the documents of kinds no rule reads: the YAML side of BenchmarkLintCorpus.
func BenchmarkParseCorpus(b *testing.B) {
	corpus := filepath.Join(shared.Dir(b), "corpus")
	files, errs := source.Collect(os.DirFS(corpus), []string{"k8s", "envoy"}, source.Options{})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	var data [][]byte
	size := 0
	for _, f := range files {
		d, err := f.Load()
		if err != nil {
			b.Fatal(err)
		}
		data, size = append(data, d), size+len(d)
	}
	fl := fileLinter{engine: testLinter(b).Engine}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for i, d := range data {
			if err := eachDocument(files[i].Path, d, fl.skips, func(*Document) {}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
