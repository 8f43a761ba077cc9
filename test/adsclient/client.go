// Package adsclient is an ADS client that behaves as an injected Envoy
// sidecar does, for the tests that check what an xDS server serves and for
// hack/demo: it says who it is (node id, cluster, zone, as the webhook's
// flags make Envoy say), subscribes in Envoy's order (CDS wildcard and
// EDS for its local cluster, EDS for every EDS cluster CDS names; LDS
// wildcard once the clusters are initialized, RDS for every route table
// LDS names), ACKs each response or NACKs what it
// cannot decode or the caller rejects, and keeps what it holds, over
// state-of-the-world or delta ADS. It is test support: it imports no
// inzone package, so any test may use it.
//
// # Complete and consistent views
//
// Wait returns a complete view: a response of every wildcard type arrived
// and every resource asked for by name is held (nothing is warming).
//
// Every view the client holds, one after each response it accepts, is
// also checked for consistency (Client.Consistency), as Envoy relies on
// the xDS ordering (CDS before the EDS of a new cluster, LDS before its
// RDS; a cluster's removal before its endpoints', a listener's before
// its route table's, a route's before its cluster's). A view is
// consistent when:
//
//  1. every cluster named by a route (its cluster or weighted clusters,
//     in a route table or a listener's inline one) or by a listener's TCP
//     proxy is one CDS delivered, or the bootstrap's static local cluster:
//     Envoy answers a request on a route to a missing cluster with 503,
//     and closes a connection a TCP proxy cannot send anywhere;
//  2. every EDS resource and route table, once arrived, is held as long
//     as a cluster (or the local cluster) or a listener reads it: removed
//     first, the cluster is left without its endpoints, or with stale
//     ones. One that has not arrived yet is warming, which is consistent:
//     Envoy does not use an EDS cluster before its endpoints arrive, nor a
//     listener before its route table, and keeps the previous version of
//     a cluster or listener serving meanwhile;
//  3. nothing is held that nothing reads: the endpoints of a cluster CDS
//     dropped and the route table of a dropped listener are gone, so that
//     a cluster of the same name that comes back warms with fresh ones
//     instead of using stale ones.
package adsclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Protocol is the ADS variant a client speaks.
type Protocol string

const (
	// SotW is state-of-the-world ADS (StreamAggregatedResources).
	SotW Protocol = "sotw"
	// Delta is incremental ADS (DeltaAggregatedResources).
	Delta Protocol = "delta"
)

// Options say where the client connects, who it is and what it asks for.
type Options struct {
	// Addr is the server's host:port.
	Addr string
	// DialOptions carry at least the transport credentials
	// (grpc.WithTransportCredentials with TLS, or insecure on loopback);
	// the client adds none of its own.
	DialOptions []grpc.DialOption
	// Protocol is SotW or Delta; empty means SotW.
	Protocol Protocol
	// Node is who the client says it is, sent on every request; SidecarNode
	// builds it as an injected sidecar's. Required.
	Node *corev3.Node
	// LocalCluster is the bootstrap's local_cluster_name, an EDS cluster
	// whose endpoints the client asks for from the start, before CDS
	// answers. Empty: none.
	LocalCluster string
	// Wildcard are the types subscribed to as a whole: an injected
	// Envoy's are ClusterType then ListenerType. Endpoints follow the
	// clusters, routes follow the listeners. As Envoy, which starts LDS
	// once its cluster manager is initialized, a client with both asks
	// for the listeners once the first CDS response arrived and the
	// endpoints of every EDS cluster then known (the local one too) are
	// held; a client with one of them asks for it from the start.
	Wildcard []string
	// Names are named subscriptions from the start, by type URL (a probe
	// asking for one cluster's endpoints without CDS). They stay
	// subscribed whatever CDS and LDS say.
	Names map[string][]string
	// Reject, when set, is asked about every decoded response; an error
	// NACKs the response, which then changes nothing held.
	Reject func(typeURL string, resources map[string]proto.Message) error
	// MaxResources bounds what the client holds of one type: beyond it
	// the stream fails. 0 means DefaultMaxResources.
	MaxResources int
}

// DefaultMaxResources is MaxResources when unset: far more than a test's
// cluster serves, far less than would exhaust a test's memory.
const DefaultMaxResources = 50_000

// known are the types a client decodes and holds, in Envoy's order.
var known = []string{resourcev3.ClusterType, resourcev3.ListenerType, resourcev3.EndpointType, resourcev3.RouteType}

// follows is which named type follows which wildcard type.
var follows = map[string]string{resourcev3.ClusterType: resourcev3.EndpointType, resourcev3.ListenerType: resourcev3.RouteType}

// SidecarNode is the node an injected sidecar presents: --service-node
// (pod name and namespace, "name.namespace"), --service-cluster (its own
// DDSD name, also its local cluster) and --service-zone.
func SidecarNode(id, cluster, zone string) *corev3.Node {
	return &corev3.Node{Id: id, Cluster: cluster, Locality: &corev3.Locality{Zone: zone}}
}

