package translate

import (
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
	connectTimeout         = 5 * time.Second
)

// clusters is one EDS cluster per DDSD name and Service port, plus the
// listeners' own (ListenerClusters), sorted by name.
func (t *Translator) clusters(callees *calleeSet) []*clusterv3.Cluster {
	var out []*clusterv3.Cluster
	for _, name := range callees.sortedNames() {
		for _, p := range callees.sortedPorts(name) {
			out = append(out, t.calleeCluster(ClusterName(name, p)))
		}
	}
	out = append(out, t.originalDstCluster(InboundCluster), t.originalDstCluster(PassthroughCluster), blackholeCluster(), explicitProxyCluster())
	sortByName(out, (*clusterv3.Cluster).GetName)
	return out
}

// calleeCluster is an EDS cluster fed over ADS with zone-aware routing on
// (parts.zoneAware); all but its name are shared parts.
func (t *Translator) calleeCluster(name string) *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{
			EdsConfig:   t.parts.adsConfig,
			ServiceName: name,
		},
		ConnectTimeout:                t.parts.connectTimeout,
		LbPolicy:                      clusterv3.Cluster_ROUND_ROBIN,
		CommonLbConfig:                t.parts.zoneAware,
		TypedExtensionProtocolOptions: t.parts.protocolOptions,
	}
}

// originalDstCluster sends a connection where it was going before capture
// redirected it to the sidecar.
func (t *Translator) originalDstCluster(name string) *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                          name,
		ClusterDiscoveryType:          &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST},
		LbPolicy:                      clusterv3.Cluster_CLUSTER_PROVIDED,
		ConnectTimeout:                t.parts.connectTimeout,
		TypedExtensionProtocolOptions: t.parts.protocolOptions,
	}
}

// blackholeCluster has no endpoints, so a tcp_proxy to it closes the
// connection at once: the listeners send it what would loop back to them
// (Istio's BlackHoleCluster).
func blackholeCluster() *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 BlackholeCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       durationpb.New(connectTimeout),
	}
}

// downstreamProtocol makes upstream HTTP use the caller's protocol: HTTP/2
// (and so gRPC) stays HTTP/2, HTTP/1.1 stays HTTP/1.1.
func downstreamProtocol() map[string]*anypb.Any {
	a, err := anypb.New(&upstreamhttpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &upstreamhttpv3.HttpProtocolOptions_UseDownstreamProtocolConfig{
			UseDownstreamProtocolConfig: &upstreamhttpv3.HttpProtocolOptions_UseDownstreamHttpConfig{
				HttpProtocolOptions:  &corev3.Http1ProtocolOptions{},
				Http2ProtocolOptions: &corev3.Http2ProtocolOptions{},
			},
		},
	})
	if err != nil {
		panic(err) // a fixed, registered message: cannot fail
	}
	return map[string]*anypb.Any{httpProtocolOptionsKey: a}
}

func adsConfigSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ResourceApiVersion:    corev3.ApiVersion_V3,
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
	}
}
