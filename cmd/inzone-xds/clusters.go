package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/inzone-io/inzone/xds/server"
	"github.com/inzone-io/inzone/xds/translate"
)

const (
	// defaultSyncTimeout is how long the server waits for a cluster's
	// informers before it is ready without that cluster.
	defaultSyncTimeout = 2 * time.Minute
	// maxSyncTimeout bounds --cluster-sync-timeout.
	maxSyncTimeout = time.Hour
)

// syncedCluster reads one cluster once its informers synced, and nothing
// before: a half-listed cluster (its Services listed, not yet their
// EndpointSlices) would be served as Services without endpoints.
type syncedCluster struct {
	name string
	kube *server.Kube

	mu     sync.Mutex
	synced bool
	late   bool // the server went ready without it
}

func (c *syncedCluster) Read() translate.Source {
	c.mu.Lock()
	synced := c.synced
	c.mu.Unlock()
	if !synced {
		return translate.Source{Name: c.name}
	}
	return c.kube.Read()
}

// waitForClusters waits until every cluster's informers synced, or until
// timeout passed and at least one did, and returns a Reader per cluster.
// A cluster that has not synced by then is logged and counted in
// notSynced, and read as empty; its informers keep retrying, and when it
// syncs it is counted out, logged and read, and changed is called so the
// server publishes it. With no cluster synced the wait goes on past
// timeout: a server ready with nothing would hand every sidecar an empty
// view. It returns ctx's error when ctx ends first.
func waitForClusters(ctx context.Context, names []string, kubes []*server.Kube, timeout time.Duration,
	notSynced prometheus.Gauge, changed func(), log logr.Logger) ([]server.Reader, error) {
	clusters := make([]*syncedCluster, len(kubes))
	readers := make([]server.Reader, len(kubes))
	synced := make(chan struct{}, len(kubes))
	for i, k := range kubes {
		c := &syncedCluster{name: names[i], kube: k}
		clusters[i], readers[i] = c, c
		go func() {
			if !k.WaitForSync(ctx) {
				return // ctx ended
			}
			c.mu.Lock()
			c.synced = true
			late := c.late
			c.mu.Unlock()
			synced <- struct{}{}
			if late {
				notSynced.Dec()
				log.Info("cluster synced after the server went ready without it; now served", "cluster", c.name)
				changed()
			}
		}()
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	n, timedOut := 0, false
	for n < len(kubes) && (n == 0 || !timedOut) {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("informers did not sync: %w", context.Cause(ctx))
		case <-synced:
			n++
		case <-deadline.C:
			timedOut = true
			if n == 0 {
				log.Info("no cluster synced within --cluster-sync-timeout; not ready until one does", "timeout", timeout.String())
			}
		}
	}
	for _, c := range clusters {
		c.mu.Lock()
		if !c.synced {
			c.late = true
			notSynced.Inc()
			log.Info("cluster not synced within --cluster-sync-timeout: serving without it until it syncs", "cluster", c.name, "timeout", timeout.String())
		}
		c.mu.Unlock()
	}
	return readers, nil
}
