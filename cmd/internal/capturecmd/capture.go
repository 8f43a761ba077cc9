// Package capturecmd is `inzone capture init`: the flags of traffic
// capture's settings, and the rulesets installed (or printed) through
// package capture/iptables.
package capturecmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/inzone-io/inzone/capture"
	"github.com/inzone-io/inzone/capture/iptables"
	"github.com/inzone-io/inzone/cmd/internal/cli"
	"github.com/inzone-io/inzone/mutate"
)

// InitOptions are `inzone capture init`'s flags, named after the
// config fields and annotations they come from.
type InitOptions struct {
	ProxyUID             int64
	OutboundPort         uint16
	InboundPort          uint16
	ExcludeOutboundPorts string
	ExcludeInboundPorts  string
	IncludeInboundPorts  string
	ExcludeOutboundCIDRs string
	IncludeOutboundCIDRs string
	DryRun               bool

	streams  cli.Streams
	settings capture.Settings
}

// NewCommand builds `inzone capture` and its subcommand init.
func NewCommand(s cli.Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "capture",
		Short: "Traffic capture: send the pod's TCP through its Envoy sidecar",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newInitCommand(s))
	return cmd
}

func newInitCommand(s cli.Streams) *cobra.Command {
	o := &InitOptions{streams: s}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Install the capture rules in the current network namespace",
		Long: `Install the iptables rules that redirect the network namespace's TCP to the
Envoy sidecar: outbound to --outbound-port, inbound to --inbound-port, except
the proxy's own connections (--proxy-uid), loopback and the excluded ports and
CIDRs. The webhook runs it as the inzone-capture init container; it can be run
by hand in any network namespace (ip netns exec NAME inzone capture init ...).

It drives iptables-restore (the default alternative, else iptables-nft-restore,
else iptables-legacy-restore; ip6tables-restore for IPv6 when the namespace
has IPv6). Rerunning it changes nothing: inzone's INZONE_* chains are
re-created and the jumps to them are never duplicated. It prints exactly the
iptables-restore input it installed. Needs CAP_NET_ADMIN and CAP_NET_RAW.`,
		Example: `  inzone capture init --proxy-uid 1337 --exclude-inbound-ports 15000,15021 --dry-run
  ip netns exec app inzone capture init --exclude-outbound-cidrs 169.254.169.254/32`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(); err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			if err := o.settings.Validate(); err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.Int64Var(&o.ProxyUID, "proxy-uid", mutate.DefaultProxyUID, "the sidecar's UID (sidecar.uid): its own connections are not redirected")
	f.Uint16Var(&o.OutboundPort, "outbound-port", mutate.DefaultOutboundPort, "Envoy's outbound listener (sidecar.outboundPort)")
	f.Uint16Var(&o.InboundPort, "inbound-port", mutate.DefaultInboundPort, "Envoy's inbound listener (sidecar.inboundPort)")
	f.StringVar(&o.ExcludeOutboundPorts, "exclude-outbound-ports", "", "comma-separated destination ports not redirected")
	f.StringVar(&o.ExcludeInboundPorts, "exclude-inbound-ports", "", "comma-separated pod ports not redirected (give the sidecar's admin and health ports)")
	f.StringVar(&o.IncludeInboundPorts, "include-inbound-ports", "", "comma-separated pod ports: when set, the only ones redirected")
	f.StringVar(&o.ExcludeOutboundCIDRs, "exclude-outbound-cidrs", "", "comma-separated destination CIDRs (IPv4 or IPv6) not redirected")
	f.StringVar(&o.IncludeOutboundCIDRs, "include-outbound-cidrs", "", "comma-separated destination CIDRs: when set, the only ones redirected")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the rulesets; install nothing")
	return cmd
}

// Complete parses the list flags into settings; each error names its flag.
func (o *InitOptions) Complete() error {
	s := capture.Settings{ProxyUID: o.ProxyUID, OutboundPort: o.OutboundPort, InboundPort: o.InboundPort}
	for _, p := range []struct {
		flag string
		in   string
		out  *[]uint16
	}{
		{"exclude-outbound-ports", o.ExcludeOutboundPorts, &s.ExcludeOutboundPorts},
		{"exclude-inbound-ports", o.ExcludeInboundPorts, &s.ExcludeInboundPorts},
		{"include-inbound-ports", o.IncludeInboundPorts, &s.IncludeInboundPorts},
	} {
		v, err := capture.ParsePorts(p.in)
		if err != nil {
			return fmt.Errorf("--%s: %w", p.flag, err)
		}
		*p.out = v
	}
	var err error
	if s.ExcludeOutboundCIDRs, err = capture.ParseCIDRs(o.ExcludeOutboundCIDRs); err != nil {
		return fmt.Errorf("--exclude-outbound-cidrs: %w", err)
	}
	if s.IncludeOutboundCIDRs, err = capture.ParseCIDRs(o.IncludeOutboundCIDRs); err != nil {
		return fmt.Errorf("--include-outbound-cidrs: %w", err)
	}
	o.settings = s
	return nil
}

// Run installs (or, with --dry-run, prints) the ruleset of each family.
func (o *InitOptions) Run(ctx context.Context) error {
	out := o.streams.Out
	if ctx == nil {
		ctx = context.Background()
	}
	for _, f := range []capture.Family{capture.IPv4, capture.IPv6} {
		if o.DryRun {
			fmt.Fprintf(out, "# %s: dry run, nothing installed\n%s", f, o.settings.Ruleset(f))
			continue
		}
		if f == capture.IPv6 && !iptables.IPv6Enabled() {
			fmt.Fprintf(out, "# %s: off in this network namespace, no rules installed\n", f)
			continue
		}
		b, err := iptables.Detect(ctx, f)
		if err != nil {
			return err
		}
		rules, err := iptables.Install(ctx, b, &o.settings)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "# %s: installed with %s --noflush\n%s", f, b.Restore, rules)
	}
	return nil
}