// Client is one ADS stream and what it received. Its methods are safe for
// concurrent use.
type Client struct {
	protocol Protocol
	local    string
	reject   func(string, map[string]proto.Message) error
	// maxResources bounds what is held of one type.
	maxResources int
	conn         *grpc.ClientConn
	cancel       context.CancelFunc
	done         chan struct{} // closed when the receiving goroutine ends
	updates      chan struct{} // signalled after every response and on failure
	sub          *subscriptions

	mu       sync.Mutex
	held     map[string]map[string]proto.Message // by type URL, then name
	received map[string]bool                     // a response of the type arrived
	nacks    []NACK
	// deferred are the wildcard types asked for once the clusters are
	// initialized (LDS).
	deferred []string
	err      error   // the stream's end, or a protocol violation
	history  history // the views held, checked for consistency
}

// Dial opens the stream and sends Envoy's first requests; the client then
// follows the server until Close or until ctx ends.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(opts.Addr, opts.DialOptions...)
	if err != nil {
		return nil, fmt.Errorf("adsclient: dial %s: %w", opts.Addr, err)
	}
	sctx, cancel := context.WithCancel(ctx)
	c := &Client{
		protocol: opts.Protocol,
		local:    opts.LocalCluster,
		reject:   opts.Reject,
		conn:     conn,
		cancel:   cancel,
		done:     make(chan struct{}),
		updates:  make(chan struct{}, 1),
		sub:      newSubscriptions(opts),
		held:     map[string]map[string]proto.Message{},
		received: map[string]bool{},
		history:  history{versions: map[string]string{}, arrived: map[string]map[string]bool{}},
	}
	if c.protocol == "" {
		c.protocol = SotW
	}
	if c.maxResources = opts.MaxResources; c.maxResources == 0 {
		c.maxResources = DefaultMaxResources
	}
	var s stream
	ads := discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
	if c.protocol == Delta {
		ds, err := ads.DeltaAggregatedResources(sctx)
		if err != nil {
			return nil, c.abort(err)
		}
		s = &deltaStream{s: ds, node: opts.Node}
	} else {
		ss, err := ads.StreamAggregatedResources(sctx)
		if err != nil {
			return nil, c.abort(err)
		}
		s = &sotwStream{s: ss, node: opts.Node, acks: map[string]ack{}}
	}
	// Envoy's start: CDS, then the named types (the local cluster's
	// endpoints among them); LDS after the clusters when both are asked.
	for _, typ := range opts.Wildcard {
		if typ != resourcev3.ClusterType && slices.Contains(opts.Wildcard, resourcev3.ClusterType) {
			c.deferred = append(c.deferred, typ)
			continue
		}
		if err := s.subscribe(typ, nil, nil); err != nil {
			return nil, c.abort(err)
		}
	}
	for _, typ := range known {
		if names := c.sub.names(typ); len(names) > 0 {
			if err := s.subscribe(typ, names, nil); err != nil {
				return nil, c.abort(err)
			}
		}
	}
	go c.run(s)
	return c, nil
}

