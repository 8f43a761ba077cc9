package translate

import (
	"net/netip"
	"strings"
)

// dnsAddrs is what DNS answers for each DDSD name: a Service's ready
// endpoints (like a headless Service), or, for an identity no Service
// serves, its ready pods.
func dnsAddrs(callees *calleeSet, locals *localSet) map[string][]netip.Addr {
	out := make(map[string][]netip.Addr, len(callees.ready)+len(locals.addrs))
	for name, addrs := range locals.addrs {
		out[name] = addrs.sorted()
	}
	for name, addrs := range callees.ready {
		out[name] = addrs.sorted()
	}
	return out
}

// LookupDDSD answers a DDSD name, in any case, with or without the final
// dot: its addresses, and whether inzone serves the name at all (a served
// name may have no ready address).
func (o *Output) LookupDDSD(name string) ([]netip.Addr, bool) {
	addrs, ok := o.Addrs[strings.ToLower(strings.TrimSuffix(name, "."))]
	return addrs, ok
}
