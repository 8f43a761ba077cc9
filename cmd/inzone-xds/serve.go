package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/server"
	"github.com/inzone-io/inzone/xds/translate"
)

// shutdownGrace bounds how long open streams get to finish at shutdown.
const shutdownGrace = 5 * time.Second

// serve runs the ADS server, the HTTP endpoints and the informers until ctx
// ends. Every address is bound before anything starts, so a port taken
// fails at once naming its flag. ADS serves at once; proxies that connect
// before the first snapshot wait for it (readiness says when it exists).
func serve(ctx context.Context, o options, cfg *mutate.Config, tr *translate.Translator, clusters []namedConfig, log logr.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	notSynced := prometheus.NewGauge(prometheus.GaugeOpts{Name: "inzone_xds_clusters_not_synced",
		Help: "Kubernetes clusters whose informers had not synced within --cluster-sync-timeout and still have not: their endpoints are not served."})
	reg.MustRegister(notSynced)
	srv := server.New(ctx, tr, server.Options{Log: log, Registry: reg, MaxStreams: o.maxStreams})
	kubes, err := kubeReaders(clusters, srv.Changed)
	if err != nil {
		return err
	}
	creds, watcher, err := transportCredentials(o, log)
	if err != nil {
		return err
	}
	if o.plaintext {
		log.Info("WARNING: serving ADS in plaintext (--plaintext): any pod that can reach this port, or impersonate it, can read or forge what sidecars receive")
	}
	ls, err := listen(o, cfg, srv, log)
	if err != nil {
		return err
	}
	defer ls.close()
	g := grpc.NewServer(grpc.Creds(creds),
		// Dead proxies (a node gone) are noticed and their streams closed.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(server.MaxRequestBytes), grpc.MaxConcurrentStreams(server.MaxStreamsPerConnection),
		// A connection borrows its 32 KB write buffer from a pool while it
		// writes instead of keeping one for life: an idle sidecar's
		// connection costs that much less (README, benchmark). The read
		// buffer is pooled by gRPC already.
		grpc.SharedWriteBuffer(true))
	srv.Register(g)
	log.Info("serving ADS", "address", ls.xds.Addr().String(), "tls", !o.plaintext, "clusters", len(kubes))

	eg, ctx := errgroup.WithContext(ctx)
	if watcher != nil {
		eg.Go(func() error { return watcher.Start(ctx) })
	}
	eg.Go(func() error {
		go func() {
			<-ctx.Done()
			stopGRPC(g)
		}()
		return g.Serve(ls.xds)
	})
	if ls.metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		eg.Go(func() error { return serveHTTP(ctx, ls.metrics, mux) })
	}
	if ls.health != nil {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
			if !srv.Ready() {
				http.Error(w, "informers not synced or no snapshot published yet", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok"))
		})
		eg.Go(func() error { return serveHTTP(ctx, ls.health, mux) })
	}
	if ls.pprof != nil {
		log.Info("serving Go profiles (--pprof-address)", "address", ls.pprof.Addr().String())
		eg.Go(func() error { return serveHTTP(ctx, ls.pprof, profiles()) })
	}
	if ls.dns != nil {
		eg.Go(func() error { return ls.dns.Start(ctx) })
	}
	eg.Go(func() error {
		names := make([]string, len(kubes))
		for i, k := range kubes {
			k.Start(ctx)
			defer k.Shutdown()
			names[i] = clusters[i].name
		}
		readers, err := waitForClusters(ctx, names, kubes, o.syncTimeout, notSynced, srv.Changed, log)
		if err != nil {
			return err
		}
		log.Info("informers synced (those of a cluster logged above excepted); publishing")
		return srv.Run(ctx, readers)
	})
	err = eg.Wait()
	if errors.Is(err, context.Canceled) || errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// stopGRPC lets streams end, then cuts them: ADS streams never end by
// themselves, so GracefulStop alone would wait forever.
func stopGRPC(g *grpc.Server) {
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		g.Stop()
	}
}

func transportCredentials(o options, log logr.Logger) (credentials.TransportCredentials, *certwatcher.CertWatcher, error) {
	if o.plaintext {
		return insecure.NewCredentials(), nil, nil
	}
	w, err := certwatcher.New(filepath.Join(o.certDir, "tls.crt"), filepath.Join(o.certDir, "tls.key"))
	if err != nil {
		return nil, nil, fmt.Errorf("--cert-dir %s: %w", o.certDir, err)
	}
	log.Info("serving ADS over TLS; the certificate is reloaded when it changes", "certDir", o.certDir)
	return credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: w.GetCertificate}), w, nil
}

// serveHTTP serves mux on lis until ctx ends.
func serveHTTP(ctx context.Context, lis net.Listener, mux http.Handler) error {
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
