package dns

import (
	"testing"

	mdns "github.com/miekg/dns"
)

// FuzzAnswer: whatever query miekg/dns accepts, the answer packs, fits the
// size it is truncated to, and never carries more than the record cap.
func FuzzAnswer(f *testing.F) {
	for _, q := range []*mdns.Msg{
		query("orders.service.prod.ddsd.", mdns.TypeA),
		query("crowd.service.prod.ddsd.", mdns.TypeANY),
		query(`a\000.service.prod.ddsd.`, mdns.TypeAAAA),
		query("example.com.", mdns.TypeMX),
	} {
		b, err := q.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(0))
		f.Add(b, uint16(4096))
	}
	opts := Options{}
	opts.setDefaults()
	h := newHandler(testLookup(), "service.prod.ddsd", opts)
	f.Fuzz(func(t *testing.T, data []byte, edns uint16) {
		req := new(mdns.Msg)
		if err := req.Unpack(data); err != nil || len(req.Question) != 1 {
			return
		}
		if edns != 0 && req.IsEdns0() == nil {
			req.SetEdns0(edns, false)
		}
		m := h.answer(req, opts.MaxAnswers)
		if len(m.Answer) > opts.MaxAnswers {
			t.Fatalf("%d answers over the cap", len(m.Answer))
		}
		m.Truncate(mdns.MinMsgSize)
		out, err := m.Pack()
		if err != nil {
			t.Fatalf("the answer does not pack: %v", err)
		}
		if len(out) > mdns.MinMsgSize && len(m.Answer) > 0 {
			t.Fatalf("a truncated answer of %d bytes", len(out))
		}
	})
}
