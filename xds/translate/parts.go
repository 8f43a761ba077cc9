package translate

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// parts are the sub-messages that every resource of a kind has alike (a
// callee cluster's config source, load balancing and protocol options; a
// route's matches and timeout), built once per Translator and shared by
// every resource of every translation instead of built anew in each. A
// message is marshaled by value, so sharing changes no byte served; with
// 1,000 Services it saves some 5,000 small messages per translation, kept
// as long as the caches hold the resources. Nothing may modify them, as
// nothing may modify an Output.
type parts struct {
	adsConfig       *corev3.ConfigSource
	connectTimeout  *durationpb.Duration
	zoneAware       *clusterv3.Cluster_CommonLbConfig
	protocolOptions map[string]*anypb.Any
	routerFilters   []*hcmv3.HttpFilter
	prefixMatch     *routev3.RouteMatch
	connectMatch    *routev3.RouteMatch
	noTimeout       *durationpb.Duration
	connectUpgrade  []*routev3.RouteAction_UpgradeConfig
	hcmTypeURL      string
}

func newParts(minClusterSize uint64) *parts {
	return &parts{
		adsConfig:      adsConfigSource(),
		connectTimeout: durationpb.New(connectTimeout),
		// No locality_weighted_lb_config: with it, Envoy ignores zone-aware
		// routing.
		zoneAware: &clusterv3.Cluster_CommonLbConfig{
			LocalityConfigSpecifier: &clusterv3.Cluster_CommonLbConfig_ZoneAwareLbConfig_{
				ZoneAwareLbConfig: &clusterv3.Cluster_CommonLbConfig_ZoneAwareLbConfig{
					RoutingEnabled: &typev3.Percent{Value: 100},
					MinClusterSize: wrapperspb.UInt64(minClusterSize),
				},
			},
		},
		protocolOptions: downstreamProtocol(),
		routerFilters: []*hcmv3.HttpFilter{{
			Name:       "envoy.filters.http.router",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})},
		}},
		prefixMatch:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		connectMatch: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_ConnectMatcher_{ConnectMatcher: &routev3.RouteMatch_ConnectMatcher{}}},
		noTimeout:    durationpb.New(0),
		connectUpgrade: []*routev3.RouteAction_UpgradeConfig{{
			UpgradeType:   "CONNECT",
			ConnectConfig: &routev3.RouteAction_UpgradeConfig_ConnectConfig{},
		}},
		hcmTypeURL: mustAny(&hcmv3.HttpConnectionManager{}).GetTypeUrl(),
	}
}
