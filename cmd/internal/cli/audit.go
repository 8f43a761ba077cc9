package cli

// `kubectl inzone audit` reads a live cluster and reports what keeps its
// traffic from staying in its zone (see package audit).
//
// It is read-only: it only lists, in pages of 500 (limit/continue). The RBAC
// it needs, as a ClusterRole (bind it with a ClusterRoleBinding for -A, or
// with a RoleBinding per namespace for -n, plus the nodes rule cluster-wide):
//
//	apiVersion: rbac.authorization.k8s.io/v1
//	kind: ClusterRole
//	metadata:
//	  name: inzone-audit
//	rules:
//	- apiGroups: [""]
//	  resources: [nodes, pods, services, configmaps]
//	  verbs: [get, list]
//	- apiGroups: [discovery.k8s.io]
//	  resources: [endpointslices]
//	  verbs: [get, list]
//
// Nodes are cluster-scoped and always listed (a pod's zone is its node's
// topology.kubernetes.io/zone label). ConfigMaps are read for the lint
// policies on embedded Envoy configs. On a 403 the command names the verb
// and resource that was forbidden.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/inzone-io/inzone/audit"
	"github.com/inzone-io/inzone/lint"
	"github.com/inzone-io/inzone/policies"
)

// PageSize is the limit of each list request.
const PageSize = 500

// AuditOptions are `kubectl inzone audit`'s flags.
type AuditOptions struct {
	ConfigFlags   *genericclioptions.ConfigFlags
	AllNamespaces bool
	Output        string
	Timeout       time.Duration
	// NoConfigMaps skips listing ConfigMaps (and linting their Envoy configs).
	NoConfigMaps bool

	// Client is the API client; Complete builds it from ConfigFlags unless
	// set (tests set a fake).
	Client    kubernetes.Interface
	namespace string // "" for all namespaces
	streams   Streams
}

// NewPluginCommand builds the kubectl-inzone command tree (`kubectl inzone
// ...` when the binary is on PATH).
func NewPluginCommand(s Streams) *cobra.Command {
	root := newRoot("kubectl-inzone", "Audit a live cluster for what sends traffic across zones", s)
	root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl inzone"}
	root.AddCommand(newAuditCommand(s))
	return root
}

// RunPlugin executes kubectl-inzone's command line and returns the exit code.
func RunPlugin(args []string, s Streams) int {
	return execute(NewPluginCommand(s), args, s, "kubectl inzone")
}

