package capture

import (
	"fmt"
	"net/netip"
	"strings"
)

// Family is the IP family a ruleset is for.
type Family int

// The two families; each has its own tables and its own restore program.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) String() string {
	if f == IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// loopback is the family's loopback network, never redirected.
func (f Family) loopback() netip.Prefix {
	if f == IPv6 {
		return netip.MustParsePrefix("::1/128")
	}
	return netip.MustParsePrefix("127.0.0.0/8")
}

func (f Family) has(p netip.Prefix) bool { return p.Addr().Is4() == (f == IPv4) }

// The chains inzone owns. iptables-restore flushes a chain it declares, so
// rerunning the ruleset replaces their rules instead of adding to them.
const (
	ChainInbound          = "INZONE_INBOUND"
	ChainInboundRedirect  = "INZONE_IN_REDIRECT"
	ChainOutbound         = "INZONE_OUTPUT"
	ChainOutboundRedirect = "INZONE_REDIRECT"
)

// Jumps are the rules in the built-in chains that send TCP to inzone's
// chains, written as iptables-save prints them. They are the only rules
// outside inzone's chains, and a rerun must not add them twice: see
// WithoutInstalledJumps.
var Jumps = []string{
	"-A PREROUTING -p tcp -j " + ChainInbound,
	"-A OUTPUT -p tcp -j " + ChainOutbound,
}

// Ruleset renders the iptables-restore input (nat table) that captures the
// pod's TCP for family f. It is meant for `iptables-restore --noflush`,
// which leaves the other rules of the table alone.
//
// Inbound (PREROUTING): TCP to the pod goes to the inbound port, except to
// the proxy's own ports and the excluded ports (or, with an include list,
// only to those ports). Outbound (OUTPUT): TCP the pod opens goes to the
// outbound port, except the proxy's own (owner match on its UID, so Envoy
// does not loop to itself), loopback, and the excluded ports and CIDRs (or,
// with an include list, only to those CIDRs).
func (s *Settings) Ruleset(f Family) string {
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	line("# inzone traffic capture, %s", f)
	line("*nat")
	for _, c := range []string{ChainInbound, ChainInboundRedirect, ChainOutbound, ChainOutboundRedirect} {
		line(":%s - [0:0]", c)
	}
	line("-A %s -p tcp -j REDIRECT --to-ports %d", ChainInboundRedirect, s.InboundPort)
	line("-A %s -p tcp -j REDIRECT --to-ports %d", ChainOutboundRedirect, s.OutboundPort)

	for _, p := range uniquePorts(s.OutboundPort, s.InboundPort, s.ExcludeInboundPorts) {
		line("-A %s -p tcp --dport %d -j RETURN", ChainInbound, p)
	}
	if len(s.IncludeInboundPorts) == 0 {
		line("-A %s -p tcp -j %s", ChainInbound, ChainInboundRedirect)
	} else {
		for _, p := range s.IncludeInboundPorts {
			line("-A %s -p tcp --dport %d -j %s", ChainInbound, p, ChainInboundRedirect)
		}
	}

	line("-A %s -m owner --uid-owner %d -j RETURN", ChainOutbound, s.ProxyUID)
	line("-A %s -o lo -j RETURN", ChainOutbound)
	line("-A %s -d %s -j RETURN", ChainOutbound, f.loopback())
	for _, p := range s.ExcludeOutboundPorts {
		line("-A %s -p tcp --dport %d -j RETURN", ChainOutbound, p)
	}
	for _, c := range s.ExcludeOutboundCIDRs {
		if f.has(c) {
			line("-A %s -d %s -j RETURN", ChainOutbound, c)
		}
	}
	if len(s.IncludeOutboundCIDRs) == 0 {
		line("-A %s -j %s", ChainOutbound, ChainOutboundRedirect)
	} else {
		n := 0
		for _, c := range s.IncludeOutboundCIDRs {
			if f.has(c) {
				line("-A %s -d %s -j %s", ChainOutbound, c, ChainOutboundRedirect)
				n++
			}
		}
		if n == 0 {
			line("# include-outbound-cidrs names no %s network: no %s destination is redirected", f, f)
		}
	}
	for _, j := range Jumps {
		line("%s", j)
	}
	line("COMMIT")
	return b.String()
}

// uniquePorts lists the proxy's ports, then the excluded ones not already
// listed.
func uniquePorts(outbound, inbound uint16, excluded []uint16) []uint16 {
	out := []uint16{outbound, inbound}
	for _, p := range excluded {
		if p != outbound && p != inbound {
			out = append(out, p)
		}
	}
	return out
}

// WithoutInstalledJumps drops from ruleset the jump rules that saved (the
// output of `iptables-save -t nat`) already holds, so a rerun re-creates
// inzone's chains but never adds a second jump to them.
func WithoutInstalledJumps(ruleset, saved string) string {
	have := map[string]bool{}
	for l := range strings.Lines(saved) {
		have[strings.TrimSpace(l)] = true
	}
	var b strings.Builder
	for l := range strings.Lines(ruleset) {
		if have[strings.TrimSpace(l)] && isJump(strings.TrimSpace(l)) {
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

func isJump(l string) bool {
	for _, j := range Jumps {
		if l == j {
			return true
		}
	}
	return false
}
