// Package auditcmd is `kubectl inzone audit`: it reads a live cluster and
// reports what keeps its traffic from staying in its zone (see package
// audit). The kubectl-inzone plugin links it alone, so it must not import
// what only `inzone` needs (lint's sources: Helm, kustomize), nor
// cli-runtime's ConfigFlags, which links kustomize too: kubectl's
// connection flags are bound with clientcmd (connection.go).
//
// It is read-only: it only lists, in pages of 500 (limit/continue). The RBAC
// it needs is ClusterRole (bind it with a ClusterRoleBinding for -A, or
// with a RoleBinding per namespace for -n, plus the nodes rule cluster-wide).
// Nodes are cluster-scoped and always listed (a pod's zone is its node's
// topology.kubernetes.io/zone label). ConfigMaps are read for the lint
// policies on embedded Envoy configs and for ELB hostnames; the workloads
// for the lint policies and ELB hostnames; Istio's ServiceEntries and
// DestinationRules, when the networking.istio.io API exists, for the lint
// policies. On a 403 the command names the verb and resource that was
// forbidden.
package auditcmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/inzone-io/inzone/audit"
	"github.com/inzone-io/inzone/cmd/internal/cli"
	"github.com/inzone-io/inzone/internal/configfile"
	"github.com/inzone-io/inzone/lint"
	"github.com/inzone-io/inzone/lint/rego"
	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/policies"
	"github.com/inzone-io/inzone/simulate"
	"github.com/inzone-io/inzone/workload"
)

// ClusterRole is the RBAC `kubectl inzone audit` needs: get and list,
// nothing else. The networking.istio.io rule matters only where Istio's
// CRDs are installed (--no-istio skips them).
const ClusterRole = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: inzone-audit
rules:
- apiGroups: [""]
  resources: [nodes, pods, services, configmaps, replicationcontrollers]
  verbs: [get, list]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets, replicasets]
  verbs: [get, list]
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [get, list]
- apiGroups: [networking.istio.io]
  resources: [serviceentries, destinationrules]
  verbs: [get, list]
`

// rbacSummary is ClusterRole in one sentence, for 403 messages.
const rbacSummary = "get and list on nodes, pods, services, configmaps, replicationcontrollers, endpointslices.discovery.k8s.io, " +
	"deployments, statefulsets, daemonsets and replicasets.apps, jobs and cronjobs.batch, " +
	"and where Istio is installed serviceentries and destinationrules.networking.istio.io (kubectl inzone audit --help shows the ClusterRole)"

// PageSize is the limit of each list request.
const PageSize = 500

// Options are `kubectl inzone audit`'s flags.
type Options struct {
	// Connection are kubectl's flags for reaching the API server; nil
	// means the namespace "default" (tests set Client).
	Connection    *ConnectionFlags
	AllNamespaces bool
	Output        string
	Timeout       time.Duration
	// NoConfigMaps skips listing ConfigMaps (and linting their Envoy configs).
	NoConfigMaps bool
	// NoIstio skips Istio's ServiceEntries and DestinationRules.
	NoIstio bool
	// From is the caller workload, [namespace/]kind/name, for every Service.
	From string
	// CallGraph is a call graph file (see audit.ParseCallGraph).
	CallGraph string
	// PricePerGB is the price of a GB crossing zones, on each side.
	PricePerGB float64
	// ConfigPath is the inzone config (the webhook's), for DDSD names.
	ConfigPath string
	// CrossZoneThreshold: a zone-aware cross-zone fraction at or above it is
	// a finding.
	CrossZoneThreshold float64
	// MinClusterSize is Envoy's zone_aware_lb_config.min_cluster_size.
	MinClusterSize int

	// Client is the API client and Dynamic the dynamic one (for Istio's
	// objects); Complete builds them from Connection unless set (tests
	// set fakes).
	Client  kubernetes.Interface
	Dynamic dynamic.Interface

	namespace        string // "" for all namespaces
	defaultNamespace string // -n or the kubeconfig's, for --from and the call graph
	from             *audit.WorkloadRef
	edges            []audit.Edge
	mcfg             *mutate.Config
	progress         *progress
	streams          cli.Streams
}

// NewCommand builds `kubectl inzone audit`.
func NewCommand(s cli.Streams) *cobra.Command {
	o := &Options{streams: s, Connection: &ConnectionFlags{}}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Report zone spread, sidecar coverage, nodes without zone, predicted cross-zone traffic and cost, ELB hostnames and lint findings",
		Long: `Audit a live cluster, read-only, for what keeps traffic from staying in its
