package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// fakeLookup serves a fixed map and records the names it was asked about.
type fakeLookup struct {
	mu    sync.Mutex
	names map[string][]netip.Addr
	asked []string
}

func (f *fakeLookup) LookupDDSD(name string) ([]netip.Addr, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, name)
	a, ok := f.names[name]
	return a, ok
}

func (f *fakeLookup) wasAsked(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.asked, name)
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func manyV4(n int) []netip.Addr {
	var out []netip.Addr
	for i := range n {
		out = append(out, netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}))
	}
	return out
}

func testLookup() *fakeLookup {
	return &fakeLookup{names: map[string][]netip.Addr{
		"orders.service.prod.ddsd":   addrs("10.0.0.1", "10.0.0.2", "fd00::1"),
		"v6only.service.prod.ddsd":   addrs("fd00::2"),
		"mapped.service.prod.ddsd":   addrs("::ffff:10.0.0.9"),
		"empty.service.prod.ddsd":    nil,
		"crowd.service.prod.ddsd":    manyV4(300),
		"huge.service.prod.ddsd":     manyV4(10000),
		"outside.service.other.ddsd": addrs("10.9.9.9"), // known to the lookup, outside the domain
	}}
}

// startServer serves lookup on a loopback port and stops it when the test ends.
func startServer(t *testing.T, lookup Lookup, opts Options) *Server {
	t.Helper()
	if opts.Domain == "" {
		opts.Domain = "service.prod.ddsd"
	}
	s, err := NewServer("127.0.0.1:0", lookup, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	select {
	case <-s.Started():
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start returned %v after shutdown", err)
		}
	})
	return s
}

func exchange(t *testing.T, s *Server, network string, m *mdns.Msg) *mdns.Msg {
	t.Helper()
	addr := s.UDPAddr().String()
	if network == "tcp" {
		addr = s.TCPAddr().String()
	}
	c := &mdns.Client{Net: network, Timeout: 10 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s exchange: %v", network, err)
	}
	return r
}

func query(name string, qtype uint16) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

// answers lists an answer's addresses, sorted, and checks each record's
// name and TTL.
func answers(t *testing.T, r *mdns.Msg, qname string, ttl uint32) []string {
	t.Helper()
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Name != qname || rr.Header().Ttl != ttl {
			t.Errorf("record %s: want name %s and TTL %d", rr, qname, ttl)
		}
		switch rr := rr.(type) {
		case *mdns.A:
			out = append(out, rr.A.String())
		case *mdns.AAAA:
			out = append(out, rr.AAAA.String())
		default:
			t.Errorf("unexpected record %s", rr)
		}
	}
	slices.Sort(out)
	return out
}

