// Package capture turns traffic capture settings into the iptables ruleset
// that sends a pod's TCP traffic through its Envoy sidecar. It is pure: it
// parses and validates settings and renders iptables-restore input; the
// `inzone capture init` command and the inzone-cni plugin install it.
package capture

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Bounds on what a user (an annotation, a flag) can ask for: every rule is
// a line the kernel evaluates for every new connection.
const (
	// MaxListEntries is the most ports or CIDRs one list may hold.
	MaxListEntries = 64
	// MaxListLength is the longest comma-separated list accepted, in bytes.
	MaxListLength = 2048
)

// Settings are what the ruleset is built from. The field names match the
// flags of `inzone capture init` and the inzone.io/ annotations.
type Settings struct {
	// ProxyUID is the sidecar's UID: its own connections are never
	// redirected, or Envoy would loop to itself.
	ProxyUID int64 `json:"proxyUID"`
	// OutboundPort receives the app's outbound TCP.
	OutboundPort uint16 `json:"outboundPort"`
	// InboundPort receives TCP arriving at the pod.
	InboundPort uint16 `json:"inboundPort"`
	// ExcludeOutboundPorts are destination ports the app reaches directly.
	ExcludeOutboundPorts []uint16 `json:"excludeOutboundPorts,omitempty"`
	// ExcludeInboundPorts are pod ports that bypass the proxy (the
	// sidecar's admin and health ports belong here).
	ExcludeInboundPorts []uint16 `json:"excludeInboundPorts,omitempty"`
	// IncludeInboundPorts, when set, are the only pod ports redirected.
	IncludeInboundPorts []uint16 `json:"includeInboundPorts,omitempty"`
	// ExcludeOutboundCIDRs are destinations the app reaches directly.
	ExcludeOutboundCIDRs []netip.Prefix `json:"excludeOutboundCIDRs,omitempty"`
	// IncludeOutboundCIDRs, when set, are the only destinations redirected.
	IncludeOutboundCIDRs []netip.Prefix `json:"includeOutboundCIDRs,omitempty"`
}

// Validate reports the first setting that cannot make a working ruleset.
func (s *Settings) Validate() error {
	if s.ProxyUID <= 0 || s.ProxyUID > 2147483647 {
		return fmt.Errorf("proxy-uid %d: must be between 1 and 2147483647: with UID 0 the proxy's own traffic could not be told from the app's", s.ProxyUID)
	}
	if s.OutboundPort == 0 {
		return errors.New("outbound-port: must be between 1 and 65535")
	}
	if s.InboundPort == 0 {
		return errors.New("inbound-port: must be between 1 and 65535")
	}
	if s.OutboundPort == s.InboundPort {
		return fmt.Errorf("outbound-port and inbound-port are both %d: they must differ", s.OutboundPort)
	}
	for _, l := range []struct {
		name string
		n    int
	}{
		{"exclude-outbound-ports", len(s.ExcludeOutboundPorts)},
		{"exclude-inbound-ports", len(s.ExcludeInboundPorts)},
		{"include-inbound-ports", len(s.IncludeInboundPorts)},
		{"exclude-outbound-cidrs", len(s.ExcludeOutboundCIDRs)},
		{"include-outbound-cidrs", len(s.IncludeOutboundCIDRs)},
	} {
		if l.n > MaxListEntries {
			return fmt.Errorf("%s: %d entries, at most %d", l.name, l.n, MaxListEntries)
		}
	}
	if slices.Contains(s.IncludeInboundPorts, s.InboundPort) || slices.Contains(s.IncludeInboundPorts, s.OutboundPort) {
		return errors.New("include-inbound-ports: must not name the proxy's own inbound or outbound port, which would loop")
	}
	for _, name := range []string{"exclude-outbound-cidrs", "include-outbound-cidrs"} {
		list := s.ExcludeOutboundCIDRs
		if name == "include-outbound-cidrs" {
			list = s.IncludeOutboundCIDRs
		}
		for _, p := range list {
			if !p.IsValid() || p.Masked() != p {
				return fmt.Errorf("%s: %s is not a canonical CIDR", name, p)
			}
		}
	}
	return nil
}

// ParsePorts parses a comma-separated list of TCP ports ("8080,9090").
// Spaces around entries are allowed; an empty string is an empty list.
// The result is sorted and without duplicates, so a ruleset is stable.
func ParsePorts(v string) ([]uint16, error) {
	items, err := splitList(v)
	if err != nil {
		return nil, err
	}
	ports := make([]uint16, 0, len(items))
	for _, it := range items {
		n, err := strconv.ParseUint(it, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%q is not a port between 1 and 65535", it)
		}
		ports = append(ports, uint16(n))
	}
	slices.Sort(ports)
	return slices.Compact(ports), nil
}

// ParseCIDRs parses a comma-separated list of IPv4 or IPv6 CIDRs; a bare
// address means that one host. A CIDR with host bits set is refused rather
// than silently widened or narrowed.
func ParseCIDRs(v string) ([]netip.Prefix, error) {
	items, err := splitList(v)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(items))
	for _, it := range items {
		var p netip.Prefix
		if strings.Contains(it, "/") {
			p, err = netip.ParsePrefix(it)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR", it)
			}
			if p.Addr().Zone() != "" {
				return nil, fmt.Errorf("%q: a CIDR has no zone", it)
			}
			if m := p.Masked(); m != p {
				return nil, fmt.Errorf("%q has host bits set (did you mean %s?)", it, m)
			}
		} else {
			a, err := netip.ParseAddr(it)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not an IP address or CIDR", it)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			return nil, fmt.Errorf("%q: write an IPv4 CIDR as IPv4", it)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, comparePrefix)
	return slices.Compact(out), nil
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

func splitList(v string) ([]string, error) {
	if len(v) > MaxListLength {
		return nil, fmt.Errorf("list of %d bytes, at most %d", len(v), MaxListLength)
	}
	var items []string
	for it := range strings.SplitSeq(v, ",") {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		items = append(items, it)
	}
	if len(items) > MaxListEntries {
		return nil, fmt.Errorf("%d entries, at most %d", len(items), MaxListEntries)
	}
	return items, nil
}

// FormatPorts is the inverse of ParsePorts.
func FormatPorts(ports []uint16) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}

// FormatCIDRs is the inverse of ParseCIDRs.
func FormatCIDRs(cidrs []netip.Prefix) string {
	s := make([]string, len(cidrs))
	for i, p := range cidrs {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Args are the `inzone capture init` flags that reproduce s, in a fixed
// order; empty lists are left out.
func (s *Settings) Args() []string {
	args := []string{
		"--proxy-uid=" + strconv.FormatInt(s.ProxyUID, 10),
		"--outbound-port=" + strconv.Itoa(int(s.OutboundPort)),
		"--inbound-port=" + strconv.Itoa(int(s.InboundPort)),
	}
	add := func(flag, v string) {
		if v != "" {
			args = append(args, "--"+flag+"="+v)
		}
	}
	add("exclude-outbound-ports", FormatPorts(s.ExcludeOutboundPorts))
	add("exclude-inbound-ports", FormatPorts(s.ExcludeInboundPorts))
	add("include-inbound-ports", FormatPorts(s.IncludeInboundPorts))
	add("exclude-outbound-cidrs", FormatCIDRs(s.ExcludeOutboundCIDRs))
	add("include-outbound-cidrs", FormatCIDRs(s.IncludeOutboundCIDRs))
	return args
}