availability zone: per workload, pods per zone and the skew, and whether the
pods carry a zone spread constraint; per namespace, pods with and without the
inzone-proxy sidecar and why; nodes without a topology.kubernetes.io/zone
label; per Service, the fraction of requests predicted to cross zones with
Envoy's zone-aware routing and with round robin (callers: the Service's own
pods, or the --from workload); per --call-graph edge the same, weighted by
request rate, with the monthly cost of the cross-zone bytes; objects still
calling a LoadBalancer Service by its ELB hostname instead of its DDSD name;
and the inzone lint policies on the live Services, ConfigMaps, workloads and
Istio ServiceEntries and DestinationRules.

Cost: GB/month = bytesPerSecond x cross-zone fraction x 2,592,000 s / 10^9;
USD/month = GB/month x 2 x --price-per-gb (each GB is charged leaving one
zone and entering the other).

Call graph file (YAML or JSON), a list of edges:

  - from: deployment/frontend   # [namespace/]kind/name of the caller
    to: checkout                # [namespace/]name of the Service
    namespace: shop             # optional; default -n or the kubeconfig's
    requestsPerSecond: 250      # at least one of the two rates
    bytesPerSecond: 4000000     # both directions

Exit codes: 0 done, 2 usage, access or API errors. The RBAC it needs:

` + ClusterRole,
		Example: `  kubectl inzone audit -A
  kubectl inzone audit -n shop -o json
  kubectl inzone audit -n shop --from deployment/frontend
  kubectl inzone audit -n shop --call-graph edges.yaml --price-per-gb 0.01 -o yaml
  kubectl inzone audit -A -o sarif > audit.sarif`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			if err := o.Complete(); err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			if err := o.Run(cmd.Context()); err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	o.Connection.AddFlags(f)
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "audit every namespace (nodes are always read cluster-wide)")
	f.StringVarP(&o.Output, "output", "o", "table", "output format: "+strings.Join(audit.Formats, ", "))
	f.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "give up reading the cluster after this long (0: no limit)")
	f.BoolVar(&o.NoConfigMaps, "no-configmaps", false, "do not read ConfigMaps (their Envoy configs are then not linted nor scanned for ELB hostnames)")
	f.BoolVar(&o.NoIstio, "no-istio", false, "do not read Istio ServiceEntries and DestinationRules")
	f.StringVar(&o.From, "from", "", "caller of every Service: a workload as [namespace/]kind/name, e.g. deployment/frontend (default: each Service's own pods)")
	f.StringVar(&o.CallGraph, "call-graph", "", "YAML or JSON file of caller -> Service edges with requestsPerSecond and/or bytesPerSecond")
	f.Float64Var(&o.PricePerGB, "price-per-gb", audit.DefaultPricePerGB, "USD per GB crossing zones, charged on each side (so a cross-zone GB costs twice this)")
	f.StringVar(&o.ConfigPath, "config", "", "inzone config (the webhook's): ddsd.nameTemplate, env and elbs give the DDSD names")
	f.Float64Var(&o.CrossZoneThreshold, "cross-zone-threshold", audit.DefaultCrossZoneThreshold, "zone-aware cross-zone fraction at or above which a Service or edge is a finding (sarif)")
	f.IntVar(&o.MinClusterSize, "min-cluster-size", simulate.DefaultMinClusterSize, "Envoy's zone_aware_lb_config.min_cluster_size: fewer endpoints disable zone-aware routing")
	return cmd
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if !slices.Contains(audit.Formats, o.Output) {
		return fmt.Errorf("--output %q: want one of %s", o.Output, strings.Join(audit.Formats, ", "))
	}
	if o.Timeout < 0 {
		return fmt.Errorf("--timeout %s: must not be negative", o.Timeout)
	}
	if o.PricePerGB < 0 {
		return fmt.Errorf("--price-per-gb %v: must not be negative", o.PricePerGB)
	}
	if o.CrossZoneThreshold < 0 || o.CrossZoneThreshold > 1 {
		return fmt.Errorf("--cross-zone-threshold %v: want a fraction between 0 and 1", o.CrossZoneThreshold)
	}
	if o.MinClusterSize < 0 {
		return fmt.Errorf("--min-cluster-size %d: must not be negative", o.MinClusterSize)
	}
	return nil
}

// Complete resolves the namespace, reads the call graph and config, and
// builds the clients.
func (o *Options) Complete() error {
	if o.Connection != nil {
		ns, err := o.Connection.Namespace()
		if err != nil {
			return err
		}
		o.defaultNamespace = ns
	}
	if o.defaultNamespace == "" {
		o.defaultNamespace = metav1.NamespaceDefault
	}
	o.namespace = o.defaultNamespace
	if o.AllNamespaces {
		o.namespace = ""
	}
	if o.From != "" {
		ref, err := audit.ParseWorkloadRef(o.From, o.defaultNamespace)
		if err != nil {
			return fmt.Errorf("--from %w", err)
		}
		o.from = &ref
	}
	if o.CallGraph != "" {
		data, err := os.ReadFile(o.CallGraph)
		if err != nil {
			return fmt.Errorf("--call-graph: %w", err)
		}
		if o.edges, err = audit.ParseCallGraph(o.CallGraph, data, o.defaultNamespace); err != nil {
			return fmt.Errorf("--call-graph %w", err)
		}
	}
	var err error
	if o.mcfg, err = configfile.Load(o.ConfigPath); err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	if o.progress == nil {
		o.progress = newProgress(o.streams.Err)
	}
	if o.Client != nil {
		return nil
	}
	if o.Connection == nil {
		return errors.New("no API client and no connection flags")
	}
	cfg, err := o.Connection.RESTConfig()
	if err != nil {
		return err
	}
	cfg.UserAgent = "kubectl-inzone/" + cli.Version()
	if o.Timeout > 0 && (cfg.Timeout == 0 || cfg.Timeout > o.Timeout) {
		// No request outlives the run, discovery's included (it takes no
		// context; see withContext).
		cfg.Timeout = o.Timeout
	}
	// The built-in types come as protobuf: on 10,000 pods it decodes
	// faster and leaves less garbage than JSON. The dynamic client (Istio's
	// objects) speaks JSON.
	typed := rest.CopyConfig(cfg)
	typed.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	typed.ContentType = "application/vnd.kubernetes.protobuf"
	if o.Client, err = kubernetes.NewForConfig(typed); err != nil {
		return err
	}
	o.Dynamic, err = dynamic.NewForConfig(cfg)
	return err
}

// Run lists the objects, audits them and writes the report.
func (o *Options) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	defer o.progress.done()
	in, err := o.read(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("reading the cluster took longer than --timeout %s: %w", o.Timeout, err)
		}
		return err
	}
	o.progress.show("auditing…")
	mcfg := o.mcfg
	if mcfg == nil {
		mcfg = mutate.DefaultConfig()
	}
	// The live LoadBalancer Services' ELB hostnames name their DDSD names,
	// in the lint hints too, as in the webhook.
	ddsd, err := mutate.NewEngine(mcfg, mutate.Options{ELBs: audit.NewELBIndex(in.Services)})
	if err != nil {
		return err
	}
	engine, err := rego.New(ctx, rego.Options{Policies: policyFSs(), ELBs: func(key string) (string, bool) { return ddsd.LookupELB(key, "") }})
	if err != nil {
		return err
	}
	threshold := o.CrossZoneThreshold
	if threshold == 0 {
		threshold = -1 // explicitly 0 on the command line: never
	}
	rep, err := audit.Audit(ctx, in, audit.Options{
		Lint: &lint.Linter{Engine: engine}, DDSD: ddsd,
		From: o.from, CallGraph: o.edges, PricePerGB: o.PricePerGB,
		CrossZoneThreshold: threshold,
		Simulate:           simulate.Options{MinClusterSize: o.MinClusterSize},
	})
	if err != nil {
		return err
	}
	o.progress.done()
	return audit.Write(o.streams.Out, o.Output, rep, cli.Version())
}

func policyFSs() []fs.FS { return []fs.FS{policies.FS} }

// readConcurrency bounds the lists in flight: the API server serves them
// from its watch cache on several cores, and one list at a time leaves the
// audit waiting on it.
const readConcurrency = 4

// read lists every object the audit needs, up to readConcurrency lists at
// a time. On failure it returns the error of the first list in the order
// below (nodes first), so the message does not depend on timing.
func (o *Options) read(ctx context.Context) (audit.Input, error) {
	var in audit.Input
	c, ns, p := o.Client, o.namespace, o.progress
	tasks := []func() error{
		func() (err error) {
			in.Nodes, err = listAll(ctx, p, "nodes", "", func(opts metav1.ListOptions) ([]corev1.Node, string, error) {
				l, err := c.CoreV1().Nodes().List(ctx, opts)
				if err != nil {
					return nil, "", err
				}
				return l.Items, l.Continue, nil
			})
			return err
		},
		func() (err error) {
			in.Pods, err = listAll(ctx, p, "pods", ns, func(opts metav1.ListOptions) ([]corev1.Pod, string, error) {
				l, err := c.CoreV1().Pods(ns).List(ctx, opts)
				if err != nil {
					return nil, "", err
				}
				return l.Items, l.Continue, nil
			})
			return err
		},
		func() (err error) {
			in.Services, err = listAll(ctx, p, "services", ns, func(opts metav1.ListOptions) ([]corev1.Service, string, error) {
				l, err := c.CoreV1().Services(ns).List(ctx, opts)
				if err != nil {
					return nil, "", err
				}
				return l.Items, l.Continue, nil
			})
			return err
		},
		func() (err error) {
			in.EndpointSlices, err = listAll(ctx, p, "endpointslices.discovery.k8s.io", ns, func(opts metav1.ListOptions) ([]discoveryv1.EndpointSlice, string, error) {
				l, err := c.DiscoveryV1().EndpointSlices(ns).List(ctx, opts)
				if err != nil {
					return nil, "", err
				}
				return l.Items, l.Continue, nil
			})
			return err
		},
		func() (err error) {
			if o.NoConfigMaps {
				return nil
			}
			in.ConfigMaps, err = listAll(ctx, p, "configmaps", ns, func(opts metav1.ListOptions) ([]corev1.ConfigMap, string, error) {
				l, err := c.CoreV1().ConfigMaps(ns).List(ctx, opts)
				if err != nil {
					return nil, "", err
				}
				return l.Items, l.Continue, nil
			})
			return err
		},
		func() (err error) {
			if o.NoIstio {
				return nil
			}
			in.Istio, err = o.readIstio(ctx)
			return err
		},
	}
	// One list per workload kind, each into its own slot, joined in
	// workload.Kinds()'s order below.
	kinds := listedWorkloadKinds()
	lists := make([][]runtime.Object, len(kinds))
	for i, k := range kinds {
		tasks = slices.Insert(tasks, len(tasks)-1, func() (err error) {
			lists[i], err = listWorkloads(ctx, p, c, k, ns)
			return err
		})
	}
	errs := make([]error, len(tasks))
	sem := make(chan struct{}, readConcurrency)
	var wg sync.WaitGroup
	for i, task := range tasks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = task()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return in, err
		}
	}
	in.Workloads = slices.Concat(lists...)
	return in, nil
}

// IstioGroup is the API group of Istio's networking objects.
const IstioGroup = "networking.istio.io"

// istioResources are the Istio resources the lint policies read.
var istioResources = []string{"serviceentries", "destinationrules"}

// readIstio lists Istio's ServiceEntries and DestinationRules in the
// group's preferred version, found with the discovery client. Without the
// networking.istio.io API it returns nothing; a 403 names the resource.
func (o *Options) readIstio(ctx context.Context) ([]unstructured.Unstructured, error) {
	groups, err := withContext(ctx, o.Client.Discovery().ServerGroups)
	if err != nil {
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("forbidden: cannot discover the API groups (GET /apis): needed to find %s; pass --no-istio to skip Istio (API server said: %v)", IstioGroup, err)
		}
		return nil, fmt.Errorf("discovering the API groups: %w", err)
	}
	var gv string
	for _, g := range groups.Groups {
		if g.Name == IstioGroup {
			gv = g.PreferredVersion.GroupVersion
			if gv == "" && len(g.Versions) > 0 {
				gv = g.Versions[0].GroupVersion
			}
		}
	}
	if gv == "" {
		return nil, nil // Istio is not installed
	}
	resources, err := withContext(ctx, func() (*metav1.APIResourceList, error) {
		return o.Client.Discovery().ServerResourcesForGroupVersion(gv)
	})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("discovering %s: %w", gv, err)
	}
	version, err := schema.ParseGroupVersion(gv)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, r := range resources.APIResources {
		have[r.Name] = true
	}
	if o.Dynamic == nil {
		return nil, errors.New("no dynamic client for " + IstioGroup)
	}
	var out []unstructured.Unstructured
	ns, p := o.namespace, o.progress
	for _, res := range istioResources {
		if !have[res] {
			continue
		}
		gvr := version.WithResource(res)
		items, err := listAll(ctx, p, res+"."+IstioGroup, ns, func(opts metav1.ListOptions) ([]unstructured.Unstructured, string, error) {
			l, err := o.Dynamic.Resource(gvr).Namespace(ns).List(ctx, opts)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.GetContinue(), nil
		})
		if err != nil {
			var fe *forbiddenError
			if errors.As(err, &fe) {
				return nil, fmt.Errorf("%w; pass --no-istio to skip Istio", err)
			}
			return nil, err
		}
		out = append(out, items...)
	}
	return out, nil
}

// withContext runs call, which takes no context (client-go's discovery),
// and returns when it does or when ctx ends, whichever comes first: so
// --timeout bounds discovery too. An abandoned call ends at the REST
// client's own timeout (Complete sets it to --timeout).
func withContext[T any](ctx context.Context, call func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := call()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// listAll pages through a list (PageSize items a request), shows the count
// read so far on p, and turns a 403 into a message naming the verb,
// resource and scope that were forbidden.
func listAll[T any](ctx context.Context, p *progress, resource, namespace string, list func(metav1.ListOptions) ([]T, string, error)) ([]T, error) {
	var out []T
	opts := metav1.ListOptions{Limit: PageSize}
	p.reading(resource, 0)
	for {
		items, cont, err := list(opts)
		if err != nil {
			return nil, listError(resource, namespace, err)
		}
		trim(items)
		out = append(out, items...)
		p.reading(resource, len(out))
		if cont == "" {
			return out, nil
		}
		opts.Continue = cont
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// lastApplied is kubectl apply's copy of the object, as large as the
// object and read by nothing in the audit.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// trim drops from each listed object what the audit never reads, as each
// page arrives, so a large cluster's lists are not held whole: managed
// fields, the last-applied annotation, and a pod's status but its phase.
func trim[T any](items []T) {
	objs, listed := any(items).([]runtime.Object) // the workloads: see workloadListers
	for i := range items {
		var obj any = &items[i]
		if listed {
			obj = objs[i]
		}
		if m, ok := obj.(metav1.Object); ok {
			m.SetManagedFields(nil)
			if a := m.GetAnnotations(); a[lastApplied] != "" {
				delete(a, lastApplied)
			}
		}
		if p, ok := obj.(*corev1.Pod); ok {
			p.Status = corev1.PodStatus{Phase: p.Status.Phase}
			if k, _, ok := workload.Of(p); ok && k.Generated(p.OwnerReferences) {
				trimPodSpec(&p.Spec)
			}
		}
	}
}

// trimPodSpec keeps of a controller's pod what the audit reads of it:
// where it runs, its zone spread, host networking, and its containers'
// names (whether it has the sidecar). The sidecar's bootstrap, env,
// probes, volumes and the rest are most of an injected pod's size.
func trimPodSpec(spec *corev1.PodSpec) {
	names := func(cs []corev1.Container) []corev1.Container {
		if len(cs) == 0 {
			return nil
		}
		out := make([]corev1.Container, len(cs))
		for i, c := range cs {
			out[i] = corev1.Container{Name: c.Name, RestartPolicy: c.RestartPolicy}
		}
		return out
	}
	*spec = corev1.PodSpec{
		NodeName: spec.NodeName, HostNetwork: spec.HostNetwork,
		TopologySpreadConstraints: spec.TopologySpreadConstraints,
		InitContainers:            names(spec.InitContainers),
		Containers:                names(spec.Containers),
	}
}

// forbiddenError is a 403 on a list, naming what was forbidden; it wraps
// the API server's error.
type forbiddenError struct {
	resource, scope string
	err             error
}

func (e *forbiddenError) Error() string {
	return fmt.Sprintf("forbidden: cannot list %s %s: the audit needs %s (API server said: %v)", e.resource, e.scope, rbacSummary, e.err)
}

func (e *forbiddenError) Unwrap() error { return e.err }

func listError(resource, namespace string, err error) error {
	scope := "at the cluster scope"
	if namespace != "" {
		scope = "in namespace " + namespace
	}
	if apierrors.IsForbidden(err) {
		return &forbiddenError{resource: resource, scope: scope, err: err}
	}
	return fmt.Errorf("listing %s %s: %w", resource, scope, err)
}
