package main

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/inzone-io/inzone/xds/server"
)

// fakeCluster is a cluster whose API server refuses every list until
// reachable is set; it holds one Service.
type fakeCluster struct {
	name      string
	kube      *server.Kube
	reachable atomic.Bool
}

func newFakeCluster(t *testing.T, ctx context.Context, name string, reachable bool, changed func()) *fakeCluster {
	t.Helper()
	c := &fakeCluster{name: name}
	c.reachable.Store(reachable)
	cs := fake.NewClientset(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "svc-" + name, Namespace: "default"}})
	cs.PrependReactor("list", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		if !c.reachable.Load() {
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	k, err := server.NewKube(name, false, cs, changed)
	if err != nil {
		t.Fatal(err)
	}
	k.Start(ctx)
	t.Cleanup(k.Shutdown)
	c.kube = k
	return c
}

// TestWaitForClusters: the wait returns when every cluster synced, or
// after the timeout once one did, never with none; a cluster left behind
// reads as empty and counts in the gauge until it syncs, and then is read
// and announced through changed.
func TestWaitForClusters(t *testing.T) {
	tests := []struct {
		name      string
		reachable []bool
		timeout   time.Duration
		// wantWait: the wait outlives the timeout until the first
		// unreachable cluster is let through.
		wantWait  bool
		notSynced float64
	}{
		// An hour: returning at all proves both synced.
		{"every cluster syncs", []bool{true, true}, time.Hour, false, 0},
		{"one cluster unreachable", []bool{true, false}, 10 * time.Millisecond, false, 1},
		{"every cluster unreachable", []bool{false, false}, 10 * time.Millisecond, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			changed := make(chan struct{}, 16)
			onChange := func() {
				select {
				case changed <- struct{}{}:
				default:
				}
			}
			var (
				clusters []*fakeCluster
				names    []string
				kubes    []*server.Kube
			)
			for i, r := range tt.reachable {
				c := newFakeCluster(t, ctx, []string{"a", "b"}[i], r, func() {})
				clusters, names, kubes = append(clusters, c), append(names, c.name), append(kubes, c.kube)
			}
			t.Cleanup(cancel) // runs before the informers' Shutdown, which waits for it
			logs := make(chan string, 64)
			log := funcr.New(func(prefix, args string) {
				select {
				case logs <- args:
				default:
				}
			}, funcr.Options{})
			gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"})

			type result struct {
				readers []server.Reader
				err     error
			}
			done := make(chan result, 1)
			go func() {
				r, err := waitForClusters(ctx, names, kubes, tt.timeout, gauge, onChange, log)
				done <- result{r, err}
			}()
			if tt.wantWait {
				waitLog(t, logs, "no cluster synced within --cluster-sync-timeout")
				select {
				case <-done:
					t.Fatal("returned with no cluster synced")
				default:
				}
				clusters[0].reachable.Store(true)
			}
			var res result
			select {
			case res = <-done:
			case <-time.After(time.Minute): // a failure bound
				t.Fatal("never returned")
			}
			if res.err != nil {
				t.Fatal(res.err)
			}
			if got := testutil.ToFloat64(gauge); got != tt.notSynced {
				t.Errorf("clusters not synced %v, want %v", got, tt.notSynced)
			}
			for i, r := range res.readers {
				src := r.Read()
				synced := tt.reachable[i] || tt.wantWait && i == 0
				if src.Name != names[i] || (len(src.Services) == 1) != synced {
					t.Errorf("cluster %s (synced %v) reads %s with %d Services", names[i], synced, src.Name, len(src.Services))
				}
			}
			if tt.notSynced == 0 {
				return
			}

			// The cluster left behind becomes reachable.
			late := clusters[len(clusters)-1]
			late.reachable.Store(true)
			select {
			case <-changed:
			case <-time.After(time.Minute): // a failure bound
				t.Fatal("the late cluster's sync was never announced")
			}
			if got := testutil.ToFloat64(gauge); got != 0 {
				t.Errorf("clusters not synced %v after the late one synced, want 0", got)
			}
			if src := res.readers[len(res.readers)-1].Read(); len(src.Services) != 1 {
				t.Errorf("the late cluster reads %d Services, want 1", len(src.Services))
			}
		})
	}
}

func waitLog(t *testing.T, logs <-chan string, want string) {
	t.Helper()
	timeout := time.After(time.Minute) // a failure bound
	for {
		select {
		case l := <-logs:
			if strings.Contains(l, want) {
				return
			}
		case <-timeout:
			t.Fatalf("never logged %q", want)
		}
	}
}
