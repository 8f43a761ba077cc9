package main

import (
	"context"

	"github.com/go-logr/logr"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/dns"
)

// runDNS serves DNS for the DDSD domain (from cfg) on addr until ctx ends,
// answering from lookup: *server.Server, over the snapshot it serves.
func runDNS(ctx context.Context, addr string, cfg *mutate.Config, lookup dns.Lookup, log logr.Logger) error {
	s, err := dns.NewServer(addr, lookup, dns.Options{Domain: cfg.DDSDDomain(), Log: log})
	if err != nil {
		return err
	}
	log.Info("serving DNS", "address", addr, "domain", cfg.DDSDDomain())
	return s.Start(ctx)
}
