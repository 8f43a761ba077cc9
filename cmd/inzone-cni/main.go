// Command inzone-cni is a chained CNI plugin that installs inzone's traffic
// capture rules in a pod's network namespace (sidecar.capture.mode: cni).
// Run as `inzone-cni install` by the chart's DaemonSet, it installs itself
// on the node instead.
package main

import (
	"os"

	"github.com/containernetworking/cni/pkg/skel"

	"github.com/inzone-io/inzone/capture/cni"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "install" {
		os.Exit(cni.InstallMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	p := &cni.Plugin{Annotations: cni.APIServerAnnotations}
	skel.PluginMainFuncs(p.Funcs(), cni.Versions, "inzone-cni: inzone traffic capture")
}
