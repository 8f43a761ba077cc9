// Package dns answers DNS for the DDSD domain: an app resolves a DDSD name
// (the name the webhook rewrites ELB hostnames into) before it opens a
// connection, so inzone-xds serves A and AAAA records of each name's ready
// endpoints, like a headless Service, over UDP and TCP. The wire format and
// the server loop are github.com/miekg/dns (what CoreDNS is built on); this
// package decides the answers and bounds what a client can make it do.
//
// What to serve comes from a Lookup, which the xDS side implements from the
// same state it serves to the proxies, so DNS and EDS never disagree.
package dns
