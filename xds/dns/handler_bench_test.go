package dns

import (
	"testing"

	mdns "github.com/miekg/dns"
)

// BenchmarkAnswer is the work per query without the network: building the
// answer with ServeDNS's record limit, truncating it and packing it.
func BenchmarkAnswer(b *testing.B) {
	opts := Options{}
	opts.setDefaults()
	h := newHandler(testLookup(), "service.prod.ddsd", opts)
	for _, bc := range []struct {
		name, qname string
		size        int
	}{
		{"3 endpoints UDP", "orders.service.prod.ddsd.", mdns.MinMsgSize},
		{"300 endpoints UDP", "crowd.service.prod.ddsd.", mdns.MinMsgSize},
		{"300 endpoints TCP capped at 256", "crowd.service.prod.ddsd.", mdns.MaxMsgSize},
		{"NXDOMAIN", "nope.service.prod.ddsd.", mdns.MinMsgSize},
	} {
		req := query(bc.qname, mdns.TypeA)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m := h.answer(req, min(h.maxAnswers, bc.size/16+1))
				m.Truncate(bc.size)
				if _, err := m.Pack(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