func TestServerAnswers(t *testing.T) {
	lookup := testLookup()
	s := startServer(t, lookup, Options{})
	tests := []struct {
		name    string
		qname   string
		qtype   uint16
		qclass  uint16
		rcode   int
		want    []string
		soa     bool // a negative answer carries the SOA for caching
		noAsk   string
		refused bool
	}{
		{name: "A lists the IPv4 endpoints", qname: "orders.service.prod.ddsd.", qtype: mdns.TypeA, want: []string{"10.0.0.1", "10.0.0.2"}},
		{name: "AAAA lists the IPv6 endpoints", qname: "orders.service.prod.ddsd.", qtype: mdns.TypeAAAA, want: []string{"fd00::1"}},
		{name: "names are case-insensitive and echoed as asked", qname: "OrDeRs.Service.PROD.ddsd.", qtype: mdns.TypeA, want: []string{"10.0.0.1", "10.0.0.2"}},
		{name: "an IPv4-mapped address is an A record", qname: "mapped.service.prod.ddsd.", qtype: mdns.TypeA, want: []string{"10.0.0.9"}},
		{name: "A of an IPv6-only name is NODATA", qname: "v6only.service.prod.ddsd.", qtype: mdns.TypeA, soa: true},
		{name: "another type of a served name is NODATA", qname: "orders.service.prod.ddsd.", qtype: mdns.TypeMX, soa: true},
		{name: "TXT of a served name is NODATA", qname: "orders.service.prod.ddsd.", qtype: mdns.TypeTXT, soa: true},
		{name: "a served name without ready endpoints is NODATA", qname: "empty.service.prod.ddsd.", qtype: mdns.TypeA, soa: true},
		{name: "a name not served is NXDOMAIN", qname: "nope.service.prod.ddsd.", qtype: mdns.TypeA, rcode: mdns.RcodeNameError, soa: true},
		{name: "a deeper name not served is NXDOMAIN", qname: "a.orders.service.prod.ddsd.", qtype: mdns.TypeA, rcode: mdns.RcodeNameError, soa: true},
		{name: "the domain itself is NODATA", qname: "service.prod.ddsd.", qtype: mdns.TypeA, soa: true},
		{name: "a name outside the domain is REFUSED", qname: "outside.service.other.ddsd.", qtype: mdns.TypeA, rcode: mdns.RcodeRefused, noAsk: "outside.service.other.ddsd", refused: true},
		{name: "a parent of the domain is REFUSED", qname: "prod.ddsd.", qtype: mdns.TypeA, rcode: mdns.RcodeRefused, refused: true},
		{name: "a name merely ending like the domain is REFUSED", qname: "xservice.prod.ddsd.", qtype: mdns.TypeA, rcode: mdns.RcodeRefused, refused: true},
		{name: "the root is REFUSED", qname: ".", qtype: mdns.TypeNS, rcode: mdns.RcodeRefused, refused: true},
		{name: "the CHAOS class is REFUSED", qname: "orders.service.prod.ddsd.", qtype: mdns.TypeTXT, qclass: mdns.ClassCHAOS, rcode: mdns.RcodeRefused, refused: true},
		{name: "an escaped NUL byte is NXDOMAIN without asking", qname: `orders\000.service.prod.ddsd.`, qtype: mdns.TypeA, rcode: mdns.RcodeNameError, soa: true, noAsk: "orders\\000.service.prod.ddsd"},
		{name: "an escaped dot is NXDOMAIN without asking", qname: `orders\.x.service.prod.ddsd.`, qtype: mdns.TypeA, rcode: mdns.RcodeNameError, soa: true, noAsk: `orders\.x.service.prod.ddsd`},
		{name: "shell and YAML metacharacters are just a name not served", qname: `$\(reboot\)\;` + "`x`:{a:b}" + `\"\'.service.prod.ddsd.`, qtype: mdns.TypeA, rcode: mdns.RcodeNameError, soa: true},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				m := query(tt.qname, tt.qtype)
				if tt.qclass != 0 {
					m.Question[0].Qclass = tt.qclass
				}
				r := exchange(t, s, network, m)
				if r.Rcode != tt.rcode {
					t.Fatalf("rcode %s, want %s", mdns.RcodeToString[r.Rcode], mdns.RcodeToString[tt.rcode])
				}
				if r.Id != m.Id || len(r.Question) != 1 || r.Question[0].Name != tt.qname {
					t.Errorf("reply does not echo the query: %v", r.Question)
				}
				if got := answers(t, r, tt.qname, 5); !slices.Equal(got, tt.want) {
					t.Errorf("answers %v, want %v", got, tt.want)
				}
				if r.Authoritative == tt.refused {
					t.Errorf("authoritative = %v", r.Authoritative)
				}
				hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == mdns.TypeSOA && r.Ns[0].(*mdns.SOA).Minttl == 5
				if hasSOA != tt.soa {
					t.Errorf("authority %v, want SOA: %v", r.Ns, tt.soa)
				}
				if tt.noAsk != "" && lookup.wasAsked(tt.noAsk) {
					t.Errorf("the lookup was asked about %q", tt.noAsk)
				}
			})
		}
	}
}

func TestServerTTLIsAnOption(t *testing.T) {
	s := startServer(t, testLookup(), Options{TTL: 30 * time.Second})
	r := exchange(t, s, "udp", query("orders.service.prod.ddsd.", mdns.TypeA))
	if got := answers(t, r, "orders.service.prod.ddsd.", 30); len(got) != 2 {
		t.Fatalf("answers %v", got)
	}
}

func TestServerRootDomainServesEveryName(t *testing.T) {
	s := startServer(t, testLookup(), Options{Domain: "."})
	r := exchange(t, s, "udp", query("outside.service.other.ddsd.", mdns.TypeA))
	if got := answers(t, r, "outside.service.other.ddsd.", 5); !slices.Equal(got, []string{"10.9.9.9"}) {
		t.Fatalf("answers %v (rcode %d)", got, r.Rcode)
	}
}

