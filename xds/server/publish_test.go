package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/inzone-io/inzone/mutate"
)

// recorder is a store that logs each update ("update Cluster a b") and
// passes it on to the real cache.
type recorder struct {
	url  string
	next store
	log  *[]string
	fail bool
}

func (r recorder) UpdateResources(update map[string]types.Resource, remove []string) error {
	verb, names := "update", keys(update)
	if len(remove) > 0 {
		verb, names = "remove", slices.Sorted(slices.Values(remove))
	}
	url, view, _ := strings.Cut(r.url, "@")
	label := url[strings.LastIndexByte(url, '.')+1:]
	if view != "" {
		label += "@" + view
	}
	*r.log = append(*r.log, fmt.Sprintf("%s %s %s", verb, label, strings.Join(names, " ")))
	if r.fail {
		return errors.New("injected failure")
	}
	return r.next.UpdateResources(update, remove)
}

// record makes s log its cache updates from now on.
func record(s *Server) *[]string {
	log := &[]string{}
	for url, st := range s.stores {
		if r, ok := st.(recorder); ok {
			st = r.next
		}
		s.stores[url] = recorder{url: url, next: st, log: log}
	}
	for url, sc := range s.caches.scoped {
		sc.wrapView = func(id string, st store) store {
			return recorder{url: viewKey(url, id), next: st, log: log}
		}
	}
	return log
}

// TestApplyOrder: a new Service's endpoints are in place before its
// cluster, its cluster before the routes naming it; a deleted Service
// leaves the routes first, then its cluster, then its endpoints; a view
// naming a new Service gets its clusters after the endpoints. A
// proxy never holds a route to a cluster it cannot have, nor an EDS
// cluster without its endpoints.
func TestApplyOrder(t *testing.T) {
	s := newTestServer(t)
	r := objects()
	s.build(context.Background(), []Reader{r})
	rec := record(s)

	users := r.src.Services[0].DeepCopy()
	users.Name = "users"
	r.src.Services = append(r.src.Services, users)
	s.build(context.Background(), []Reader{r})
	want := []string{
		"update ClusterLoadAssignment users.service.prod.ddsd:80",
		"update Cluster users.service.prod.ddsd:80",
		"update RouteConfiguration inzone-outbound",
		"update Listener#grpc users.service.prod.ddsd users.service.prod.ddsd:80",
	}
	if !slices.Equal(*rec, want) {
		t.Errorf("adding a Service:\n got %q\nwant %q", *rec, want)
	}

	*rec = nil
	r.src.Services = r.src.Services[:1]
	s.build(context.Background(), []Reader{r})
	want = []string{
		"update RouteConfiguration inzone-outbound",
		"remove Listener#grpc users.service.prod.ddsd users.service.prod.ddsd:80",
		"remove Cluster users.service.prod.ddsd:80",
		"remove ClusterLoadAssignment users.service.prod.ddsd:80",
	}
	if !slices.Equal(*rec, want) {
		t.Errorf("deleting a Service:\n got %q\nwant %q", *rec, want)
	}

	// An identity starts declaring a Service created in the same build:
	// the Service's endpoints (shared, EDS has no views) are in place
	// before every view's clusters, which name them.
	*rec = nil
	r.src.Services = append(r.src.Services, users)
	r.src.Pods[0].Annotations = map[string]string{mutate.AnnotationCalls: "users"}
	s.build(context.Background(), []Reader{r})
	endpoints, views := -1, 0
	for i, step := range *rec {
		switch {
		case step == "update ClusterLoadAssignment users.service.prod.ddsd:80":
			endpoints = i
		case strings.HasPrefix(step, "update Cluster@"):
			views++
			if endpoints < 0 {
				t.Errorf("%q before the endpoints it names: %q", step, *rec)
			}
		}
	}
	if endpoints < 0 || views == 0 {
		t.Errorf("declaring a new Service: no endpoints or no view clusters in %q", *rec)
	}
}

