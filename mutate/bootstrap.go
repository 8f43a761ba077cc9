package mutate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Names inside the bootstrap. They are prefixed "inzone-" so they cannot
// collide with a cluster or listener the control plane sends over CDS/LDS.
const (
	bootstrapXDSCluster      = "inzone-xds"    // static cluster of the control plane (ADS)
	bootstrapAdminCluster    = "inzone-admin"  // static cluster pointing at Envoy's own loopback admin
	bootstrapHealthListener  = "inzone-health" // static listener the kubelet probes
	bootstrapHealthStat      = "inzone_health" // stat_prefix of the health listener's HCM
	bootstrapReadyPath       = "/ready"        // admin endpoint that answers 200 only when the server is LIVE
	bootstrapLoopback        = "127.0.0.1"     // admin must never be reachable from outside the pod
	bootstrapAnyAddress      = "0.0.0.0"       // the kubelet probes the pod IP
	bootstrapHTTPOptionsKey  = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
	bootstrapHCMFilterName   = "envoy.filters.network.http_connection_manager"
	bootstrapRouterFilter    = "envoy.filters.http.router"
	maxBootstrapClusterBytes = 253 // cluster names are DNS-ish; a DNS name is at most 253 bytes
)

// bootstrapPlaceholder stands in for the local cluster name in the JSON
// template of BootstrapRenderer. It is a valid cluster name that needs no JSON
// escaping and cannot be a valid XDSAddress (the '@'), so it can only occur
// where Bootstrap put the local cluster name.
const bootstrapPlaceholder = "@@INZONE_LOCAL_CLUSTER@@"

// bootstrapLocalClusterUses is how often the local cluster name occurs in the
// bootstrap: cluster_manager.local_cluster_name and the name of its EDS cluster.
const bootstrapLocalClusterUses = 2

// BootstrapParams are the per-pod inputs of the Envoy bootstrap. Node id,
// node cluster and locality zone are not here: they come from Envoy's
// --service-node/--service-cluster/--service-zone flags, which Kubernetes
// expands from the pod's environment.
type BootstrapParams struct {
	LocalCluster string // name of the caller's own service cluster: local_cluster_name and its EDS cluster
	XDSAddress   string // control-plane hostname or IP
	XDSPort      uint32 // control-plane gRPC (ADS) port
	AdminPort    uint32 // Envoy admin port, bound to 127.0.0.1 only
	HealthPort   uint32 // port of the 0.0.0.0 listener whose GET /ready the kubelet probes
	// ControlPlaneCA is the PEM of the CA that signs the control plane's
	// certificate (see ParseControlPlaneCA); the xDS cluster speaks TLS and
	// checks the server's name against XDSAddress. Required unless Plaintext.
	ControlPlaneCA string
	// Plaintext speaks to the control plane without TLS: anything that
	// answers on its address can hand the proxy routes. Tests, local runs.
	Plaintext bool
}