func TestServerBoundsBigAnswers(t *testing.T) {
	const name = "crowd.service.prod.ddsd."
	tests := []struct {
		name       string
		qname      string // default crowd (300 endpoints)
		opts       Options
		network    string
		ednsSize   uint16 // 0: no EDNS0
		wantTC     bool
		maxBytes   int
		wantCount  int // exact, when not truncated
		wantFewest int
	}{
		{name: "UDP without EDNS fits 512 bytes and sets TC", network: "udp", wantTC: true, maxBytes: 512, wantFewest: 1},
		{name: "UDP with a 4096 EDNS buffer is held to 1232 bytes", network: "udp", ednsSize: 4096, wantTC: true, maxBytes: 1232, wantFewest: 30},
		{name: "UDP with a tiny EDNS buffer still gets 512 bytes", network: "udp", ednsSize: 100, wantTC: true, maxBytes: 512, wantFewest: 1},
		{name: "TCP carries every record up to the cap", network: "tcp", wantCount: DefaultMaxAnswers, maxBytes: mdns.MaxMsgSize},
		{name: "the record cap is an option", network: "tcp", opts: Options{MaxAnswers: 7}, wantCount: 7, maxBytes: mdns.MaxMsgSize},
		{name: "an answer under the cap over UDP is whole", network: "udp", ednsSize: 1232, opts: Options{MaxAnswers: 20}, wantCount: 20, maxBytes: 1232},
		{name: "10,000 endpoints over TCP are capped", network: "tcp", qname: "huge.service.prod.ddsd.", wantCount: DefaultMaxAnswers, maxBytes: mdns.MaxMsgSize},
		{name: "10,000 endpoints over UDP are truncated", network: "udp", ednsSize: 1232, qname: "huge.service.prod.ddsd.", wantTC: true, maxBytes: 1232, wantFewest: 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, testLookup(), tt.opts)
			qname := name
			if tt.qname != "" {
				qname = tt.qname
			}
			m := query(qname, mdns.TypeA)
			if tt.ednsSize != 0 {
				m.SetEdns0(tt.ednsSize, false)
			}
			// A raw exchange, so the reply's own size is measured.
			conn, err := net.Dial(tt.network, addrFor(s, tt.network))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			co := &mdns.Conn{Conn: conn, UDPSize: 65535}
			if err := co.WriteMsg(m); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			raw, err := co.ReadMsgHeader(nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) > tt.maxBytes {
				t.Errorf("reply of %d bytes, over %d", len(raw), tt.maxBytes)
			}
			r := new(mdns.Msg)
			if err := r.Unpack(raw); err != nil {
				t.Fatal(err)
			}
			if r.Truncated != tt.wantTC {
				t.Errorf("TC = %v, want %v", r.Truncated, tt.wantTC)
			}
			if (tt.ednsSize != 0) != (r.IsEdns0() != nil) {
				t.Errorf("EDNS0 in the reply: %v, in the query: %v", r.IsEdns0() != nil, tt.ednsSize != 0)
			}
			got := answers(t, r, qname, 5)
			if tt.wantCount != 0 && len(got) != tt.wantCount {
				t.Errorf("%d records, want %d", len(got), tt.wantCount)
			}
			if len(got) < tt.wantFewest {
				t.Errorf("%d records, want at least %d", len(got), tt.wantFewest)
			}
			if len(slices.Compact(got)) != len(got) {
				t.Errorf("duplicate records")
			}
		})
	}
}

func addrFor(s *Server, network string) string {
	if network == "tcp" {
		return s.TCPAddr().String()
	}
	return s.UDPAddr().String()
}

// header builds a raw 12-byte query header.
func header(id, qd, an, ns, ar uint16) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[4:], qd)
	binary.BigEndian.PutUint16(b[6:], an)
	binary.BigEndian.PutUint16(b[8:], ns)
	binary.BigEndian.PutUint16(b[10:], ar)
	return b
}

// question packs a raw question: labels as given (no checks), type A, class IN.
func question(labels ...[]byte) []byte {
	var b []byte
	for _, l := range labels {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0, 0, 1, 0, 1)
}