func newAuditCommand(s Streams) *cobra.Command {
	o := &AuditOptions{streams: s, ConfigFlags: genericclioptions.NewConfigFlags(true)}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Report zone spread, sidecar coverage, nodes without zone, predicted cross-zone traffic and lint findings",
		Long: `Audit a live cluster, read-only, for what keeps traffic from staying in its
availability zone: per workload, pods per zone and the skew, and whether the
pods carry a zone spread constraint; per namespace, pods with and without the
inzone-proxy sidecar and why; nodes without a topology.kubernetes.io/zone
label; per Service, the fraction of requests predicted to cross zones with
Envoy's zone-aware routing and with round robin (callers: the Service's own
pods); and the inzone lint policies on the live Services and ConfigMaps.

Needs get/list on nodes, pods, services, configmaps and
endpointslices.discovery.k8s.io. Exit codes: 0 done, 2 usage, access or API
errors.`,
		Example: `  kubectl inzone audit -A
  kubectl inzone audit -n shop -o json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return withCode(ExitUsage, err)
			}
			if err := o.Complete(); err != nil {
				return withCode(ExitUsage, err)
			}
			if err := o.Run(cmd.Context()); err != nil {
				return withCode(ExitUsage, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	o.ConfigFlags.AddFlags(f)
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "audit every namespace (nodes are always read cluster-wide)")
	f.StringVarP(&o.Output, "output", "o", "table", "output format: "+strings.Join(audit.Formats, ", "))
	f.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "give up reading the cluster after this long (0: no limit)")
	f.BoolVar(&o.NoConfigMaps, "no-configmaps", false, "do not read ConfigMaps (their Envoy configs are then not linted)")
	return cmd
}

// Validate checks the flags.
func (o *AuditOptions) Validate() error {
	if !contains(audit.Formats, o.Output) {
		return fmt.Errorf("--output %q: want one of %s", o.Output, strings.Join(audit.Formats, ", "))
	}
	if o.Timeout < 0 {
		return fmt.Errorf("--timeout %s: must not be negative", o.Timeout)
	}
	return nil
}

// Complete resolves the namespace and builds the client.
func (o *AuditOptions) Complete() error {
	if o.AllNamespaces {
		o.namespace = ""
	} else if o.ConfigFlags != nil {
		ns, _, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("resolving the namespace: %w", err)
		}
		o.namespace = ns
	}
	if o.Client != nil {
		return nil
	}
	cfg, err := o.ConfigFlags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cfg.UserAgent = "kubectl-inzone/" + version()
	o.Client, err = kubernetes.NewForConfig(cfg)
	return err
}

// Run lists the objects, audits them and writes the report.
func (o *AuditOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	in, err := o.read(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("reading the cluster took longer than --timeout %s: %w", o.Timeout, err)
		}
		return err
	}
	engine, err := lint.NewEngine(ctx, lint.EngineOptions{Policies: policyFSs()})
	if err != nil {
		return err
	}
	rep, err := audit.Audit(ctx, in, audit.Options{Lint: &lint.Linter{Engine: engine}})
	if err != nil {
		return err
	}
	return audit.Write(o.streams.Out, o.Output, rep)
}

func policyFSs() []fs.FS { return []fs.FS{policies.FS} }

// read lists every object the audit needs.
func (o *AuditOptions) read(ctx context.Context) (audit.Input, error) {
	var in audit.Input
	var err error
	c, ns := o.Client, o.namespace
	if in.Nodes, err = listAll(ctx, "nodes", "", func(opts metav1.ListOptions) ([]corev1.Node, string, error) {
		l, err := c.CoreV1().Nodes().List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}); err != nil {
		return in, err
	}
	if in.Pods, err = listAll(ctx, "pods", ns, func(opts metav1.ListOptions) ([]corev1.Pod, string, error) {
		l, err := c.CoreV1().Pods(ns).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}); err != nil {
		return in, err
	}
	if in.Services, err = listAll(ctx, "services", ns, func(opts metav1.ListOptions) ([]corev1.Service, string, error) {
		l, err := c.CoreV1().Services(ns).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}); err != nil {
		return in, err
	}
	if in.EndpointSlices, err = listAll(ctx, "endpointslices.discovery.k8s.io", ns, func(opts metav1.ListOptions) ([]discoveryv1.EndpointSlice, string, error) {
		l, err := c.DiscoveryV1().EndpointSlices(ns).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}); err != nil {
		return in, err
	}
	if !o.NoConfigMaps {
		if in.ConfigMaps, err = listAll(ctx, "configmaps", ns, func(opts metav1.ListOptions) ([]corev1.ConfigMap, string, error) {
			l, err := c.CoreV1().ConfigMaps(ns).List(ctx, opts)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}); err != nil {
			return in, err
		}
	}
	return in, nil
}

// listAll pages through a list (PageSize items a request) and turns a 403
// into a message naming the verb, resource and scope that were forbidden.
func listAll[T any](ctx context.Context, resource, namespace string, list func(metav1.ListOptions) ([]T, string, error)) ([]T, error) {
	var out []T
	opts := metav1.ListOptions{Limit: PageSize}
	for {
		items, cont, err := list(opts)
		if err != nil {
			return nil, listError(resource, namespace, err)
		}
		out = append(out, items...)
		if cont == "" {
			return out, nil
		}
		opts.Continue = cont
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func listError(resource, namespace string, err error) error {
	scope := "at the cluster scope"
	if namespace != "" {
		scope = "in namespace " + namespace
	}
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("forbidden: cannot list %s %s: the audit needs get and list on nodes, pods, services, configmaps and endpointslices.discovery.k8s.io (API server said: %v)", resource, scope, err)
	}
	return fmt.Errorf("listing %s %s: %w", resource, scope, err)
}