// Bootstrap builds the bootstrap with Envoy's own API types, so that the
// field names, oneofs and typed Any configs are checked by the compiler and by
// the protoc-gen-validate rules (ValidateAll) rather than by string templates.
//
// The result makes zone-aware routing possible: cluster_manager.local_cluster_name
// names a static EDS cluster fed over ADS (the caller's own endpoints with their
// zones), and every other cluster comes from the control plane over ADS (CDS/EDS).
func Bootstrap(p BootstrapParams) (*bootstrapv3.Bootstrap, error) {
	if err := validateBootstrapClusterName(p.LocalCluster); err != nil {
		return nil, err
	}
	if err := validateBootstrapHost(p.XDSAddress); err != nil {
		return nil, err
	}
	for _, port := range []struct {
		name  string
		value uint32
	}{{"XDSPort", p.XDSPort}, {"AdminPort", p.AdminPort}, {"HealthPort", p.HealthPort}} {
		// PGV only checks port_value <= 65535; 0 would pass ValidateAll
		// and make Envoy pick (or dial) an ephemeral port.
		if port.value == 0 || port.value > 65535 {
			return nil, fmt.Errorf("envoy bootstrap: %s %d is not a port in 1-65535", port.name, port.value)
		}
	}
	if p.AdminPort == p.HealthPort {
		// 0.0.0.0:HealthPort would collide with 127.0.0.1:AdminPort.
		return nil, fmt.Errorf("envoy bootstrap: AdminPort and HealthPort must differ (both %d)", p.AdminPort)
	}
	var xdsTLS *corev3.TransportSocket
	if !p.Plaintext {
		if p.ControlPlaneCA == "" {
			return nil, errors.New("envoy bootstrap: ControlPlaneCA is required unless Plaintext")
		}
		ca, err := ParseControlPlaneCA([]byte(p.ControlPlaneCA))
		if err != nil {
			return nil, fmt.Errorf("envoy bootstrap: %w", err)
		}
		if xdsTLS, err = bootstrapControlPlaneTLS(p.XDSAddress, ca); err != nil {
			return nil, err
		}
	}

	xdsHTTP2, err := bootstrapAny(&upstreamhttpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_{
			ExplicitHttpConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{
					Http2ProtocolOptions: &corev3.Http2ProtocolOptions{},
				},
			},
		},
	})
	if err != nil {
		return nil, err
	}
	health, err := bootstrapHealthListenerConfig(p.AdminPort, p.HealthPort)
	if err != nil {
		return nil, err
	}

	b := &bootstrapv3.Bootstrap{
		Admin: &bootstrapv3.Admin{
			// No access_log / access_log_path: the probe hits /ready every few seconds.
			Address: bootstrapSocketAddress(bootstrapLoopback, p.AdminPort),
		},
		ClusterManager: &bootstrapv3.ClusterManager{
			LocalClusterName: p.LocalCluster,
		},
		DynamicResources: &bootstrapv3.Bootstrap_DynamicResources{
			AdsConfig: &corev3.ApiConfigSource{
				ApiType:                   corev3.ApiConfigSource_GRPC,
				TransportApiVersion:       corev3.ApiVersion_V3,
				SetNodeOnFirstMessageOnly: true,
				GrpcServices: []*corev3.GrpcService{{
					TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
						EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: bootstrapXDSCluster},
					},
				}},
			},
			CdsConfig: bootstrapADSConfigSource(),
			LdsConfig: bootstrapADSConfigSource(),
		},
		StaticResources: &bootstrapv3.Bootstrap_StaticResources{
			Clusters: []*clusterv3.Cluster{
				{
					// Zone-aware routing needs the local cluster to be a
					// static EDS cluster: its endpoints' localities tell Envoy
					// how the caller's own service is spread over zones.
					Name:                 p.LocalCluster,
					ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
					EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{
						EdsConfig: bootstrapADSConfigSource(),
					},
				},
				{
					// A single control-plane address, not a zone-aware upstream.
					Name:                 bootstrapXDSCluster,
					ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS},
					ConnectTimeout:       durationpb.New(time.Second),
					LoadAssignment:       bootstrapLoadAssignment(bootstrapXDSCluster, p.XDSAddress, p.XDSPort),
					TypedExtensionProtocolOptions: map[string]*anypb.Any{
						bootstrapHTTPOptionsKey: xdsHTTP2, // gRPC needs HTTP/2
					},
					TransportSocket: xdsTLS,
				},
				{
					Name:                 bootstrapAdminCluster,
					ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
					ConnectTimeout:       durationpb.New(time.Second),
					LoadAssignment:       bootstrapLoadAssignment(bootstrapAdminCluster, bootstrapLoopback, p.AdminPort),
				},
			},
			Listeners: []*listenerv3.Listener{health},
		},
	}
	if err := b.ValidateAll(); err != nil {
		return nil, fmt.Errorf("envoy bootstrap failed validation: %w", err)
	}
	return b, nil
}

