package envoy

import (
	"os"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// BenchmarkValidate runs validate, the walk into every Any that Parse
// falls back on when validBuilt says no, over the corpus's bootstraps as
// the builder reads them: BenchmarkParse alone hardly reaches it.
func BenchmarkValidate(b *testing.B) {
	corpus := sharedCorpus(b)
	type bootstrap struct {
		p   *parser
		msg proto.Message
	}
	var all []bootstrap
	for _, file := range corpusFiles(b, corpus) {
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		doc := decodeYAML(b, string(data))
		if format, ok := Detect(doc); !ok || format != Bootstrap {
			continue
		}
		p := &parser{doc: doc, anys: map[*anypb.Any]proto.Message{}}
		msg := &bootstrapv3.Bootstrap{}
		if _, ok := build(msg, doc, p.anys); !ok {
			continue
		}
		all = append(all, bootstrap{p, msg})
	}
	if len(all) == 0 {
		b.Skip("no bootstrap in the corpus that the builder reads")
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range all {
			_ = c.p.validate(c.msg, c.p.doc, nil)
		}
	}
	b.ReportMetric(float64(len(all)), "configs")
}
