package capture

import (
	"regexp"
	"strings"
	"testing"
)

// ruleLine is every line a ruleset may hold: a value that parsed can only
// ever be a port or a CIDR in a fixed place, never a new rule or table.
var ruleLine = regexp.MustCompile(`^(# [a-zA-Z0-9 ,:-]+|\*nat|COMMIT|:INZONE_[A-Z_]+ - \[0:0\]|-A (INZONE_[A-Z_]+|PREROUTING|OUTPUT)( -p tcp)?( -m owner --uid-owner [0-9]+)?( -o lo)?( -d [0-9a-f.:]+/[0-9]+)?( --dport [0-9]+)? -j (RETURN|INZONE_[A-Z_]+|REDIRECT --to-ports [0-9]+))$`)

// FuzzParseLists feeds arbitrary annotation values to the list parsers:
// they either fail or yield settings whose rulesets hold only rule lines.
func FuzzParseLists(f *testing.F) {
	for _, s := range []string{"8080,9090", " 10.0.0.0/8 , 2001:db8::1", "192.0.2.1/24", "80\n-A OUTPUT -j ACCEPT", "1,1,1", "::ffff:1.2.3.4", "0x50", "fe80::1%eth0", "1.2.3.4/0", "::/0"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, ports, cidrs string) {
		p, errP := ParsePorts(ports)
		c, errC := ParseCIDRs(cidrs)
		if errP != nil || errC != nil {
			return
		}
		s := Settings{ProxyUID: 1337, OutboundPort: 15001, InboundPort: 15006, ExcludeOutboundPorts: p, ExcludeInboundPorts: p, ExcludeOutboundCIDRs: c, IncludeOutboundCIDRs: c}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed lists do not validate: %v", err)
		}
		for _, fam := range []Family{IPv4, IPv6} {
			for l := range strings.Lines(s.Ruleset(fam)) {
				if !ruleLine.MatchString(strings.TrimSuffix(l, "\n")) {
					t.Fatalf("unexpected ruleset line %q from %q, %q", l, ports, cidrs)
				}
			}
		}
	})
}