// bootstrapHealthListenerConfig is the 0.0.0.0:healthPort listener that
// proxies GET /ready to the loopback-only admin, so the kubelet can probe
// Envoy's readiness without the admin interface being exposed.
func bootstrapHealthListenerConfig(adminPort, healthPort uint32) (*listenerv3.Listener, error) {
	router, err := bootstrapAny(&routerv3.Router{})
	if err != nil {
		return nil, err
	}
	hcm, err := bootstrapAny(&hcmv3.HttpConnectionManager{
		StatPrefix: bootstrapHealthStat,
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{
			RouteConfig: &routev3.RouteConfiguration{
				Name: bootstrapHealthListener,
				VirtualHosts: []*routev3.VirtualHost{{
					Name:    bootstrapHealthListener,
					Domains: []string{"*"},
					Routes: []*routev3.Route{{
						Match: &routev3.RouteMatch{
							PathSpecifier: &routev3.RouteMatch_Path{Path: bootstrapReadyPath},
							Headers: []*routev3.HeaderMatcher{{
								Name: ":method",
								HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{
									StringMatch: &matcherv3.StringMatcher{
										MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "GET"},
									},
								},
							}},
						},
						Action: &routev3.Route_Route{
							Route: &routev3.RouteAction{
								ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: bootstrapAdminCluster},
							},
						},
					}},
				}},
			},
		},
		HttpFilters: []*hcmv3.HttpFilter{{
			Name:       bootstrapRouterFilter,
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: router},
		}},
	})
	if err != nil {
		return nil, err
	}
	return &listenerv3.Listener{
		Name:    bootstrapHealthListener,
		Address: bootstrapSocketAddress(bootstrapAnyAddress, healthPort),
		FilterChains: []*listenerv3.FilterChain{{
			Filters: []*listenerv3.Filter{{
				Name:       bootstrapHCMFilterName,
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcm},
			}},
		}},
	}, nil
}

// bootstrapADSConfigSource is {ads: {}, resource_api_version: V3}: fetch the
// resource over the single ADS stream of dynamic_resources.ads_config.
func bootstrapADSConfigSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}
}

func bootstrapSocketAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{
		Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{
				Address:       host,
				PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
			},
		},
	}
}

func bootstrapLoadAssignment(cluster, host string, port uint32) *endpointv3.ClusterLoadAssignment {
	return &endpointv3.ClusterLoadAssignment{
		ClusterName: cluster,
		Endpoints: []*endpointv3.LocalityLbEndpoints{{
			LbEndpoints: []*endpointv3.LbEndpoint{{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
					Endpoint: &endpointv3.Endpoint{Address: bootstrapSocketAddress(host, port)},
				},
			}},
		}},
	}
}

// bootstrapAny packs m deterministically, so the same inputs give the same bytes.
func bootstrapAny(m proto.Message) (*anypb.Any, error) {
	a := new(anypb.Any)
	if err := anypb.MarshalFrom(a, m, proto.MarshalOptions{Deterministic: true}); err != nil {
		return nil, fmt.Errorf("envoy bootstrap: packing %T: %w", m, err)
	}
	return a, nil
}

// validateBootstrapClusterName accepts printable, non-space UTF-8 without '"'
// or '\'. The name goes into a JSON string inside a YAML command-line
// argument and into --service-cluster, so such characters are almost
// certainly a mistake (and control characters are not allowed in YAML at all).
func validateBootstrapClusterName(name string) error {
	switch {
	case name == "":
		return errors.New("envoy bootstrap: local cluster name is empty")
	case len(name) > maxBootstrapClusterBytes:
		return fmt.Errorf("envoy bootstrap: local cluster name is %d bytes, more than %d", len(name), maxBootstrapClusterBytes)
	case !utf8.ValidString(name):
		return fmt.Errorf("envoy bootstrap: local cluster name %q is not valid UTF-8", name)
	}
	for _, r := range name {
		if !bootstrapClusterNameRune(r) {
			return fmt.Errorf("envoy bootstrap: local cluster name %q contains %q; quotes, backslashes, spaces and control characters are not allowed", name, r)
		}
	}
	return nil
}

// bootstrapClusterNameRune reports whether r may appear in a cluster name:
// printable, not a space, not '"' or '\\'.
func bootstrapClusterNameRune(r rune) bool {
	if r < utf8.RuneSelf { // fast path for the usual all-ASCII names
		return ' ' < r && r < 0x7f && r != '"' && r != '\\'
	}
	return unicode.IsPrint(r) && !unicode.IsSpace(r)
}

// validateBootstrapHost accepts an IP address or a DNS name (letters, digits,
// '-' and '_' in dot-separated labels), which is what STRICT_DNS resolves.
// It rejects host:port, URLs and whitespace, which would otherwise only fail
// inside the sidecar at runtime.
func validateBootstrapHost(host string) error {
	if host == "" {
		return errors.New("envoy bootstrap: XDSAddress is empty")
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	name := strings.TrimSuffix(host, ".")
	if len(name) > 253 {
		return fmt.Errorf("envoy bootstrap: XDSAddress %q is longer than 253 bytes", host)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("envoy bootstrap: XDSAddress %q is neither an IP address nor a DNS name", host)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("envoy bootstrap: XDSAddress %q is neither an IP address nor a DNS name (no port or scheme: use XDSPort)", host)
			}
		}
	}
	return nil
}

