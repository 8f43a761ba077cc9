package main

import (
	"fmt"
	"net"

	"github.com/go-logr/logr"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/dns"
	"github.com/inzone-io/inzone/xds/server"
)

// listeners are the bound sockets of every address flag, nil for one
// turned off.
type listeners struct {
	xds, metrics, health, pprof net.Listener
	dns                         *dns.Server
}

// listen binds every address before anything is served, so that an
// address taken (or not this host's) stops the start naming its flag.
// On failure nothing stays bound.
func listen(o options, cfg *mutate.Config, srv *server.Server, log logr.Logger) (*listeners, error) {
	ls := &listeners{}
	for _, a := range []struct {
		flag, addr string
		lis        *net.Listener
	}{
		{"--xds-address", o.xdsAddr, &ls.xds},
		{"--metrics-bind-address", o.metricsAddr, &ls.metrics},
		{"--health-probe-bind-address", o.healthAddr, &ls.health},
		{"--pprof-address", o.pprofAddr, &ls.pprof},
	} {
		if a.addr == "0" {
			continue
		}
		l, err := net.Listen("tcp", a.addr)
		if err != nil {
			ls.close()
			return nil, fmt.Errorf("%s %s: %w", a.flag, a.addr, err)
		}
		*a.lis = l
	}
	if o.dnsAddr != "0" {
		d, err := newDNS(o.dnsAddr, cfg, srv, log.WithName("dns"))
		if err != nil {
			ls.close()
			return nil, fmt.Errorf("--dns-address %s: %w", o.dnsAddr, err)
		}
		ls.dns = d
	}
	return ls, nil
}

// close closes the TCP listeners; the servers close them too when they
// stop, so a second close is harmless. The DNS server closes its own.
func (ls *listeners) close() {
	for _, l := range []net.Listener{ls.xds, ls.metrics, ls.health, ls.pprof} {
		if l != nil {
			_ = l.Close()
		}
	}
}
