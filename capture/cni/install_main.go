package cni

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// InstallMain is `inzone-cni install`: install, then reinstall every
// --interval until SIGTERM, so a rotated token or a conflist the primary
// plugin rewrote is put right. --once installs and exits.
func InstallMain(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("inzone-cni install", flag.ContinueOnError)
	fl.SetOutput(stderr)
	o := InstallOptions{}
	fl.StringVar(&o.BinDir, "bin-dir", "/host/opt/cni/bin", "the node's CNI binary directory, as mounted")
	fl.StringVar(&o.ConfDir, "conf-dir", "/host/etc/cni/net.d", "the node's CNI config directory, as mounted")
	fl.StringVar(&o.HostConfDir, "host-conf-dir", "/etc/cni/net.d", "the CNI config directory as the node sees it")
	fl.StringVar(&o.ServiceAccountDir, "service-account-dir", "/var/run/secrets/kubernetes.io/serviceaccount", "the install pod's token and ca.crt")
	interval := fl.Duration("interval", time.Minute, "how often to reinstall")
	once := fl.Bool("once", false, "install once and exit")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	o.Self = self
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		fmt.Fprintln(stderr, "inzone-cni install: KUBERNETES_SERVICE_HOST and _PORT unset: run it in a pod")
		return 2
	}
	o.APIServer = "https://" + net.JoinHostPort(host, port)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	for {
		changed, err := Install(o)
		if err != nil {
			fmt.Fprintln(stderr, "inzone-cni install:", err)
			if *once {
				return 1
			}
		}
		for _, c := range changed {
			fmt.Fprintln(stdout, "inzone-cni install: wrote", c)
		}
		if *once {
			return 0
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(*interval):
		}
	}
}