// marshalBootstrapJSON marshals b with protojson using the proto field names
// (as in Envoy's documentation), then re-compacts it: protojson deliberately
// randomises whitespace between runs, encoding/json.Compact removes all of it,
// so the output is byte-stable. protojson always sorts map keys, and Compact
// leaves string contents (escapes included) untouched.
func marshalBootstrapJSON(b *bootstrapv3.Bootstrap) ([]byte, error) {
	raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("envoy bootstrap: marshal: %w", err)
	}
	var out bytes.Buffer
	out.Grow(len(raw))
	if err := json.Compact(&out, raw); err != nil {
		return nil, fmt.Errorf("envoy bootstrap: compact: %w", err)
	}
	return out.Bytes(), nil
}

// BootstrapRenderer renders bootstrap JSON fast. The JSON for a given
// control plane and port layout (every BootstrapParams field but
// LocalCluster) is marshalled once with
// protojson in NewBootstrapRenderer (with a placeholder local cluster name);
// Render only substitutes the JSON-escaped LocalCluster (it appears in two
// places), because this runs on every pod admission and protojson is slow.
// A BootstrapRenderer is immutable and safe for concurrent use.
type BootstrapRenderer struct {
	// parts is the compact JSON split around the quoted placeholder: the
	// local cluster's JSON string goes between consecutive parts.
	parts [bootstrapLocalClusterUses + 1]string
	size  int // total length of parts
}

// NewBootstrapRenderer builds and validates the bootstrap for one control
// plane and port layout (p without its LocalCluster), and keeps its JSON as
// a template.
func NewBootstrapRenderer(p BootstrapParams) (*BootstrapRenderer, error) {
	p.LocalCluster = bootstrapPlaceholder
	b, err := Bootstrap(p)
	if err != nil {
		return nil, err
	}
	js, err := marshalBootstrapJSON(b)
	if err != nil {
		return nil, err
	}
	quoted := `"` + bootstrapPlaceholder + `"` // the placeholder needs no escaping
	parts := strings.Split(string(js), quoted)
	if len(parts) != bootstrapLocalClusterUses+1 {
		return nil, fmt.Errorf("envoy bootstrap: local cluster placeholder occurs %d times in the JSON, want %d", len(parts)-1, bootstrapLocalClusterUses)
	}
	r := &BootstrapRenderer{}
	for i, part := range parts {
		r.parts[i] = part
		r.size += len(part)
	}
	return r, nil
}

// Render returns the bootstrap JSON for the pod's local cluster: the same
// bytes as marshalling Bootstrap(...) with that LocalCluster, without protojson.
func (r *BootstrapRenderer) Render(localCluster string) (string, error) {
	if r == nil || r.size == 0 {
		return "", errors.New("envoy bootstrap: BootstrapRenderer not initialised, use NewBootstrapRenderer")
	}
	if err := validateBootstrapClusterName(localCluster); err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.Grow(r.size + bootstrapLocalClusterUses*(len(localCluster)+2))
	sb.WriteString(r.parts[0])
	for _, part := range r.parts[1:] {
		sb.WriteByte('"')
		writeBootstrapJSONStringContent(&sb, localCluster)
		sb.WriteByte('"')
		sb.WriteString(part)
	}
	return sb.String(), nil
}

// writeBootstrapJSONStringContent writes s escaped exactly as protojson
// escapes strings ('"', '\' and C0 controls), so Render matches a direct
// protojson marshal byte for byte. validateBootstrapClusterName already
// rejects all of these, so in practice s is copied unchanged.
func writeBootstrapJSONStringContent(sb *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= ' ' && c != '"' && c != '\\' {
			continue
		}
		sb.WriteString(s[start:i])
		switch c {
		case '"', '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		default:
			sb.WriteString(`\u00`)
			sb.WriteByte(hex[c>>4])
			sb.WriteByte(hex[c&0xf])
		}
		start = i + 1
	}
	sb.WriteString(s[start:])
}
