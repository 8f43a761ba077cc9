// Package coredns runs the Corefile the README documents (a cluster DNS
// forwarding the DDSD domain to inzone-xds's DNS) with a real CoreDNS, built
// into ./bin by `make bin` (hack/build-coredns.sh), and queries through it.
package coredns

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/inzone-io/inzone/test/envtest"
	xdsdns "github.com/inzone-io/inzone/xds/dns"
)

// The documented block's placeholders, replaced to run on loopback.
const (
	docZone      = "service.prod.ddsd:53 {"
	docClusterIP = "10.96.0.53"
)

type lookup map[string][]netip.Addr

func (l lookup) LookupDDSD(name string) ([]netip.Addr, bool) {
	a, ok := l[name]
	return a, ok
}

func TestREADMEShowsTheTestedCorefile(t *testing.T) {
	root, err := envtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "Corefile"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### DNS for the DDSD domain")
	if !ok {
		t.Fatal("README has no DNS for the DDSD domain section")
	}
	if !strings.Contains(section, "```\n"+string(want)+"```\n") {
		t.Errorf("the README's Corefile is not testdata/Corefile:\n%s", want)
	}
}

// freePort finds a loopback port free for UDP and TCP.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func manyV4(n int) []netip.Addr {
	var out []netip.Addr
	for i := range n {
		out = append(out, netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}))
	}
	return out
}

// startCoreDNS runs ./bin/coredns with the documented Corefile, its zone on
// a loopback port and its forward pointed at upstream.
func startCoreDNS(t *testing.T, upstream string) string {
	t.Helper()
	dir, err := envtest.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "coredns")
	if _, err := os.Stat(bin); err != nil {
		if envtest.Required() {
			t.Fatalf("%s is missing: run `make bin` (hack/build-coredns.sh)", bin)
		}
		t.Skipf("%s is missing: run `make bin` (hack/build-coredns.sh)", bin)
	}
	doc, err := os.ReadFile(filepath.Join("testdata", "Corefile"))
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	corefile := string(doc)
	if !strings.Contains(corefile, docZone) || !strings.Contains(corefile, docClusterIP) {
		t.Fatalf("testdata/Corefile lacks %q or %q", docZone, docClusterIP)
	}
	corefile = strings.Replace(corefile, docZone, "service.prod.ddsd:"+strconv.Itoa(port)+" {\n    bind 127.0.0.1", 1)
	corefile = strings.Replace(corefile, docClusterIP, upstream, 1)
	conf := filepath.Join(t.TempDir(), "Corefile")
	if err := os.WriteFile(conf, []byte(corefile), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-conf", conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("coredns output:\n%s", out.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// Wait until CoreDNS answers (a readiness poll, bounded by the deadline
	// only so a broken binary cannot hang the test).
	deadline := time.Now().Add(60 * time.Second)
	for {
		m := new(mdns.Msg)
		m.SetQuestion("service.prod.ddsd.", mdns.TypeSOA)
		c := &mdns.Client{Net: "tcp", Timeout: time.Second}
		if _, _, err := c.Exchange(m, addr); err == nil {
			return addr
		}
		select {
		case <-done:
			t.Fatalf("coredns exited:\n%s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("coredns did not answer on %s:\n%s", addr, out.String())
		}
	}
}

func TestCoreDNSForwardsTheDDSDDomainToInzoneXDS(t *testing.T) {
	names := lookup{
		"orders.service.prod.ddsd": {netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fd00::1")},
		"crowd.service.prod.ddsd":  manyV4(300),
	}
	srv, err := xdsdns.NewServer("127.0.0.1:0", names, xdsdns.Options{Domain: "service.prod.ddsd"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })
	<-srv.Started()

	addr := startCoreDNS(t, srv.UDPAddr().String())
	tests := []struct {
		name    string
		network string
		qname   string
		qtype   uint16
		rcode   int
		want    []string // sorted addresses; nil: none
		count   int      // when want is nil and records are expected
		tc      bool
	}{
		{name: "A through CoreDNS", network: "udp", qname: "orders.service.prod.ddsd.", qtype: mdns.TypeA, want: []string{"10.0.0.1", "10.0.0.2"}},
		{name: "AAAA through CoreDNS", network: "udp", qname: "orders.service.prod.ddsd.", qtype: mdns.TypeAAAA, want: []string{"fd00::1"}},
		{name: "A over TCP", network: "tcp", qname: "orders.service.prod.ddsd.", qtype: mdns.TypeA, want: []string{"10.0.0.1", "10.0.0.2"}},
		{name: "mixed case", network: "udp", qname: "ORDERS.service.Prod.ddsd.", qtype: mdns.TypeA, want: []string{"10.0.0.1", "10.0.0.2"}},
		{name: "a name inzone does not serve is NXDOMAIN", network: "udp", qname: "nope.service.prod.ddsd.", qtype: mdns.TypeA, rcode: mdns.RcodeNameError},
		{name: "another type is NODATA", network: "udp", qname: "orders.service.prod.ddsd.", qtype: mdns.TypeMX},
		{name: "a big answer over UDP is truncated", network: "udp", qname: "crowd.service.prod.ddsd.", qtype: mdns.TypeA, tc: true},
		{name: "a big answer over TCP carries the capped set", network: "tcp", qname: "crowd.service.prod.ddsd.", qtype: mdns.TypeA, count: xdsdns.DefaultMaxAnswers},
		{name: "names outside the forwarded zone are not inzone's", network: "udp", qname: "example.com.", qtype: mdns.TypeA, rcode: mdns.RcodeRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := new(mdns.Msg)
			m.SetQuestion(tt.qname, tt.qtype)
			c := &mdns.Client{Net: tt.network, Timeout: 10 * time.Second}
			r, _, err := c.Exchange(m, addr)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rcode != tt.rcode {
				t.Fatalf("rcode %s, want %s", mdns.RcodeToString[r.Rcode], mdns.RcodeToString[tt.rcode])
			}
			if r.Truncated != tt.tc {
				t.Errorf("TC = %v, want %v", r.Truncated, tt.tc)
			}
			var got []string
			for _, rr := range r.Answer {
				switch rr := rr.(type) {
				case *mdns.A:
					got = append(got, rr.A.String())
				case *mdns.AAAA:
					got = append(got, rr.AAAA.String())
				}
				if rr.Header().Ttl > 5 {
					t.Errorf("TTL %d over inzone's 5 s", rr.Header().Ttl)
				}
			}
			slices.Sort(got)
			switch {
			case tt.want != nil:
				if !slices.Equal(got, tt.want) {
					t.Errorf("answers %v, want %v", got, tt.want)
				}
			case tt.count > 0:
				if len(got) != tt.count {
					t.Errorf("%d answers, want %d", len(got), tt.count)
				}
			case !tt.tc && len(got) != 0:
				t.Errorf("answers %v, want none", got)
			}
		})
	}
}
