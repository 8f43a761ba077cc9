// Command inzone-webhook serves inzone's pod mutating admission webhook.
package main

import (
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/webhook"
)

func main() { os.Exit(run()) }

func run() int {
	var (
		opts       webhook.Options
		configPath string
	)
	flag.StringVar(&configPath, "config", "", "inzone config file (YAML); empty uses the built-in defaults")
	flag.StringVar(&opts.CertDir, "cert-dir", "", "directory with tls.crt and tls.key, reloaded when they change")
	flag.StringVar(&opts.Host, "host", "", "address to bind the webhook to")
	flag.IntVar(&opts.Port, "port", 9443, "webhook port")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", `metrics address, "0" to disable`)
	flag.StringVar(&opts.HealthAddr, "health-probe-bind-address", ":8081", `health probe address, "0" to disable`)
	flag.BoolVar(&opts.EnableHTTP2, "enable-http2", false, "serve HTTP/2 (off: rapid-reset hardening)")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	cfg, err := loadConfig(configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	opts.Config = cfg
	restCfg, err := ctrl.GetConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeconfig:", err)
		return 1
	}
	mgr, err := webhook.NewManager(restCfg, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// loadConfig reads and validates the config; any error stops the process at
// start, before anything is served.
func loadConfig(path string) (*mutate.Config, error) {
	if path == "" {
		return mutate.DefaultConfig(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return mutate.LoadConfig(data, path)
}