func TestServerHostileQueries(t *testing.T) {
	lookup := testLookup()
	s := startServer(t, lookup, Options{})
	label63 := []byte(strings.Repeat("a", 63))
	two, _ := query("orders.service.prod.ddsd.", mdns.TypeA).Pack()
	two[5] = 2 // qdcount 2, and a second copy of the question
	two = append(two, two[12:]...)
	tests := []struct {
		name   string
		packet []byte
		rcode  int // -1: no reply at all
	}{
		{name: "fewer bytes than a header get no reply", packet: []byte{0x12, 0x34, 0, 0, 0}, rcode: -1},
		{name: "an empty packet gets no reply", packet: []byte{}, rcode: -1},
		{name: "a response gets no reply", packet: append([]byte{0x12, 0x34, 0x80, 0}, header(0, 1, 0, 0, 0)[4:]...), rcode: -1},
		{name: "two questions are FORMERR", packet: two, rcode: mdns.RcodeFormatError},
		{name: "no question is FORMERR", packet: header(7, 0, 0, 0, 0), rcode: mdns.RcodeFormatError},
		{name: "a question cut short is FORMERR", packet: append(header(7, 1, 0, 0, 0), 6, 'o', 'r'), rcode: mdns.RcodeFormatError},
		{name: "a name over 255 bytes is FORMERR", packet: append(header(7, 1, 0, 0, 0), question(label63, label63, label63, label63, label63)...), rcode: mdns.RcodeFormatError},
		{name: "a label over 63 bytes is FORMERR", packet: append(header(7, 1, 0, 0, 0), question([]byte(strings.Repeat("b", 64)))...), rcode: mdns.RcodeFormatError},
		{name: "a compression pointer loop is FORMERR", packet: append(header(7, 1, 0, 0, 0), 0xc0, 12, 0, 1, 0, 1), rcode: mdns.RcodeFormatError},
		{name: "a dynamic update is NOTIMP", packet: append([]byte{0, 7, 0x28, 0}, header(0, 1, 0, 0, 0)[4:]...), rcode: mdns.RcodeNotImplemented},
		{name: "extra answer records in a query are FORMERR", packet: append(header(7, 1, 5, 0, 0), question([]byte("x"))...), rcode: mdns.RcodeFormatError},
		{name: "random bytes with a query header are FORMERR", packet: append(header(7, 1, 0, 0, 0), 0xff, 0xfe, 0x00, 0x13, 0x37, 0x42), rcode: mdns.RcodeFormatError},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				conn, err := net.Dial(network, addrFor(s, network))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				co := &mdns.Conn{Conn: conn}
				if network == "tcp" {
					l := make([]byte, 2)
					binary.BigEndian.PutUint16(l, uint16(len(tt.packet)))
					_, err = conn.Write(append(l, tt.packet...))
				} else {
					_, err = conn.Write(tt.packet)
				}
				if err != nil {
					t.Fatal(err)
				}
				if tt.rcode < 0 {
					// Nothing to wait for: the server must simply go on
					// serving, which the query below checks.
					checkServes(t, s, network)
					return
				}
				_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				r, err := co.ReadMsg()
				if err != nil {
					t.Fatal(err)
				}
				if r.Rcode != tt.rcode || len(r.Answer) != 0 {
					t.Errorf("rcode %s with %d answers, want %s", mdns.RcodeToString[r.Rcode], len(r.Answer), mdns.RcodeToString[tt.rcode])
				}
				checkServes(t, s, network)
			})
		}
	}
	// Only checkServes's valid queries reached the lookup.
	for _, name := range lookup.asked {
		if name != "orders.service.prod.ddsd" {
			t.Errorf("a malformed query reached the lookup: %q", name)
		}
	}
}

// checkServes asks a valid query and expects the right answer.
func checkServes(t *testing.T, s *Server, network string) {
	t.Helper()
	r := exchange(t, s, network, query("orders.service.prod.ddsd.", mdns.TypeA))
	if got := answers(t, r, "orders.service.prod.ddsd.", 5); len(got) != 2 {
		t.Fatalf("after the hostile query, answers %v", got)
	}
}

