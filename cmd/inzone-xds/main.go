// Command inzone-xds is the control plane of inzone's sidecars: it serves
// every Service's endpoints with their zones, each identity's local
// cluster, and the sidecar's listeners over ADS (gRPC).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/inzone-io/inzone/cmd/internal/serverflag"
	"github.com/inzone-io/inzone/internal/configfile"
	"github.com/inzone-io/inzone/xds/server"
	"github.com/inzone-io/inzone/xds/translate"
)

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stderr)) }

// options are the flags.
type options struct {
	config      string
	kubeconfigs stringList
	inCluster   bool
	xdsAddr     string
	certDir     string
	plaintext   bool
	metricsAddr string
	healthAddr  string
	dnsAddr     string
	pprofAddr   string
	syncTimeout time.Duration
	maxStreams  int
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// run parses flags, loads the config and serves until ctx ends or a
// signal. Exit codes: 0 stopped cleanly, 1 runtime error (an address
// already taken at start among them: the flag is right, the machine's
// state is not), 2 bad flags, files or config (nothing bound or dialled).
func run(ctx context.Context, args []string, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("inzone-xds", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "", "inzone config file (YAML), the webhook's; empty uses the built-in defaults")
	fs.Var(&o.kubeconfigs, "kubeconfig", "kubeconfig of a cluster to read; repeat to merge several clusters' endpoints. None: in-cluster config (or $KUBECONFIG)")
	fs.BoolVar(&o.inCluster, "in-cluster", false, "also read the cluster this pod runs in (its service account), besides each --kubeconfig")
	fs.StringVar(&o.xdsAddr, "xds-address", ":18000", "ADS (gRPC) address")
	fs.StringVar(&o.certDir, "cert-dir", "", "directory with tls.crt and tls.key for the ADS server, reloaded when they change")
	fs.BoolVar(&o.plaintext, "plaintext", false, "serve ADS without TLS (tests, local runs): any pod could then be handed routes by an impostor")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", `Prometheus metrics address, "0" to disable`)
	fs.StringVar(&o.healthAddr, "health-probe-bind-address", ":8081", `/healthz and /readyz address, "0" to disable`)
	fs.StringVar(&o.dnsAddr, "dns-address", ":8053", `DNS for the DDSD domain (UDP and TCP), "0" to disable`)
	fs.StringVar(&o.pprofAddr, "pprof-address", "0", `Go's net/http/pprof profiles (heap, CPU, goroutines) at /debug/pprof/; "0" (the default) disables. Bind it to loopback: profiles show the served state`)
	fs.DurationVar(&o.syncTimeout, "cluster-sync-timeout", defaultSyncTimeout, "how long a cluster's informers may take to list their objects before the server is ready without that cluster (it joins when it syncs)")
	fs.IntVar(&o.maxStreams, "max-streams", 20_000, "ADS streams (connected proxies) served at once; one more is refused with RESOURCE_EXHAUSTED. Size it with the memory limit: a stream costs about 55 KB with a scoped view and 500 KB with every Service's at 1,000 Services (README, benchmark)")
	zapOpts, ok := serverflag.Parse(fs, args)
	if !ok {
		return 2
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cfg, err := configfile.Load(o.config)
	if err != nil {
		fmt.Fprintln(stderr, "--config:", err)
		return 2
	}
	tr, err := translate.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "--config %s: %v\n", o.config, err)
		return 2
	}
	clusters, err := restConfigs(o.kubeconfigs, o.inCluster)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	zapOpts.DestWriter = stderr // logs go where the errors go
	log := zap.New(zap.UseFlagOptions(&zapOpts)).WithName("inzone-xds")
	ctrl.SetLogger(log)

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, o, cfg, tr, clusters, log); err != nil {
		log.Error(err, "stopped")
		return 1
	}
	return 0
}

