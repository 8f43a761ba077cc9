package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/miekg/dns"
)

// resolve asks inzone-xds's DNS server at addr for the A records of name,
// as a pod does once the cluster DNS forwards the DDSD domain to it, and
// prints the answer.
func resolve(ctx context.Context, w io.Writer, addr, name string) ([]*dns.A, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeA)
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	resp, _, err := c.ExchangeContext(ctx, q, addr)
	if err != nil {
		return nil, fmt.Errorf("DNS query for %s at %s: %w", name, addr, err)
	}
	fmt.Fprintf(w, "dig @%s %s A  (the cluster DNS forwards the DDSD domain here)\n  %s", addr, name, dns.RcodeToString[resp.Rcode])
	var as []*dns.A
	for _, rr := range resp.Answer {
		if a, ok := rr.(*dns.A); ok {
			as = append(as, a)
		}
	}
	fmt.Fprintf(w, ", %d A records\n", len(as))
	for _, a := range as {
		fmt.Fprintf(w, "  %s\n", a.String())
	}
	fmt.Fprintln(w)
	return as, nil
}
