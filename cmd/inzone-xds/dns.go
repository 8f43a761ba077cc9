package main

import (
	"context"
	"net/netip"

	"github.com/go-logr/logr"

	"github.com/inzone-io/inzone/mutate"
)

// ddsdLookup is what the DNS server answers from; *server.Server
// implements it over the served snapshot.
type ddsdLookup interface {
	LookupDDSD(name string) (addrs []netip.Addr, ok bool)
}

// runDNS serves DNS for the DDSD domain (from cfg) on addr until ctx ends.
// The DNS server is package xds/dns (issue 17, part B), built separately;
// this is the one place it connects. Until it does, --dns-address must be
// "0".
var runDNS func(ctx context.Context, addr string, cfg *mutate.Config, lookup ddsdLookup, log logr.Logger) error
