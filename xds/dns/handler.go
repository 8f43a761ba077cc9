package dns

import (
	"math/rand/v2"
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"
)

// Lookup is what the DNS server asks of the xDS side.
type Lookup interface {
	// LookupDDSD returns the ready endpoint addresses of a DDSD name (lower
	// case, no trailing dot). ok is false for a name inzone does not serve;
	// ok with no addresses is a served name with no ready endpoint.
	LookupDDSD(name string) (addrs []netip.Addr, ok bool)
}

// handler answers one query; it is the miekg/dns Handler of both the UDP
// and the TCP server.
type handler struct {
	lookup Lookup
	// zone is the DDSD domain as a lower-case FQDN ("service.prod.ddsd."),
	// "." for every name.
	zone       string
	ttl        uint32
	maxAnswers int
	maxUDPSize uint16
	soa        *mdns.SOA
}

func newHandler(lookup Lookup, domain string, o Options) *handler {
	zone := mdns.CanonicalName(domain)
	ttl := uint32(o.TTL.Seconds())
	return &handler{
		lookup:     lookup,
		zone:       zone,
		ttl:        ttl,
		maxAnswers: o.MaxAnswers,
		maxUDPSize: o.MaxUDPSize,
		// The SOA in negative answers lets resolvers (CoreDNS's cache) cache
		// an NXDOMAIN or NODATA for the same short TTL as the records
		// (RFC 2308: the SOA's TTL and MINIMUM bound it).
		soa: &mdns.SOA{
			Hdr:     mdns.RR_Header{Name: zone, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: ttl},
			Ns:      "ns.inzone-xds." + strings.TrimPrefix(zone, "."),
			Mbox:    "hostmaster.inzone-xds." + strings.TrimPrefix(zone, "."),
			Serial:  1,
			Refresh: ttl, Retry: ttl, Expire: ttl, Minttl: ttl,
		},
	}
}

// ServeDNS answers a query miekg/dns has already parsed and accepted
// (exactly one question, a query opcode; malformed and multi-question
// messages get FORMERR before they reach here).
func (h *handler) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	size := mdns.MaxMsgSize
	if w.LocalAddr().Network() == "udp" {
		size = mdns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(min(max(opt.UDPSize(), mdns.MinMsgSize), h.maxUDPSize))
		}
	}
	// An A record takes at least 16 bytes on the wire: more than size/16
	// records cannot fit, so they are not built.
	m := h.answer(req, min(h.maxAnswers, size/16+1))
	if opt := req.IsEdns0(); opt != nil {
		// Answer EDNS with EDNS (RFC 6891), advertising our own size.
		m.SetEdns0(h.maxUDPSize, false)
	}
	// What does not fit in a UDP reply sets TC, and the client asks again
	// over TCP, which carries every record up to maxAnswers.
	m.Truncate(size)
	_ = w.WriteMsg(m)
}

// answer builds the reply to a query with at most limit records, without
// transport concerns.
func (h *handler) answer(req *mdns.Msg, limit int) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = false
	m.Compress = true
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	if q.Qclass != mdns.ClassINET && q.Qclass != mdns.ClassANY || !mdns.IsSubDomain(h.zone, name) {
		// Not ours: say so rather than NXDOMAIN, so a misrouted query is
		// seen as a forwarding mistake, not as a name that does not exist.
		m.Authoritative = false
		m.Rcode = mdns.RcodeRefused
		return m
	}
	if name == h.zone {
		// The domain itself exists and holds no address.
		m.Ns = []mdns.RR{h.soa}
		return m
	}
	addrs, ok := h.lookupName(name)
	if !ok {
		m.Rcode = mdns.RcodeNameError
		m.Ns = []mdns.RR{h.soa}
		return m
	}
	want4 := q.Qtype == mdns.TypeA || q.Qtype == mdns.TypeANY
	want6 := q.Qtype == mdns.TypeAAAA || q.Qtype == mdns.TypeANY
	// Rotated from a random offset, as CoreDNS's loadbalance plugin
	// shuffles, so clients that take the first address spread over the
	// endpoints; in O(limit) for a Service of 10,000 endpoints too.
	start := 0
	if len(addrs) > 1 {
		start = rand.IntN(len(addrs))
	}
	for i := range addrs {
		if len(m.Answer) >= limit {
			break
		}
		a := addrs[(start+i)%len(addrs)].Unmap()
		hdr := mdns.RR_Header{Name: q.Name, Class: mdns.ClassINET, Ttl: h.ttl}
		switch {
		case a.Is4() && want4:
			hdr.Rrtype = mdns.TypeA
			m.Answer = append(m.Answer, &mdns.A{Hdr: hdr, A: a.AsSlice()})
		case a.Is6() && want6:
			hdr.Rrtype = mdns.TypeAAAA
			m.Answer = append(m.Answer, &mdns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
		}
	}
	if len(m.Answer) == 0 {
		// NODATA: the name exists, not with this type (or has no ready
		// endpoint right now).
		m.Ns = []mdns.RR{h.soa}
	}
	return m
}

// lookupName asks the Lookup about a name in the zone. Names that cannot be
// a DDSD name (escaped bytes such as \000 or \., which miekg/dns keeps in
// its presentation form) are not asked about: they do not exist.
func (h *handler) lookupName(fqdn string) ([]netip.Addr, bool) {
	if strings.ContainsRune(fqdn, '\\') {
		return nil, false
	}
	return h.lookup.LookupDDSD(strings.TrimSuffix(fqdn, "."))
}
