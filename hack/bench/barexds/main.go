// Command barexds is go-control-plane alone, for BenchmarkXDS to compare
// inzone-xds with: the same shapes of resources (an EDS cluster per
// Service, its endpoints over three zones, each caller identity's local
// cluster) served from go-control-plane's LinearCache and MuxCache by its
// ADS server on gRPC's defaults, with no Kubernetes, no translation, no
// send budget and no scoped views. What it costs is the floor under
// inzone-xds for the same streams and subscriptions.
//
// It builds its resources from flags and changes an endpoint when asked on
// its control address (POST /endpoints?service=N&ips=A,B), as the
// benchmark's write to an EndpointSlice does for inzone-xds.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // --pprof-address, as inzone-xds's
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Service k is "svc-%04d.service.prod.ddsd" on port 80 with endpoints
// 10.(1+k/250).(k%250).(j+1), and caller identity k is
// "bench-caller-%03d.service.prod.ddsd", as BenchmarkXDS names them.
const (
	port       = 80
	targetPort = 8080
)

var zones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

func serviceName(k int) string  { return fmt.Sprintf("svc-%04d.service.prod.ddsd", k) }
func identityName(k int) string { return fmt.Sprintf("bench-caller-%03d.service.prod.ddsd", k) }
func clusterName(k int) string  { return fmt.Sprintf("%s:%d", serviceName(k), port) }

func main() {
	xdsAddr := flag.String("xds-address", "127.0.0.1:18000", "ADS over gRPC (plaintext)")
	controlAddr := flag.String("health-probe-bind-address", "127.0.0.1:18081", "/readyz and POST /endpoints")
	pprofAddr := flag.String("pprof-address", "0", "Go's /debug/pprof/ (0: off)")
	services := flag.Int("services", 1000, "Services, one EDS cluster each")
	endpoints := flag.Int("endpoints", 5, "endpoints per Service")
	identities := flag.Int("identities", 100, "caller identities, one local cluster each")
	flag.Parse()
	if *services < 1 || *services > 100_000 || *endpoints < 1 || *endpoints > 250 || *identities < 0 || *identities > 100_000 {
		fmt.Fprintln(os.Stderr, "barexds: --services 1-100000, --endpoints 1-250, --identities 0-100000")
		os.Exit(2)
	}
	if err := run(*xdsAddr, *controlAddr, *pprofAddr, *services, *endpoints, *identities); err != nil {
		log.Fatal(err)
	}
}

func run(xdsAddr, controlAddr, pprofAddr string, services, endpoints, identities int) error {
	clusters := cachev3.NewLinearCache(resourcev3.ClusterType)
	loads := cachev3.NewLinearCache(resourcev3.EndpointType)
	cls := map[string]types.Resource{}
	cla := map[string]types.Resource{}
	addrs := make([][]string, services)
	for k := range services {
		cls[clusterName(k)] = edsCluster(clusterName(k))
		for j := range endpoints {
			addrs[k] = append(addrs[k], fmt.Sprintf("10.%d.%d.%d", 1+k/250, k%250, j+1))
		}
		cla[clusterName(k)] = loadAssignment(clusterName(k), addrs[k])
	}
	for k := range identities {
		cla[identityName(k)] = loadAssignment(identityName(k), nil)
	}
	clusters.SetResources(cls)
	loads.SetResources(cla)
	mux := &cachev3.MuxCache{
		Classify:      func(r *cachev3.Request) string { return r.GetTypeUrl() },
		ClassifyDelta: func(r *cachev3.DeltaRequest) string { return r.GetTypeUrl() },
		Caches:        map[string]cachev3.Cache{resourcev3.ClusterType: clusters, resourcev3.EndpointType: loads},
	}
	ctx := context.Background()
	g := grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, serverv3.NewServer(ctx, mux, nil))
	l, err := net.Listen("tcp", xdsAddr)
	if err != nil {
		return err
	}
	if pprofAddr != "0" {
		go func() { log.Print(http.ListenAndServe(pprofAddr, nil)) }()
	}
	var mu sync.Mutex // one change at a time, as one EndpointSlice write
	control := http.NewServeMux()
	control.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	control.HandleFunc("POST /endpoints", func(w http.ResponseWriter, r *http.Request) {
		k, ips, err := parseChange(r, services)
		if err == nil && len(ips) > len(addrs[k]) {
			err = fmt.Errorf("ips: %d addresses for %d endpoints", len(ips), len(addrs[k]))
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		copy(addrs[k], ips)
		if err := loads.UpdateResource(clusterName(k), loadAssignment(clusterName(k), addrs[k])); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	go func() { log.Fatal(http.ListenAndServe(controlAddr, control)) }()
	return g.Serve(l)
}

// parseChange reads ?service=N&ips=A,B: Service N's first endpoints get
// those addresses.
func parseChange(r *http.Request, services int) (int, []string, error) {
	k, err := strconv.Atoi(r.URL.Query().Get("service"))
	if err != nil || k < 0 || k >= services {
		return 0, nil, fmt.Errorf("service: want 0 to %d", services-1)
	}
	ips := strings.Split(r.URL.Query().Get("ips"), ",")
	for _, ip := range ips {
		if _, err := netip.ParseAddr(ip); err != nil {
			return 0, nil, errors.New("ips: " + err.Error())
		}
	}
	return k, ips, nil
}

// edsCluster is the shape of inzone's callee cluster: EDS over ADS, round
// robin, zone-aware routing on.
func edsCluster(name string) *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{
			EdsConfig: &corev3.ConfigSource{
				ResourceApiVersion:    corev3.ApiVersion_V3,
				ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
			},
			ServiceName: name,
		},
		ConnectTimeout: durationpb.New(5e9),
		LbPolicy:       clusterv3.Cluster_ROUND_ROBIN,
		CommonLbConfig: &clusterv3.Cluster_CommonLbConfig{
			LocalityConfigSpecifier: &clusterv3.Cluster_CommonLbConfig_ZoneAwareLbConfig_{
				ZoneAwareLbConfig: &clusterv3.Cluster_CommonLbConfig_ZoneAwareLbConfig{
					RoutingEnabled: &typev3.Percent{Value: 100},
					MinClusterSize: wrapperspb.UInt64(6),
				},
			},
		},
	}
}

// loadAssignment puts endpoint j in zone j%3, one locality per zone.
func loadAssignment(name string, ips []string) *endpointv3.ClusterLoadAssignment {
	out := &endpointv3.ClusterLoadAssignment{ClusterName: name}
	for z, zone := range zones {
		loc := &endpointv3.LocalityLbEndpoints{Locality: &corev3.Locality{Zone: zone}}
		for j := z; j < len(ips); j += len(zones) {
			loc.LbEndpoints = append(loc.LbEndpoints, &endpointv3.LbEndpoint{
				HealthStatus: corev3.HealthStatus_HEALTHY,
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
					Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
						Address: ips[j], PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: targetPort},
					}}},
				}},
			})
		}
		if len(loc.LbEndpoints) > 0 {
			loc.LoadBalancingWeight = wrapperspb.UInt32(uint32(len(loc.LbEndpoints)))
			out.Endpoints = append(out.Endpoints, loc)
		}
	}
	return out
}
