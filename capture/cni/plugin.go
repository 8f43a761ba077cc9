// Package cni is the inzone-cni chained CNI plugin: when a pod's network is
// set up, it installs the traffic capture rules the webhook recorded in the
// pod's inzone.io/capture-cni annotation, in the pod's network namespace, so
// no container of the pod needs NET_ADMIN. The CNI protocol itself is the
// CNI project's library (pkg/skel, pkg/types, pkg/version); entering the
// namespace is the plugins project's pkg/ns.
package cni

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/inzone-io/inzone/capture"
	"github.com/inzone-io/inzone/capture/iptables"
	"github.com/inzone-io/inzone/mutate"
)

// Conf is the plugin's entry in the chained conflist, as the install
// DaemonSet writes it.
type Conf struct {
	types.PluginConf
	// Kubeconfig lets the plugin read the pod's annotations; the install
	// DaemonSet writes it with its service account's token.
	Kubeconfig string `json:"kubeconfig"`
}

// K8sArgs are the CNI_ARGS the kubelet's runtime passes; LoadArgs matches
// the keys to the field names, hence the underscores.
type K8sArgs struct {
	types.CommonArgs
	K8S_POD_NAME      types.UnmarshallableString
	K8S_POD_NAMESPACE types.UnmarshallableString
}

// PodAnnotations fetches a pod's annotations.
type PodAnnotations func(ctx context.Context, kubeconfig, namespace, name string) (map[string]string, error)

// Plugin is inzone-cni. Annotations and Out are swappable for tests.
type Plugin struct {
	Annotations PodAnnotations
	Out         io.Writer
	// Timeout bounds the API call and the rule installation.
	Timeout time.Duration
}

// Funcs are the plugin's commands for skel.PluginMainFuncs.
func (p *Plugin) Funcs() skel.CNIFuncs {
	return skel.CNIFuncs{Add: p.Add, Check: p.Check, Del: p.Del}
}

// Versions are the CNI spec versions the plugin speaks.
var Versions = version.PluginSupports("0.4.0", "1.0.0", "1.1.0")

func parse(args *skel.CmdArgs) (*Conf, *K8sArgs, error) {
	conf := &Conf{}
	if err := json.Unmarshal(args.StdinData, conf); err != nil {
		return nil, nil, fmt.Errorf("inzone-cni: network config: %w", err)
	}
	if err := version.ParsePrevResult(&conf.PluginConf); err != nil {
		return nil, nil, fmt.Errorf("inzone-cni: %w", err)
	}
	k := &K8sArgs{}
	if err := types.LoadArgs(args.Args, k); err != nil {
		return nil, nil, fmt.Errorf("inzone-cni: CNI_ARGS: %w", err)
	}
	return conf, k, nil
}

// settings are the pod's capture settings, or nil when it asks for none
// (no sidecar, another mode, or not a Kubernetes pod at all).
func (p *Plugin) settings(ctx context.Context, conf *Conf, k *K8sArgs) (*capture.Settings, error) {
	if k.K8S_POD_NAME == "" || k.K8S_POD_NAMESPACE == "" {
		return nil, nil
	}
	ann, err := p.Annotations(ctx, conf.Kubeconfig, string(k.K8S_POD_NAMESPACE), string(k.K8S_POD_NAME))
	if err != nil {
		return nil, fmt.Errorf("inzone-cni: pod %s/%s: %w", k.K8S_POD_NAMESPACE, k.K8S_POD_NAME, err)
	}
	v, ok := ann[mutate.AnnotationCaptureCNI]
	if !ok {
		return nil, nil
	}
	if len(v) > 16<<10 {
		return nil, fmt.Errorf("inzone-cni: pod %s/%s: annotation %s: %d bytes, at most 16KiB", k.K8S_POD_NAMESPACE, k.K8S_POD_NAME, mutate.AnnotationCaptureCNI, len(v))
	}
	s := &capture.Settings{}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("inzone-cni: pod %s/%s: annotation %s: %w", k.K8S_POD_NAMESPACE, k.K8S_POD_NAME, mutate.AnnotationCaptureCNI, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("inzone-cni: pod %s/%s: annotation %s: %w", k.K8S_POD_NAMESPACE, k.K8S_POD_NAME, mutate.AnnotationCaptureCNI, err)
	}
	return s, nil
}

