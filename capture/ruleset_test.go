package capture

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inzone-io/inzone/test/golden"
)

func base() Settings {
	return Settings{ProxyUID: 1337, OutboundPort: 15001, InboundPort: 15006, ExcludeInboundPorts: []uint16{15000, 15021}}
}

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, v := range s {
		out[i] = netip.MustParsePrefix(v)
	}
	return out
}

// TestRulesetGolden renders each combination of settings for both families
// and compares with testdata/<case>.<family>.rules.
func TestRulesetGolden(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Settings)
	}{
		{"defaults", func(*Settings) {}},
		{"exclude-outbound-ports", func(s *Settings) { s.ExcludeOutboundPorts = []uint16{3306, 5432} }},
		{"exclude-inbound-ports", func(s *Settings) { s.ExcludeInboundPorts = append(s.ExcludeInboundPorts, 9090) }},
		{"include-inbound-ports", func(s *Settings) { s.IncludeInboundPorts = []uint16{8080, 8443} }},
		{"exclude-outbound-cidrs", func(s *Settings) {
			s.ExcludeOutboundCIDRs = prefixes("169.254.169.254/32", "10.0.0.0/8", "fd00:ec2::254/128")
		}},
		{"include-outbound-cidrs", func(s *Settings) { s.IncludeOutboundCIDRs = prefixes("10.96.0.0/12", "2001:db8:96::/112") }},
		{"include-outbound-cidrs-ipv4-only", func(s *Settings) { s.IncludeOutboundCIDRs = prefixes("10.96.0.0/12") }},
		{"everything", func(s *Settings) {
			s.ProxyUID = 2000
			s.OutboundPort, s.InboundPort = 16001, 16006
			s.ExcludeOutboundPorts = []uint16{443}
			s.ExcludeInboundPorts = []uint16{16006, 9090}
			s.IncludeInboundPorts = []uint16{8080}
			s.ExcludeOutboundCIDRs = prefixes("192.0.2.0/24", "2001:db8::/32")
			s.IncludeOutboundCIDRs = prefixes("198.51.100.0/24", "2001:db8:1::/48")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.edit(&s)
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, f := range []Family{IPv4, IPv6} {
				golden.Assert(t, filepath.Join("testdata", tt.name+"."+strings.ToLower(f.String())+".rules"), []byte(s.Ruleset(f)))
			}
		})
	}
}

func TestWithoutInstalledJumps(t *testing.T) {
	s := base()
	rules := s.Ruleset(IPv4)
	tests := []struct {
		name      string
		saved     string
		wantJumps int
	}{
		{"an empty table keeps both jumps", "", 2},
		{"a table with inzone's jumps drops both", "*nat\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p tcp -j INZONE_INBOUND\n-A OUTPUT -p tcp -j INZONE_OUTPUT\nCOMMIT\n", 0},
		{"a table with one jump keeps the other", "-A OUTPUT -p tcp -j INZONE_OUTPUT\n", 1},
		{"someone else's similar rule is not ours", "-A OUTPUT -p udp -j INZONE_OUTPUT\n-A OUTPUT -j INZONE_OUTPUT\n", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WithoutInstalledJumps(rules, tt.saved)
			n := 0
			for l := range strings.Lines(got) {
				if isJump(strings.TrimSpace(l)) {
					n++
				}
			}
			if n != tt.wantJumps {
				t.Errorf("jumps = %d, want %d:\n%s", n, tt.wantJumps, got)
			}
			if !strings.Contains(got, ":"+ChainOutbound+" - [0:0]") || !strings.HasSuffix(got, "COMMIT\n") {
				t.Errorf("chains must always be re-declared (flushed) and the table committed:\n%s", got)
			}
		})
	}
}

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{"", "", ""},
		{"8080", "8080", ""},
		{" 9090, 8080 ,8080,", "8080,9090", ""},
		{"0", "", "not a port"},
		{"65536", "", "not a port"},
		{"-1", "", "not a port"},
		{"80-90", "", "not a port"},
		{"8080;rm -rf /", "", "not a port"},
		{"$(id)", "", "not a port"},
		{"0x50", "", "not a port"},
		{strings.Repeat("1,", 65), "", "entries, at most"},
		{strings.Repeat("1", MaxListLength+1), "", "bytes, at most"},
	}
	for _, tt := range tests {
		got, err := ParsePorts(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePorts(%.40q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || FormatPorts(got) != tt.want {
			t.Errorf("ParsePorts(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestParseCIDRs(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{"", "", ""},
		{"192.0.2.0/24", "192.0.2.0/24", ""},
		{"2001:db8::/32, 192.0.2.7", "192.0.2.7/32,2001:db8::/32", ""},
		{"2001:db8::1", "2001:db8::1/128", ""},
		{"192.0.2.1/24", "", "host bits set (did you mean 192.0.2.0/24?)"},
		{"192.0.2.0/33", "", "not a CIDR"},
		{"example.com", "", "not an IP address"},
		{"fe80::1%eth0", "", "not an IP address"},
		{"::ffff:192.0.2.1", "", "as IPv4"},
		{"192.0.2.0/24\n-A OUTPUT -j ACCEPT", "", "not a CIDR"},
	}
	for _, tt := range tests {
		got, err := ParseCIDRs(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseCIDRs(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || FormatCIDRs(got) != tt.want {
			t.Errorf("ParseCIDRs(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Settings)
		wantErr string
	}{
		{"defaults are valid", func(*Settings) {}, ""},
		{"proxy UID 0 cannot be told apart", func(s *Settings) { s.ProxyUID = 0 }, "proxy-uid"},
		{"no outbound port", func(s *Settings) { s.OutboundPort = 0 }, "outbound-port"},
		{"no inbound port", func(s *Settings) { s.InboundPort = 0 }, "inbound-port"},
		{"one port for both", func(s *Settings) { s.InboundPort = s.OutboundPort }, "must differ"},
		{"including the proxy's port loops", func(s *Settings) { s.IncludeInboundPorts = []uint16{15006} }, "include-inbound-ports"},
		{"too many CIDRs", func(s *Settings) { s.ExcludeOutboundCIDRs = make([]netip.Prefix, MaxListEntries+1) }, "exclude-outbound-cidrs"},
		{"a non-canonical CIDR", func(s *Settings) { s.IncludeOutboundCIDRs = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")} }, "include-outbound-cidrs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.edit(&s)
			err := s.Validate()
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestArgsRoundTrip(t *testing.T) {
	s := base()
	s.ExcludeOutboundCIDRs = prefixes("192.0.2.0/24")
	s.IncludeInboundPorts = []uint16{8080}
	got := strings.Join(s.Args(), " ")
	want := "--proxy-uid=1337 --outbound-port=15001 --inbound-port=15006 --exclude-inbound-ports=15000,15021 --include-inbound-ports=8080 --exclude-outbound-cidrs=192.0.2.0/24"
	if got != want {
		t.Errorf("Args() = %s\nwant      %s", got, want)
	}
}
