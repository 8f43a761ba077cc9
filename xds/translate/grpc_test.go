package translate

import (
	"path/filepath"
	"testing"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// TestAPIListenersRouteToServedClusters: in every golden case, each
// callee cluster (an EDS one) has its "<name>:<port>" API listener, and each API
// listener is named as the authority it matches, ends with the router
// filter and routes only to a cluster the Output serves (one with
// endpoints): a gRPC client is never sent a dangling route.
func TestAPIListenersRouteToServedClusters(t *testing.T) {
	tr := testTranslator(t)
	dirs, _ := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			var in Input
			for _, f := range files {
				in.Sources = append(in.Sources, loadSource(t, f))
			}
			out := tr.Translate(in)
			clusters, eds := map[string]bool{}, map[string]bool{}
			for _, c := range out.Clusters {
				clusters[c.Name] = true
			}
			for _, e := range out.Endpoints {
				eds[e.ClusterName] = true
			}
			listeners := map[string]bool{}
			for _, l := range out.APIListeners {
				listeners[l.Name] = true
				checkAPIListener(t, l, clusters, eds)
			}
			for c := range eds {
				if !listeners[c] {
					t.Errorf("cluster %s has no API listener", c)
				}
			}
		})
	}
}

func checkAPIListener(t *testing.T, l *listenerv3.Listener, clusters, eds map[string]bool) {
	t.Helper()
	var hcm hcmv3.HttpConnectionManager
	if err := l.GetApiListener().GetApiListener().UnmarshalTo(&hcm); err != nil {
		t.Fatalf("listener %s: %v", l.Name, err)
	}
	filters := hcm.GetHttpFilters()
	if len(filters) == 0 || filters[len(filters)-1].GetName() != "envoy.filters.http.router" {
		t.Errorf("listener %s: the router is not the last filter: %v", l.Name, filters)
	}
	vhs := hcm.GetRouteConfig().GetVirtualHosts()
	if len(vhs) != 1 || len(vhs[0].GetDomains()) != 1 || vhs[0].GetDomains()[0] != l.Name {
		t.Fatalf("listener %s: want one virtual host for its own name, got %v", l.Name, vhs)
	}
	for _, r := range vhs[0].GetRoutes() {
		c := r.GetRoute().GetCluster()
		if !clusters[c] || !eds[c] {
			t.Errorf("listener %s routes to %q, which is not a served cluster with endpoints", l.Name, c)
		}
	}
}