func (o *options) validate() error {
	switch {
	case o.plaintext && o.certDir != "":
		return errors.New("--plaintext and --cert-dir: choose one")
	case !o.plaintext && o.certDir == "":
		return errors.New("--cert-dir: required (or --plaintext, for tests and local runs)")
	case o.xdsAddr == "" || o.xdsAddr == "0":
		return fmt.Errorf("--xds-address %q: the ADS server cannot be turned off", o.xdsAddr)
	case o.syncTimeout <= 0 || o.syncTimeout > maxSyncTimeout:
		return fmt.Errorf("--cluster-sync-timeout %s: want more than 0, at most %s", o.syncTimeout, maxSyncTimeout)
	case o.maxStreams < 1:
		return fmt.Errorf("--max-streams %d: at least 1", o.maxStreams)
	}
	for _, a := range []struct {
		flag, addr string
		off        bool
	}{
		{"--xds-address", o.xdsAddr, false},
		{"--metrics-bind-address", o.metricsAddr, true},
		{"--health-probe-bind-address", o.healthAddr, true},
		{"--dns-address", o.dnsAddr, true},
		{"--pprof-address", o.pprofAddr, true},
	} {
		if err := checkAddress(a.flag, a.addr, a.off); err != nil {
			return err
		}
	}
	if o.certDir != "" {
		if err := checkCertDir(o.certDir); err != nil {
			return err
		}
	}
	if len(o.kubeconfigs) > maxKubeconfigs {
		return fmt.Errorf("--kubeconfig: given %d times, at most %d", len(o.kubeconfigs), maxKubeconfigs)
	}
	given := map[string]bool{}
	for _, p := range o.kubeconfigs {
		if given[filepath.Clean(p)] {
			return fmt.Errorf("--kubeconfig %s: given twice: its endpoints would count twice", p)
		}
		given[filepath.Clean(p)] = true
	}
	return nil
}

// maxKubeconfigs bounds the clusters read (the chart's
// xds.remoteClusters allows as many): each costs a set of informers.
const maxKubeconfigs = 64

// namedConfig is one cluster to read.
type namedConfig struct {
	name string
	rest *rest.Config
	// local marks the cluster the sidecars run in: its nodes and pods alone
	// decide whether the listeners bind IPv6.
	local bool
}

// inClusterConfig is the pod's own service account; tests stand in for it,
// since client-go reads it from fixed paths.
var inClusterConfig = rest.InClusterConfig

// inClusterName names the cluster read through --in-cluster.
const inClusterName = "in-cluster"

// restConfigs loads the clusters to read: with neither --kubeconfig nor
// --in-cluster, controller-runtime's default (in-cluster, else
// $KUBECONFIG); otherwise the pod's own cluster when inCluster, then each
// --kubeconfig, named by its current context (by its path when that is
// empty or taken). A kubeconfig's relative file names (a CA, a token
// file) are relative to it, as kubectl reads them, so a mounted Secret can
// hold them beside it.
//
// The first cluster is the local one, where the sidecars run: the default
// one, else the pod's own (--in-cluster), else the first --kubeconfig.
func restConfigs(paths []string, inCluster bool) ([]namedConfig, error) {
	if len(paths) == 0 && !inCluster {
		if err := checkEnvKubeconfig(); err != nil {
			return nil, err
		}
		c, err := ctrl.GetConfig()
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		return []namedConfig{{"default", c, true}}, nil
	}
	var out []namedConfig
	seen := map[string]bool{}
	if inCluster {
		c, err := inClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("--in-cluster: %w", err)
		}
		out = append(out, namedConfig{inClusterName, c, true})
		seen[inClusterName] = true
	}
	for _, p := range paths {
		raw, err := loadKubeconfig(p)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", p, err)
		}
		if err := clientcmd.ResolveLocalPaths(raw); err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", p, err)
		}
		if err := checkNamedFiles(raw); err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", p, err)
		}
		c, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", p, err)
		}
		name := raw.CurrentContext
		if name == "" || seen[name] {
			name = p
		}
		seen[name] = true
		out = append(out, namedConfig{name, c, len(out) == 0})
	}
	return out, nil
}

// kubeReaders builds one informer-backed Reader per cluster.
func kubeReaders(clusters []namedConfig, onChange func()) ([]*server.Kube, error) {
	var out []*server.Kube
	for _, c := range clusters {
		cs, err := kubernetes.NewForConfig(c.rest)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.name, err)
		}
		k, err := server.NewKube(c.name, c.local, cs, onChange)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.name, err)
		}
		out = append(out, k)
	}
	return out, nil
}
