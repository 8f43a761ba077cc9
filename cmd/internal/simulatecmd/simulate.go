// Package simulatecmd is `inzone simulate`: the zones of callers and
// callees from the command line into package simulate's prediction, out as
// a table or JSON.
package simulatecmd

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/inzone-io/inzone/cmd/internal/cli"
	"github.com/inzone-io/inzone/simulate"
)

// Options are `inzone simulate`'s flags.
type Options struct {
	Callers        string
	Callees        string
	MinClusterSize int
	RoutingEnabled int
	Output         string
	streams        cli.Streams
	callers        simulate.Zones
	callees        simulate.Zones
}

// NewCommand builds `inzone simulate`.
func NewCommand(s cli.Streams) *cobra.Command {
	o := &Options{streams: s}
	cmd := &cobra.Command{
		Use:   "simulate --callers ZONE=N,... --callees ZONE=N,...",
		Short: "Show where Envoy's zone-aware routing sends each zone's requests",
		Long: `Simulate Envoy's zone-aware load balancing between a caller service (the
local cluster, one Envoy per caller host) and a callee service (the upstream
cluster's healthy hosts), given their host counts per zone.

For each caller zone it prints the routing mode Envoy picks, the share of
requests kept in the zone and the share sent to each callee zone; then the
fraction of all requests that cross zones, with zone-aware routing and with
plain round robin. Exit codes: 0 ok, 2 usage errors.`,
		Example: "  inzone simulate --callers a=4,b=4,c=2 --callees a=3,b=3,c=3",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			if err := o.Validate(); err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			return o.Run()
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Callers, "callers", "", "caller hosts per zone, e.g. a=4,b=4,c=2 (required)")
	f.StringVar(&o.Callees, "callees", "", "healthy callee hosts per zone, e.g. a=3,b=3,c=3 (required)")
	f.IntVar(&o.MinClusterSize, "min-cluster-size", simulate.DefaultMinClusterSize, "zone_aware_lb_config.min_cluster_size")
	f.IntVar(&o.RoutingEnabled, "routing-enabled", simulate.DefaultRoutingEnabled, "zone_aware_lb_config.routing_enabled, percent (1-100)")
	f.StringVarP(&o.Output, "output", "o", "table", "output format: table, json")
	return cmd
}

// Complete parses the zone lists.
func (o *Options) Complete() error {
	var err error
	if o.callers, err = parseZones("--callers", o.Callers); err != nil {
		return err
	}
	o.callees, err = parseZones("--callees", o.Callees)
	return err
}

// parseZones parses ZONE=N,ZONE=N.
func parseZones(flag, s string) (simulate.Zones, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%s is required: ZONE=N,...", flag)
	}
	zs := simulate.Zones{}
	for _, item := range strings.Split(s, ",") {
		name, num, ok := strings.Cut(strings.TrimSpace(item), "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%s %q: want ZONE=N", flag, item)
		}
		n, err := strconv.Atoi(strings.TrimSpace(num))
		if err != nil {
			return nil, fmt.Errorf("%s %q: host count is not an integer", flag, item)
		}
		if n < 0 {
			return nil, fmt.Errorf("%s %q: host count is negative", flag, item)
		}
		if _, dup := zs[name]; dup {
			return nil, fmt.Errorf("%s: zone %q given twice", flag, name)
		}
		zs[name] = n
	}
	return zs, nil
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if o.Output != "table" && o.Output != "json" {
		return fmt.Errorf("--output %q: want table or json", o.Output)
	}
	if o.MinClusterSize < 1 {
		return fmt.Errorf("--min-cluster-size %d: want at least 1", o.MinClusterSize)
	}
	if o.RoutingEnabled < 1 || o.RoutingEnabled > 100 {
		return fmt.Errorf("--routing-enabled %d: want 1-100", o.RoutingEnabled)
	}
	for flag, zs := range map[string]simulate.Zones{"--callers": o.callers, "--callees": o.callees} {
		total := 0
		for _, n := range zs {
			total += n
		}
		if total == 0 {
			return fmt.Errorf("%s: no hosts", flag)
		}
	}
	return nil
}

// simulateJSON is the -o json document.
type simulateJSON struct {
	Routes              []routeJSON `json:"routes"`
	CrossZone           float64     `json:"crossZone"`
	RoundRobinCrossZone float64     `json:"roundRobinCrossZone"`
}

type routeJSON struct {
	CallerZone string             `json:"callerZone"`
	Mode       simulate.Mode      `json:"mode"`
	Reason     string             `json:"reason,omitempty"`
	To         map[string]float64 `json:"to"`
	CrossZone  float64            `json:"crossZone"`
}

// Run simulates and writes the plan.
func (o *Options) Run() error {
	plan, err := simulate.ZoneAware(o.callers, o.callees, simulate.Options{
		MinClusterSize: o.MinClusterSize,
		RoutingEnabled: o.RoutingEnabled,
	})
	if err != nil {
		return cli.WithCode(cli.ExitUsage, err)
	}
	if o.Output == "json" {
		doc := simulateJSON{Routes: []routeJSON{}, CrossZone: plan.CrossZone, RoundRobinCrossZone: plan.RoundRobinCrossZone}
		for _, r := range plan.Routes {
			doc.Routes = append(doc.Routes, routeJSON{r.CallerZone, r.Mode, r.Reason, r.To, r.CrossZone})
		}
		enc := json.NewEncoder(o.streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	var calleeZones []string
	for z, n := range o.callees {
		if n > 0 {
			calleeZones = append(calleeZones, z)
		}
	}
	sort.Strings(calleeZones)
	w := tabwriter.NewWriter(o.streams.Out, 2, 4, 2, ' ', 0)
	fmt.Fprint(w, "ZONE\tCALLERS\tMODE\tLOCAL")
	for _, z := range calleeZones {
		fmt.Fprintf(w, "\tTO %s", z)
	}
	fmt.Fprintln(w)
	for _, r := range plan.Routes {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s", r.CallerZone, o.callers[r.CallerZone], r.Mode, pct(r.To[r.CallerZone]))
		for _, z := range calleeZones {
			fmt.Fprintf(w, "\t%s", pct(r.To[z]))
		}
		fmt.Fprintln(w)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, r := range plan.Routes {
		if r.Reason != "" {
			fmt.Fprintf(o.streams.Out, "%s: %s\n", r.CallerZone, r.Reason)
		}
	}
	fmt.Fprintln(o.streams.Out)
	w = tabwriter.NewWriter(o.streams.Out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "cross-zone, zone-aware:\t%s\n", pct(plan.CrossZone))
	fmt.Fprintf(w, "cross-zone, round robin:\t%s\n", pct(plan.RoundRobinCrossZone))
	fmt.Fprintf(w, "difference:\t%+.2f points\n", 100*(plan.CrossZone-plan.RoundRobinCrossZone))
	return w.Flush()
}

func pct(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }
