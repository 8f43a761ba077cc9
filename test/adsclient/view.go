package adsclient

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
)

// maxNACKs bounds the NACKs a client remembers: the last ones.
const maxNACKs = 16

// View is a copy of what a client holds, by resource name. The messages
// are shared with the client and must not be modified.
type View struct {
	Clusters  map[string]*clusterv3.Cluster
	Endpoints map[string]*endpointv3.ClusterLoadAssignment // by cluster_name
	Listeners map[string]*listenerv3.Listener
	Routes    map[string]*routev3.RouteConfiguration
	// NACKs are the last responses the client refused, oldest first.
	NACKs []NACK
}

// NACK is a response the client refused.
type NACK struct {
	TypeURL, Version, Nonce string
	Reason                  string
}

// HealthyPerZone counts the HEALTHY endpoints the client holds for an EDS
// resource, by locality zone (empty if it holds none).
func (v View) HealthyPerZone(name string) map[string]int {
	out := map[string]int{}
	for _, l := range v.Endpoints[name].GetEndpoints() {
		for _, e := range l.GetLbEndpoints() {
			if e.GetHealthStatus() == corev3.HealthStatus_HEALTHY {
				out[l.GetLocality().GetZone()]++
			}
		}
	}
	return out
}

// Wait returns the view once it is complete (a response of every
// wildcard type arrived and every resource the client asks for by name is
// held: see the package doc) and check, if not nil, accepts it. It fails at once if the stream
// failed, and when ctx ends with what was missing (or check's last
// complaint) and what the client asked for and holds.
func (c *Client) Wait(ctx context.Context, check func(View) error) (View, error) {
	return c.wait(ctx, true, check)
}

// WaitPartial is Wait for a view that need not be complete: it returns
// the first view check accepts, with what is still warming. It is for a
// test that makes a server leave something missing.
func (c *Client) WaitPartial(ctx context.Context, check func(View) error) (View, error) {
	return c.wait(ctx, false, check)
}

func (c *Client) wait(ctx context.Context, complete bool, check func(View) error) (View, error) {
	for {
		v, err, streamErr := c.snapshot()
		if !complete {
			err = nil
		}
		if err == nil && check != nil {
			err = check(v)
		}
		if err == nil {
			return v, nil
		}
		if streamErr != nil && ctx.Err() == nil {
			return v, fmt.Errorf("%s ADS stream: %w", c.protocol, streamErr)
		}
		if streamErr != nil {
			// The stream ended with the wait (one context for both): what
			// was missing says more than "context canceled".
			return v, fmt.Errorf("%v (%s)", err, c.describe())
		}
		select {
		case <-c.updates:
		case <-ctx.Done():
			return v, fmt.Errorf("%v (%s)", err, c.describe())
		}
	}
}

// WaitT is Wait for a test, bounded by timeout (a failure deadline, not a
// measurement): it fails t with what and what was missing.
func (c *Client) WaitT(t testing.TB, timeout time.Duration, what string, check func(View) error) View {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	v, err := c.Wait(ctx, check)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// View is a copy of what the client holds now, complete or not.
func (c *Client) View() View {
	v, _, _ := c.snapshot()
	return v
}

// snapshot copies the view and says what keeps it from being complete: a
// response of every wildcard type arrived, and every named resource the
// client asks for (the local cluster's endpoints, every EDS cluster's,
// every route table a listener reads, and the names in Options.Names) is
// held, as Envoy warms clusters and listeners before using them. It also
// returns the stream's failure, if any.
func (c *Client) snapshot() (v View, incomplete, streamErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v = View{
		Clusters:  typed[*clusterv3.Cluster](c.held[resourcev3.ClusterType]),
		Endpoints: typed[*endpointv3.ClusterLoadAssignment](c.held[resourcev3.EndpointType]),
		Listeners: typed[*listenerv3.Listener](c.held[resourcev3.ListenerType]),
		Routes:    typed[*routev3.RouteConfiguration](c.held[resourcev3.RouteType]),
		NACKs:     slices.Clone(c.nacks),
	}
	return v, c.missing(), c.err
}

// missing names the first thing missing from a complete view. c.mu is
// held.
func (c *Client) missing() error {
	for _, typ := range known {
		if c.sub.wildcard[typ] && !c.received[typ] {
			return fmt.Errorf("no %s response yet", typeName(typ))
		}
	}
	for _, typ := range known {
		for _, name := range c.sub.names(typ) {
			if _, ok := c.held[typ][name]; ok {
				continue
			}
			if typ == resourcev3.EndpointType && name == c.local {
				return fmt.Errorf("no endpoints for the local cluster %s yet", short(name))
			}
			return fmt.Errorf("no %s %s yet", typeName(typ), short(name))
		}
	}
	return nil
}

// describe says what the client asks for and holds, for a failure.
func (c *Client) describe() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := fmt.Sprintf("%s client; subscribed", c.protocol)
	for _, typ := range known {
		if c.sub.wildcard[typ] {
			s += fmt.Sprintf(" %s *", typeName(typ))
			if slices.Contains(c.deferred, typ) {
				s += " (not asked yet: the clusters are not initialized)"
			}
		}
		if names := c.sub.names(typ); len(names) > 0 {
			s += fmt.Sprintf(" %s %s", typeName(typ), list(names))
		}
	}
	s += "; holds"
	for _, typ := range known {
		if len(c.held[typ]) > 0 {
			s += fmt.Sprintf(" %s %s", typeName(typ), list(slices.Sorted(maps.Keys(c.held[typ]))))
		}
	}
	if len(c.nacks) > 0 {
		s += fmt.Sprintf("; NACKed %+v", c.nacks)
	}
	return s
}

func typed[T proto.Message](held map[string]proto.Message) map[string]T {
	out := make(map[string]T, len(held))
	for name, m := range held {
		out[name] = m.(T)
	}
	return out
}

// Failure messages name at most maxListed resources, each in at most
// maxNameBytes: a server chooses the names and how many there are.
const (
	maxListed    = 20
	maxNameBytes = 120
)

// short quotes a resource name, cut to maxNameBytes.
func short(name string) string {
	if len(name) > maxNameBytes {
		return fmt.Sprintf("%q... (%d bytes)", name[:maxNameBytes], len(name))
	}
	return fmt.Sprintf("%q", name)
}

// list is names for a failure message, at most maxListed of them.
func list(names []string) string {
	out := make([]string, 0, maxListed+1)
	for i, n := range names {
		if i == maxListed {
			out = append(out, fmt.Sprintf("and %d more", len(names)-maxListed))
			break
		}
		out = append(out, short(n))
	}
	return "[" + strings.Join(out, " ") + "]"
}