// TestApplyOrderProperty: for every pair of states among several, the
// updates come first in served order, then the removals in reverse, each
// type at most once per kind.
func TestApplyOrderProperty(t *testing.T) {
	states := []func(r *static){
		func(r *static) {},
		func(r *static) { r.src.Services = nil },
		func(r *static) { r.src.Pods = nil },
		func(r *static) { r.src.EndpointSlices = nil },
		func(r *static) {
			u := r.src.Services[0].DeepCopy()
			u.Name = "users"
			r.src.Services = append(r.src.Services, u)
			r.src.Pods = r.src.Pods[:1]
		},
	}
	rank := map[string]int{}
	for i, url := range served {
		rank[url[strings.LastIndexByte(url, '.')+1:]] = i
	}
	for i, from := range states {
		for j, to := range states {
			s := newTestServer(t)
			r := objects()
			from(r)
			s.build(context.Background(), []Reader{r})
			rec := record(s)
			r = objects()
			to(r)
			s.build(context.Background(), []Reader{r})
			last, removing := -1, false
			for _, step := range *rec {
				f := strings.Fields(step)
				k := rank[f[1]]
				switch {
				case f[0] == "update" && (removing || k <= last):
					t.Errorf("%d->%d: %q out of order in %q", i, j, step, *rec)
				case f[0] == "remove" && removing && k >= last:
					t.Errorf("%d->%d: %q out of order in %q", i, j, step, *rec)
				}
				if f[0] == "remove" {
					removing = true
				}
				last = k
			}
			if i == j && len(*rec) != 0 {
				t.Errorf("%d->%d: same state updated %q", i, j, *rec)
			}
		}
	}
}

// TestFailedApplyResetsAll: when a cache update fails midway, the next
// build sets every resource again and removes the ones gone, instead of
// trusting a half-applied record of what the caches hold.
func TestFailedApplyResetsAll(t *testing.T) {
	s := newTestServer(t)
	r := objects()
	s.build(context.Background(), []Reader{r})
	log := &[]string{}
	url := resourcev3.ClusterType
	s.stores[url] = recorder{url: url, next: s.stores[url], log: log, fail: true}
	r.src.Services[0].Spec.Ports[0].Port = 81 // cluster orders:80 goes, orders:81 comes
	s.build(context.Background(), []Reader{r})
	if !slices.Equal(*log, []string{"update Cluster orders.service.prod.ddsd:81"}) {
		t.Fatalf("failing build: %q", *log)
	}
	s.stores[url] = s.stores[url].(recorder).next
	rec := record(s)
	s.build(context.Background(), []Reader{r})
	var updated []string
	removed := ""
	for _, step := range *rec {
		f := strings.Fields(step)
		if f[0] == "update" {
			updated = append(updated, f[1])
		} else {
			removed += step + ";"
		}
	}
	sort.Strings(updated)
	if want := []string{"Cluster", "ClusterLoadAssignment", "Listener", "Listener#grpc", "RouteConfiguration"}; !slices.Equal(updated, want) {
		t.Errorf("after a failed apply, the next build updated %q, want every type", *rec)
	}
	if want := "remove Listener#grpc orders.service.prod.ddsd:80;remove Cluster orders.service.prod.ddsd:80;remove ClusterLoadAssignment orders.service.prod.ddsd:80;"; removed != want {
		t.Errorf("after a failed apply, removed %q, want %q", removed, want)
	}
	if got := keys(s.caches.linear[resourcev3.ClusterType].GetResources()); !slices.Equal(got, []string{"inzone-blackhole", "inzone-explicit-proxy", "inzone-inbound", "inzone-passthrough", "orders.service.prod.ddsd:81"}) {
		t.Errorf("clusters served: %v", got)
	}
}

// TestDNSAnswersFromPublishedBuilds: a build whose publishing fails does
// not reach DNS, which keeps answering from the last build published
// whole until one is.
func TestDNSAnswersFromPublishedBuilds(t *testing.T) {
	s := newTestServer(t)
	r := objects()
	s.build(context.Background(), []Reader{r})
	lookup := func() string {
		addrs, _ := s.LookupDDSD("orders.service.prod.ddsd")
		return fmt.Sprint(addrs)
	}
	if got := lookup(); got != "[10.0.0.1]" {
		t.Fatalf("first build: %s", got)
	}
	url := resourcev3.ClusterType
	s.stores[url] = recorder{url: url, next: s.stores[url], log: &[]string{}, fail: true}
	r.src.EndpointSlices[0].Endpoints[0].Addresses = []string{"10.0.0.9"}
	r.src.Services[0].Spec.Ports[0].Port = 81 // a cluster changes too, so the failing store is used
	s.build(context.Background(), []Reader{r})
	if got := lookup(); got != "[10.0.0.1]" {
		t.Errorf("after a failed publish DNS answers %s, want the published [10.0.0.1]", got)
	}
	s.stores[url] = s.stores[url].(recorder).next
	s.build(context.Background(), []Reader{r})
	if got := lookup(); got != "[10.0.0.9]" {
		t.Errorf("after a published build DNS answers %s, want [10.0.0.9]", got)
	}
}
