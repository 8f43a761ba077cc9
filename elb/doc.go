// Package elb holds inzone's rules for AWS Elastic Load Balancing hostnames:
// which strings are load balancer hostnames and their canonical keys (Find,
// Canonical), how they are rewritten to other names (Rewrite), which Service
// may claim a hostname (Claim), and the index of the claims of live Services
// (Index), shared by the webhook, `inzone lint`, `inzone inject`, `kubectl
// inzone audit` and inzone-xds, so that all of them agree on what a hostname is
// and who owns it.
//
// It is pure: no I/O, no client, no informer. Callers feed the Index from
// whatever source they have (a Service informer, a list from the API server)
// and decide what to do with a match.
package elb
