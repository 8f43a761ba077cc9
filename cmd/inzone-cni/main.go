// Command inzone-cni is a chained CNI plugin that installs inzone's traffic
// capture rules in a pod's network namespace (sidecar.capture.mode: cni).
package main

import (
	"github.com/containernetworking/cni/pkg/skel"

	"github.com/inzone-io/inzone/capture/cni"
)

func main() {
	p := &cni.Plugin{Annotations: cni.APIServerAnnotations}
	skel.PluginMainFuncs(p.Funcs(), cni.Versions, "inzone-cni: inzone traffic capture")
}