func (o Options) validate() error {
	var errs []error
	if o.Addr == "" {
		errs = append(errs, errors.New("Addr is empty"))
	}
	if len(o.DialOptions) == 0 {
		errs = append(errs, errors.New("DialOptions is empty: pass the transport credentials (TLS, or insecure on loopback)"))
	}
	if o.Protocol != "" && o.Protocol != SotW && o.Protocol != Delta {
		errs = append(errs, fmt.Errorf("Protocol %q is neither %q nor %q", o.Protocol, SotW, Delta))
	}
	if o.Node == nil {
		errs = append(errs, errors.New("Node is nil"))
	}
	if o.MaxResources < 0 {
		errs = append(errs, fmt.Errorf("MaxResources %d is negative", o.MaxResources))
	}
	for i, typ := range o.Wildcard {
		if _, ok := follows[typ]; !ok {
			errs = append(errs, fmt.Errorf("Wildcard[%d]: %q is not one of %v", i, typ, []string{resourcev3.ClusterType, resourcev3.ListenerType}))
		}
	}
	for typ := range o.Names {
		if !slices.Contains(known, typ) {
			errs = append(errs, fmt.Errorf("Names[%q]: not one of %v", typ, known))
		}
		if slices.Contains(o.Wildcard, typ) {
			errs = append(errs, fmt.Errorf("Names[%q]: the type is in Wildcard too", typ))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("adsclient: %w", err)
	}
	return nil
}

// abort undoes a Dial that failed half way.
func (c *Client) abort(err error) error {
	c.cancel()
	c.conn.Close()
	close(c.done)
	return fmt.Errorf("adsclient: %s stream to %s: %w", c.protocol, c.conn.Target(), err)
}

// Protocol is the ADS variant the client speaks.
func (c *Client) Protocol() Protocol { return c.protocol }

// Close ends the stream and the connection and waits until the client has
// stopped receiving.
func (c *Client) Close() {
	c.cancel()
	<-c.done
	c.conn.Close()
}

// run receives until the stream ends, applying and answering each
// response. It is the only sender once Dial returned.
func (c *Client) run(s stream) {
	defer close(c.done)
	for {
		r, err := s.recv()
		if err == nil {
			err = c.apply(s, r)
		}
		if err != nil {
			c.mu.Lock()
			if c.err == nil {
				c.err = err
			}
			c.mu.Unlock()
			c.notify()
			return
		}
		c.notify()
	}
}

func (c *Client) notify() {
	select {
	case c.updates <- struct{}{}:
	default:
	}
}

// apply decodes one response, NACKs it or stores it, follows CDS with EDS
// and LDS with RDS as Envoy does (the new subscription before the ACK),
// and ACKs it. It sends without holding c.mu, so that a server that stops
// reading blocks the stream, not Wait.
func (c *Client) apply(s stream, r response) error {
	c.mu.Lock()
	asked := c.sub.wildcard[r.typeURL] || len(c.sub.asked[r.typeURL]) > 0
	c.mu.Unlock()
	if !asked {
		// Envoy ignores a type it has no watch for; answering would
		// subscribe to it.
		return fmt.Errorf("the server sent a %s response, a type the client never asked for", short(r.typeURL))
	}
	got, refused := decode(r.typeURL, r.resources)
	if refused == nil && c.reject != nil {
		refused = c.reject(r.typeURL, got)
	}
	c.mu.Lock()
	next, err := c.store(r, got, refused)
	if err == nil && refused == nil {
		// The view Envoy holds once it accepted the response.
		c.record(r)
	}
	names := c.sub.names(r.typeURL)
	var start []string
	if len(c.deferred) > 0 && c.clustersInitialized() {
		start, c.deferred = c.deferred, nil
	}
	c.mu.Unlock()
	switch {
	case err != nil:
		return err
	case refused != nil:
		return s.nack(r, names, refused)
	}
	if next != nil {
		if err := s.subscribe(next.typ, next.names, next.prev); err != nil {
			return err
		}
	}
	if err := s.ack(r, names); err != nil {
		return err
	}
	for _, typ := range start {
		if err := s.subscribe(typ, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// clustersInitialized says whether Envoy's cluster manager would be: the
// first CDS response arrived and every EDS cluster (the local one too)
// has its endpoints. Envoy also gives up waiting after
// initial_fetch_timeout; the client waits, so that a server that never
// sends endpoints shows as the listeners never asked for. c.mu is held.
func (c *Client) clustersInitialized() bool {
	if !c.received[resourcev3.ClusterType] {
		return false
	}
	for _, name := range c.sub.names(resourcev3.EndpointType) {
		if _, ok := c.held[resourcev3.EndpointType][name]; !ok {
			return false
		}
	}
	return true
}

// resubscription is a change of what the client asks for of one type.
type resubscription struct {
	typ         string
	names, prev []string
}

// store records a NACK, or keeps what a response brought and says how the
// subscription of the type that follows changes, if it does. c.mu is held.
func (c *Client) store(r response, got map[string]proto.Message, refused error) (*resubscription, error) {
	if refused != nil {
		c.nacks = append(c.nacks, NACK{TypeURL: r.typeURL, Version: r.version, Nonce: r.nonce, Reason: refused.Error()})
		if len(c.nacks) > maxNACKs {
			c.nacks = c.nacks[len(c.nacks)-maxNACKs:]
		}
		return nil, nil
	}
	wildcard := c.sub.wildcard[r.typeURL]
	if !wildcard {
		for name := range got {
			if !c.sub.everAsked(r.typeURL, name) {
				return nil, fmt.Errorf("the server sent %s %s, which the client never asked for", typeName(r.typeURL), short(name))
			}
		}
	}
	if c.held[r.typeURL] == nil || (wildcard && !r.incremental) {
		// A state-of-the-world response of a wildcard type is the whole
		// set; of a named type, it may leave out what did not change.
		c.held[r.typeURL] = map[string]proto.Message{}
	}
	for name, m := range got {
		// A response to a request made before the client unsubscribed can
		// still hold what it no longer wants: Envoy drops it.
		if wildcard || c.sub.wants(r.typeURL, name) {
			c.held[r.typeURL][name] = m
			if !wildcard {
				c.history.arrive(r.typeURL, name)
			}
		}
	}
	for _, name := range r.removed {
		delete(c.held[r.typeURL], name)
	}
	if len(c.held[r.typeURL]) > c.maxResources {
		return nil, fmt.Errorf("the server sent more than %d %s resources (Options.MaxResources)", c.maxResources, typeName(r.typeURL))
	}
	c.received[r.typeURL] = true
	dep, ok := follows[r.typeURL]
	if !ok {
		return nil, nil
	}
	prev, changed := c.sub.set(dep, c.sub.derive(r.typeURL, c.held[r.typeURL]))
	if !changed {
		return nil, nil
	}
	for name := range c.held[dep] {
		if !c.sub.wants(dep, name) {
			delete(c.held[dep], name)
		}
	}
	c.history.unsubscribed(dep, c.sub)
	return &resubscription{typ: dep, names: c.sub.names(dep), prev: prev}, nil
}