func TestServerOversizedUDPDatagram(t *testing.T) {
	s := startServer(t, testLookup(), Options{})
	conn, err := net.Dial("udp", s.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// 60 KB of a query padded with junk: the server reads at most its
	// buffer and must go on serving.
	q, _ := query("orders.service.prod.ddsd.", mdns.TypeA).Pack()
	if _, err := conn.Write(append(q, make([]byte, 60000)...)); err != nil {
		t.Fatal(err)
	}
	checkServes(t, s, "udp")
}

// TestServerClosesSlowTCPClients: a client that sends part of a query, or
// nothing, loses its connection after the read or idle timeout instead of
// holding a server goroutine forever.
func TestServerClosesSlowTCPClients(t *testing.T) {
	s := startServer(t, testLookup(), Options{ReadTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	tests := []struct {
		name string
		send []byte
	}{
		{name: "a client that sends nothing", send: nil},
		{name: "a client that sends half a length prefix", send: []byte{0}},
		{name: "a client that promises 65535 bytes and sends 3", send: []byte{0xff, 0xff, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", s.TCPAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			// The deadline only keeps a broken server from hanging the
			// test; the server's own timeout is 200ms.
			_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept the connection open")
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("read: %v, want the connection closed", err)
			}
		})
	}
	checkServes(t, s, "tcp")
}

func TestServerCapsTCPConnections(t *testing.T) {
	s := startServer(t, testLookup(), Options{MaxTCPConns: 2, ReadTimeout: time.Minute, IdleTimeout: time.Minute})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", s.TCPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// Both slots are taken by clients that say nothing: a third client is
	// accepted by the kernel but not served.
	conn, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	co := &mdns.Conn{Conn: conn}
	if err := co.WriteMsg(query("orders.service.prod.ddsd.", mdns.TypeA)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if r, err := co.ReadMsg(); err == nil {
		t.Fatalf("a third connection was served over the cap: %v", r)
	}
	// One slot frees: the waiting client is served.
	held[0].Close()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	r, err := co.ReadMsg()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Answer) != 2 {
		t.Fatalf("answers %v", r.Answer)
	}
}

func TestNewServerRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name   string
		addr   string
		lookup Lookup
		opts   Options
		want   string
	}{
		{name: "no lookup", addr: ":0", want: "Lookup"},
		{name: "an address without a port", addr: "127.0.0.1", lookup: testLookup(), want: "address"},
		{name: "a TTL under a second", addr: ":0", lookup: testLookup(), opts: Options{TTL: time.Millisecond}, want: "TTL"},
		{name: "a TTL over an hour", addr: ":0", lookup: testLookup(), opts: Options{TTL: 2 * time.Hour}, want: "TTL"},
		{name: "a UDP size under 512", addr: ":0", lookup: testLookup(), opts: Options{MaxUDPSize: 100}, want: "MaxUDPSize"},
		{name: "a negative answer cap", addr: ":0", lookup: testLookup(), opts: Options{MaxAnswers: -1}, want: "MaxAnswers"},
		{name: "a negative timeout", addr: ":0", lookup: testLookup(), opts: Options{ReadTimeout: -time.Second}, want: "ReadTimeout"},
		{name: "a domain with a label over 63 bytes", addr: ":0", lookup: testLookup(), opts: Options{Domain: strings.Repeat("x", 64) + ".ddsd"}, want: "Domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewServer(tt.addr, tt.lookup, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestServerShutdownFreesThePort(t *testing.T) {
	s, err := NewServer("127.0.0.1:0", testLookup(), Options{Domain: "service.prod.ddsd"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	<-s.Started()
	addr := s.TCPAddr().String()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port still held after shutdown: %v", err)
	}
	l.Close()
}

func TestServerShutdownBeforeStartClosesSockets(t *testing.T) {
	s, err := NewServer("127.0.0.1:0", testLookup(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	addr := s.UDPAddr().String()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("UDP port still held: %v", err)
	}
	pc.Close()
}

// TestServerRotatesAnswers: clients that take the first address reach
// every endpoint, not always the same one.
func TestServerRotatesAnswers(t *testing.T) {
	s := startServer(t, testLookup(), Options{})
	first := map[string]int{}
	for range 200 {
		r := exchange(t, s, "udp", query("crowd.service.prod.ddsd.", mdns.TypeA))
		if len(r.Answer) == 0 {
			t.Fatal("no answer")
		}
		first[r.Answer[0].(*mdns.A).A.String()]++
	}
	// 200 draws over 300 offsets: a fixed order would give one address.
	if len(first) < 50 {
		t.Errorf("the first address took only %d values over 200 queries", len(first))
	}
}
