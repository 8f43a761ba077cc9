package main

import (
	"github.com/go-logr/logr"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/dns"
)

// newDNS binds DNS for the DDSD domain (from cfg) on addr, answering from
// lookup: *server.Server, over the snapshot it serves. Start serves it.
func newDNS(addr string, cfg *mutate.Config, lookup dns.Lookup, log logr.Logger) (*dns.Server, error) {
	s, err := dns.NewServer(addr, lookup, dns.Options{Domain: cfg.DDSDDomain(), Log: log})
	if err != nil {
		return nil, err
	}
	if err := s.Listen(); err != nil {
		return nil, err
	}
	log.Info("serving DNS", "address", s.UDPAddr().String(), "domain", cfg.DDSDDomain())
	return s, nil
}