func (p *Plugin) context() (context.Context, context.CancelFunc) {
	t := p.Timeout
	if t == 0 {
		t = 30 * time.Second
	}
	return context.WithTimeout(context.Background(), t)
}

// request is what ADD and CHECK start from: the network config, the pod's
// CNI_ARGS and its capture settings (nil when it asks for none).
type request struct {
	conf *Conf
	k    *K8sArgs
	s    *capture.Settings
}

func (p *Plugin) request(ctx context.Context, args *skel.CmdArgs) (*request, error) {
	conf, k, err := parse(args)
	if err != nil {
		return nil, err
	}
	s, err := p.settings(ctx, conf, k)
	if err != nil {
		return nil, err
	}
	return &request{conf: conf, k: k, s: s}, nil
}

// inPodNetNS runs f, in the pod's network namespace, with the iptables
// backend of each family the pod has: IPv4, and IPv6 unless the namespace
// has it off. ADD and CHECK both go through it, so CHECK verifies exactly
// the families ADD installed.
func (r *request) inPodNetNS(ctx context.Context, netns string, f func(iptables.Backend) error) error {
	err := ns.WithNetNSPath(netns, func(ns.NetNS) error {
		for _, fam := range []capture.Family{capture.IPv4, capture.IPv6} {
			if fam == capture.IPv6 && !iptables.IPv6Enabled() {
				continue
			}
			b, err := iptables.Detect(ctx, fam)
			if err != nil {
				return err
			}
			if err := f(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("inzone-cni: pod %s/%s: %w", r.k.K8S_POD_NAMESPACE, r.k.K8S_POD_NAME, err)
	}
	return nil
}

// Add installs the pod's rules in its network namespace and passes the
// previous plugin's result on unchanged, as a chained plugin must.
func (p *Plugin) Add(args *skel.CmdArgs) error {
	ctx, cancel := p.context()
	defer cancel()
	r, err := p.request(ctx, args)
	if err != nil {
		return err
	}
	if r.s != nil {
		err := r.inPodNetNS(ctx, args.Netns, func(b iptables.Backend) error {
			_, err := iptables.Install(ctx, b, r.s)
			return err
		})
		if err != nil {
			return err
		}
	}
	return p.passOn(r.conf)
}

// passOn prints the previous result (or an empty one, when the plugin is
// first in the chain, which is a misconfiguration the runtime reports).
func (p *Plugin) passOn(conf *Conf) error {
	res := conf.PrevResult
	if res == nil {
		res = &current.Result{CNIVersion: current.ImplementedSpecVersion}
	}
	out, err := res.GetAsVersion(conf.CNIVersion)
	if err != nil {
		return err
	}
	w := p.Out
	if w == nil {
		w = os.Stdout
	}
	return out.PrintTo(w)
}

// Check verifies that a pod that asks for capture has inzone's jumps, in
// the nat table of each family ADD installs.
func (p *Plugin) Check(args *skel.CmdArgs) error {
	ctx, cancel := p.context()
	defer cancel()
	r, err := p.request(ctx, args)
	if err != nil || r.s == nil {
		return err
	}
	return r.inPodNetNS(ctx, args.Netns, func(b iptables.Backend) error {
		out, err := exec.CommandContext(ctx, b.Save, "-t", "nat").Output()
		if err != nil {
			return fmt.Errorf("%s: %w", b.Save, err)
		}
		for _, j := range capture.Jumps {
			if !strings.Contains(string(out), j+"\n") {
				return fmt.Errorf("%s rule %q missing", b.Family, j)
			}
		}
		return nil
	})
}

// Del has nothing to undo: the rules live in the pod's network namespace
// and go away with it. It neither reads the pod (which may be gone) nor
// fails, so a pod can always be torn down.
func (p *Plugin) Del(*skel.CmdArgs) error { return nil }

// ErrNoKubeconfig is a conf without a kubeconfig path.
var ErrNoKubeconfig = errors.New("no kubeconfig in the plugin's network config (the install DaemonSet writes it)")
