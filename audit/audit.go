// Package audit computes what keeps a live cluster's traffic from staying in
// its zone, from objects already read from the API server: how each
// workload's pods spread over zones, which pods run without the inzone
// sidecar and why, which nodes have no zone, how much of each Service's
// traffic Envoy's zone-aware routing is predicted to send across zones, and
// the lint policies' findings on the live objects. It does no I/O, so it is
// tested on built objects; `kubectl inzone audit` lists the objects and calls
// Audit.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/inzone-io/inzone/lint"
	"github.com/inzone-io/inzone/lint/file"
	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/report"
	"github.com/inzone-io/inzone/simulate"
	"github.com/inzone-io/inzone/workload"
)

// ZoneLabel is the node label a pod's zone is read from.
const ZoneLabel = corev1.LabelTopologyZone

// Why a pod runs without the inzone-proxy sidecar.
const (
	ReasonOptedOut      = "opted-out"
	ReasonHostNetwork   = "hostNetwork"
	ReasonNotInjected   = "created before injection or namespace not enabled"
	workloadKindApp     = "app"
	workloadKindBarePod = "Pod"
)

// Input is what the audit reads: the objects as listed from the API server.
type Input struct {
	Nodes          []corev1.Node
	Pods           []corev1.Pod
	Services       []corev1.Service
	EndpointSlices []discoveryv1.EndpointSlice
	// ConfigMaps are linted (Envoy configs embedded in them) and scanned
	// for ELB hostnames; they are optional.
	ConfigMaps []corev1.ConfigMap

	// Workloads are typed objects of package workload's kinds other than
	// Pod (*appsv1.Deployment, *corev1.ReplicationController, ...), as
	// listed; pods are Pods. Each is linted and scanned for ELB hostnames
	// unless another workload created it from its template (a Deployment's
	// ReplicaSet, a CronJob's Job): that template is its creator's. So is
	// each pod no controller owns. Optional; any other object is an error.
	Workloads []runtime.Object

	// Istio are networking.istio.io objects (ServiceEntry, DestinationRule)
	// as read through the dynamic client; they are linted.
	Istio []unstructured.Unstructured
}

// Options tune the audit.
type Options struct {
	// Simulate are Envoy's zone_aware_lb_config knobs for the prediction.
	Simulate simulate.Options
	// Lint, when set, evaluates the lint policies on the live Services,
	// ConfigMaps, workloads and Istio objects.
	Lint *lint.Linter
	// DDSD names the DDSD name of a Service (its config's nameTemplate and
	// env) for the ELB findings; nil means the default config's.
	DDSD *mutate.Engine

	// From, when set, is the caller of every Service instead of the
	// Service's own pods.
	From *WorkloadRef
	// CallGraph are caller -> Service edges to predict, with their rates.
	CallGraph []Edge
	// PricePerGB is the price of a GB crossing zones, charged on each side
	// (the command's default is DefaultPricePerGB).
	PricePerGB float64
	// CrossZoneThreshold is the zone-aware cross-zone fraction at and above
	// which a Service or edge is a finding; 0 means
	// DefaultCrossZoneThreshold, negative never.
	CrossZoneThreshold float64
}

// DefaultCrossZoneThreshold is Options.CrossZoneThreshold's default: 10% of
// the requests crossing zones despite zone-aware routing.
const DefaultCrossZoneThreshold = 0.1

// Report is the audit's result. Its JSON form is `kubectl inzone audit -o
// json`'s output.
type Report struct {
	// Zones are the zones that have nodes, sorted.
	Zones            []string            `json:"zones"`
	Workloads        []Workload          `json:"workloads"`
	Coverage         []NamespaceCoverage `json:"coverage"`
	NodesWithoutZone []string            `json:"nodesWithoutZone"`
	// Callers says who calls each Service in Services: "own pods" or the
	// --from workload.
	Callers  string           `json:"callers"`
	Services []ServiceTraffic `json:"services"`
	// Edges are the call graph's edges, and EdgeTotals their sums; absent
	// without a call graph.
	Edges      []EdgeTraffic `json:"edges,omitempty"`
	EdgeTotals *EdgeTotals   `json:"edgeTotals,omitempty"`
	// ELBReferences are live objects calling a LoadBalancer Service by its
	// ELB hostname instead of its DDSD name.
	ELBReferences []ELBReference     `json:"elbReferences"`
	LintFindings  []report.Finding   `json:"lintFindings"`
	LintErrors    []report.FileError `json:"lintErrors"`

	// threshold is Options.CrossZoneThreshold, for Findings.
	threshold float64
	// rules are the lint engine's rules, for SARIF.
	rules []*report.Rule
}

// Workload is the zone spread of one workload's pods.
type Workload struct {
	Namespace string `json:"namespace"`
	// Kind is the controller's kind (Deployment for pods of a ReplicaSet
	// with a pod-template-hash), "app" for pods grouped by their app label,
	// or Pod for a bare pod.
	Kind string `json:"kind"`
	Name string `json:"name"`
	Pods int    `json:"pods"`
	// PodsPerZone has every zone with nodes, 0 included.
	PodsPerZone map[string]int `json:"podsPerZone"`
	// Unplaced counts pods not bound to a node, or on a node without a zone.
	Unplaced int `json:"unplaced,omitempty"`
	// Skew is max-min of PodsPerZone over the zones that have nodes.
	Skew int `json:"skew"`
	// ZoneSpread counts the pods carrying a topology spread constraint on
	// topology.kubernetes.io/zone (the one inzone's webhook adds).
	ZoneSpread int `json:"podsWithZoneSpread"`
}

// HasZoneSpread is whether every pod carries the zone spread constraint.
func (w Workload) HasZoneSpread() bool { return w.Pods > 0 && w.ZoneSpread == w.Pods }

// NamespaceCoverage is the inzone-proxy sidecar coverage of a namespace.
type NamespaceCoverage struct {
	Namespace    string `json:"namespace"`
	Pods         int    `json:"pods"`
	WithProxy    int    `json:"withProxy"`
	WithoutProxy int    `json:"withoutProxy"`
	// WithoutCapture counts the pods whose sidecar receives none of their
	// traffic: capture mode none, or injected before traffic capture.
	WithoutCapture int `json:"withoutCapture,omitempty"`
	// Reasons counts the pods without the proxy by reason.
	Reasons map[string]int `json:"reasons,omitempty"`
}

// ServiceTraffic is the predicted cross-zone traffic of one Service.
type ServiceTraffic struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Callers are the pods calling the Service per zone: by default the
	// Service's own workload (the pods its selector selects).
	Callers map[string]int `json:"callers"`
	// Callees are the Service's ready endpoints per zone.
	Callees map[string]int `json:"callees"`
	// EndpointsWithoutZone are ready endpoints whose zone is unknown; they
	// are left out of Callees.
	EndpointsWithoutZone int `json:"endpointsWithoutZone,omitempty"`
	// Skipped says why there is no prediction; the fractions are then 0.
	Skipped string `json:"skipped,omitempty"`
	CrossZone
	Routes []Route `json:"routes,omitempty"`
}

// CrossZone is a prediction's fraction of requests crossing zones with
// Envoy's zone-aware routing, with plain round robin, and the difference.
// Build it with newCrossZone, which derives Saved.
type CrossZone struct {
	ZoneAwareCrossZone  float64 `json:"zoneAwareCrossZone"`
	RoundRobinCrossZone float64 `json:"roundRobinCrossZone"`
	// Saved is round robin minus zone-aware.
	Saved float64 `json:"saved"`
}

func newCrossZone(zoneAware, roundRobin float64) CrossZone {
	return CrossZone{ZoneAwareCrossZone: zoneAware, RoundRobinCrossZone: roundRobin, Saved: roundRobin - zoneAware}
}

// Route is where one caller zone's requests go (simulate.Route).
type Route struct {
	CallerZone string             `json:"callerZone"`
	Mode       string             `json:"mode"`
	Reason     string             `json:"reason,omitempty"`
	To         map[string]float64 `json:"to"`
	CrossZone  float64            `json:"crossZone"`
}

// Audit computes the report. ctx is only used by the lint engine.
func Audit(ctx context.Context, in Input, opts Options) (*Report, error) {
	rep := &Report{
		Zones: []string{}, Workloads: []Workload{}, Coverage: []NamespaceCoverage{},
		NodesWithoutZone: []string{}, Services: []ServiceTraffic{}, LintFindings: []report.Finding{},
		ELBReferences: []ELBReference{}, Callers: CallersOwnPods,
	}
	switch {
	case opts.CrossZoneThreshold == 0:
		rep.threshold = DefaultCrossZoneThreshold
	case opts.CrossZoneThreshold > 0:
		rep.threshold = opts.CrossZoneThreshold
	}
	if opts.DDSD == nil {
		e, err := mutate.NewEngine(mutate.DefaultConfig(), mutate.Options{})
		if err != nil {
			return nil, err
		}
		opts.DDSD = e
	}
	nodeZone := map[string]string{}
	zoneSet := map[string]bool{}
	for _, n := range in.Nodes {
		z := n.Labels[ZoneLabel]
		nodeZone[n.Name] = z
		if z == "" {
			rep.NodesWithoutZone = append(rep.NodesWithoutZone, n.Name)
			continue
		}
		zoneSet[z] = true
	}
	for z := range zoneSet {
		rep.Zones = append(rep.Zones, z)
	}
	sort.Strings(rep.Zones)
	sort.Strings(rep.NodesWithoutZone)

	pods := make([]*corev1.Pod, 0, len(in.Pods))
	for i := range in.Pods {
		if p := &in.Pods[i]; p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			pods = append(pods, p)
		}
	}
	owners, err := newCreators(in.Workloads)
	if err != nil {
		return nil, err
	}
	rep.Workloads = workloads(pods, nodeZone, rep.Zones, owners)
	rep.Coverage = coverage(pods)
	callers := newCallerIndex(pods, nodeZone, owners)
	var from map[string]int
	if opts.From != nil {
		rep.Callers = opts.From.String()
		from = callers[*opts.From]
		if len(from) == 0 {
			return nil, fmt.Errorf("--from %s: no pods of %s %s/%s on a node with a zone", opts.From.Kind+"/"+opts.From.Name, opts.From.Kind, opts.From.Namespace, opts.From.Name)
		}
	}
	var calleesOf func(string) (map[string]int, bool)
	rep.Services, calleesOf = services(in, pods, nodeZone, from, opts.Simulate)
	if opts.CallGraph != nil {
		rep.Edges, rep.EdgeTotals = edges(opts.CallGraph, callers, calleesOf, opts)
	}

	live := liveWorkloads(in, pods)
	rep.ELBReferences = elbReferences(in, live, opts.DDSD)
	if opts.Lint != nil {
		files, err := lintFiles(in, live)
		if err != nil {
			return nil, err
		}
		lr := opts.Lint.Lint(ctx, files)
		rep.LintFindings = append(rep.LintFindings, lr.Findings...)
		rep.LintErrors = lr.Errors
		if opts.Lint.Engine != nil {
			rep.rules = opts.Lint.Engine.Rules()
		}
	}
	return rep, nil
}

// CallersOwnPods is Report.Callers without --from.
const CallersOwnPods = "own pods"

// WorkloadOf names the workload a pod belongs to: its controller owner (a
// ReplicaSet with a pod-template-hash is reported as its Deployment), else
// its app.kubernetes.io/name or app label, else the pod itself.
func WorkloadOf(p *corev1.Pod) (kind, name string) {
	if kind, name, ok := workload.ControllerOf(p); ok {
		return kind, name
	}
	for _, k := range []string{"app.kubernetes.io/name", "app"} {
		if v := p.Labels[k]; v != "" {
			return workloadKindApp, v
		}
	}
	return workloadKindBarePod, p.Name
}

// objectKey names an object of a kind in a namespace.
type objectKey struct{ kind, namespace, name string }

// creators maps each listed workload another one created from its
// template (a CronJob's Job, a Deployment's ReplicaSet) to its creator, so
// that a CronJob's pods are one workload rather than one per run.
type creators map[objectKey]objectKey

// newCreators indexes the workloads by creator. An object that is not of a
// workload kind other than Pod is an error naming it.
func newCreators(objs []runtime.Object) (creators, error) {
	out := creators{}
	for i, obj := range objs {
		k, ok := workload.KindOf(obj)
		m, err := meta.Accessor(obj)
		if !ok || k.Kind == workloadKindBarePod || err != nil {
			return nil, fmt.Errorf("Input.Workloads[%d]: %T is not a typed object of a workload kind other than Pod", i, obj)
		}
		if kind, name, ok := k.Creator(m.GetOwnerReferences()); ok {
			out[objectKey{k.Kind, m.GetNamespace(), m.GetName()}] = objectKey{kind, m.GetNamespace(), name}
		}
	}
	return out, nil
}

// workloadOf is WorkloadOf, with a workload another created reported as its
// creator: a CronJob's Job as the CronJob.
func (x creators) workloadOf(p *corev1.Pod) (kind, name string) {
	kind, name = WorkloadOf(p)
	if c, ok := x[objectKey{kind, p.Namespace, name}]; ok {
		return c.kind, c.name
	}
	return kind, name
}

func workloads(pods []*corev1.Pod, nodeZone map[string]string, zones []string, owners creators) []Workload {
	type key struct{ ns, kind, name string }
	byKey := map[key]*Workload{}
	for _, p := range pods {
		kind, name := owners.workloadOf(p)
		k := key{p.Namespace, kind, name}
		w := byKey[k]
		if w == nil {
			w = &Workload{Namespace: p.Namespace, Kind: kind, Name: name, PodsPerZone: map[string]int{}}
			for _, z := range zones {
				w.PodsPerZone[z] = 0
			}
			byKey[k] = w
		}
		w.Pods++
		if z := nodeZone[p.Spec.NodeName]; p.Spec.NodeName != "" && z != "" {
			w.PodsPerZone[z]++
		} else {
			w.Unplaced++
		}
		if hasZoneSpread(p) {
			w.ZoneSpread++
		}
	}
	out := make([]Workload, 0, len(byKey))
	for _, w := range byKey {
		w.Skew = Skew(w.PodsPerZone, zones)
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Kind < b.Kind
	})
	return out
}

// Skew is max-min of counts over zones (missing zones count 0); 0 for no
// zones.
func Skew(counts map[string]int, zones []string) int {
	if len(zones) == 0 {
		return 0
	}
	lo, hi := math.MaxInt, math.MinInt
	for _, z := range zones {
		c := counts[z]
		lo, hi = min(lo, c), max(hi, c)
	}
	return hi - lo
}

func hasZoneSpread(p *corev1.Pod) bool {
	for _, c := range p.Spec.TopologySpreadConstraints {
		if c.TopologyKey == ZoneLabel {
			return true
		}
	}
	return false
}

// HasProxy is whether the pod runs the inzone-proxy sidecar (a container or
// a native sidecar init container).
func HasProxy(p *corev1.Pod) bool { return mutate.HasSidecar(p) }

// NoProxyReason is why a pod without the proxy has none.
func NoProxyReason(p *corev1.Pod) string {
	switch {
	case mutate.OptedOut(p):
		return ReasonOptedOut
	case p.Spec.HostNetwork:
		return ReasonHostNetwork
	default:
		return ReasonNotInjected
	}
}

func coverage(pods []*corev1.Pod) []NamespaceCoverage {
	byNS := map[string]*NamespaceCoverage{}
	for _, p := range pods {
		c := byNS[p.Namespace]
		if c == nil {
			c = &NamespaceCoverage{Namespace: p.Namespace}
			byNS[p.Namespace] = c
		}
		c.Pods++
		if HasProxy(p) {
			c.WithProxy++
			if mutate.PodCaptureMode(p) == mutate.CaptureNone {
				c.WithoutCapture++
			}
			continue
		}
		c.WithoutProxy++
		if c.Reasons == nil {
			c.Reasons = map[string]int{}
		}
		c.Reasons[NoProxyReason(p)]++
	}
	out := make([]NamespaceCoverage, 0, len(byNS))
	for _, c := range byNS {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out
}

// services predicts each Service's traffic from its own pods, or from the
// from callers when set; calleesOf gives any Service's ready endpoints per
// zone by namespace/name, and whether the Service exists.
func services(in Input, pods []*corev1.Pod, nodeZone map[string]string, from map[string]int, opts simulate.Options) ([]ServiceTraffic, func(string) (map[string]int, bool)) {
	slices := map[string][]*discoveryv1.EndpointSlice{}
	for i := range in.EndpointSlices {
		s := &in.EndpointSlices[i]
		if name := s.Labels[discoveryv1.LabelServiceName]; name != "" {
			k := s.Namespace + "/" + name
			slices[k] = append(slices[k], s)
		}
	}
	out := []ServiceTraffic{}
	calleesBy := map[string]map[string]int{}
	var byLabel podLabelIndex
	if from == nil {
		byLabel = newPodLabelIndex(pods)
	}
	for i := range in.Services {
		svc := &in.Services[i]
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		st := ServiceTraffic{Namespace: svc.Namespace, Name: svc.Name, Callers: map[string]int{}, Callees: map[string]int{}}
		st.Callees, st.EndpointsWithoutZone = callees(slices[svc.Namespace+"/"+svc.Name], nodeZone)
		calleesBy[svc.Namespace+"/"+svc.Name] = st.Callees
		if from != nil {
			st.Callers = from
		} else if len(svc.Spec.Selector) > 0 {
			for _, p := range byLabel.candidates(svc.Namespace, svc.Spec.Selector) {
				if !labels.SelectorFromValidatedSet(svc.Spec.Selector).Matches(labels.Set(p.Labels)) {
					continue
				}
				if z := nodeZone[p.Spec.NodeName]; p.Spec.NodeName != "" && z != "" {
					st.Callers[z]++
				}
			}
		}
		if from == nil && len(svc.Spec.Selector) == 0 {
			st.Skipped = "no selector: callers unknown"
		} else {
			st.CrossZone, st.Routes, st.Skipped = predict(st.Callers, st.Callees, opts)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out, func(key string) (map[string]int, bool) {
		c, ok := calleesBy[key]
		return c, ok
	}
}

// podLabelIndex finds the pods that may match a selector without a pass
// over every pod per Service: pods by namespace, label key and value.
type podLabelIndex map[string]map[string]map[string][]*corev1.Pod

func newPodLabelIndex(pods []*corev1.Pod) podLabelIndex {
	idx := podLabelIndex{}
	for _, p := range pods {
		byKey := idx[p.Namespace]
		if byKey == nil {
			byKey = map[string]map[string][]*corev1.Pod{}
			idx[p.Namespace] = byKey
		}
		for k, v := range p.Labels {
			byValue := byKey[k]
			if byValue == nil {
				byValue = map[string][]*corev1.Pod{}
				byKey[k] = byValue
			}
			byValue[v] = append(byValue[v], p)
		}
	}
	return idx
}

// candidates are the pods in namespace having the selector's rarest
// key=value; the caller still matches the whole selector.
func (x podLabelIndex) candidates(namespace string, selector map[string]string) []*corev1.Pod {
	var best []*corev1.Pod
	first := true
	for k, v := range selector {
		c := x[namespace][k][v]
		if first || len(c) < len(best) {
			best, first = c, false
		}
	}
	return best
}

// callees counts the ready endpoints per zone: the endpoint's zone field, or
// its node's zone. Endpoints repeated across slices (dual stack) count once.
func callees(slices []*discoveryv1.EndpointSlice, nodeZone map[string]string) (map[string]int, int) {
	out := map[string]int{}
	unknown := 0
	seen := map[string]bool{}
	for _, s := range slices {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			var key string
			switch {
			case e.TargetRef != nil:
				key = e.TargetRef.Kind + "/" + e.TargetRef.Namespace + "/" + e.TargetRef.Name
			case len(e.Addresses) > 0:
				key = e.Addresses[0]
			}
			if key != "" {
				if seen[key] {
					continue
				}
				seen[key] = true
			}
			z := ""
			if e.Zone != nil {
				z = *e.Zone
			}
			if z == "" && e.NodeName != nil {
				z = nodeZone[*e.NodeName]
			}
			if z == "" {
				unknown++
				continue
			}
			out[z]++
		}
	}
	return out, unknown
}

// FilePath is the file.File path of a live object: <kind>/<namespace>/<name>,
// or <kind>/<name> for a cluster-scoped one.
func FilePath(kind, namespace, name string) string {
	if namespace == "" {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// liveWorkload is a live object with a pod template (or a bare pod), as
// linted and scanned for ELB hostnames.
type liveWorkload struct {
	gvk                   schema.GroupVersionKind
	kind, namespace, name string
	obj                   runtime.Object
	spec                  *corev1.PodSpec
}

// liveWorkloads are the objects that define pods: the workloads of every
// kind no other workload created (a Deployment's ReplicaSets and a
// CronJob's Jobs are not) and the pods owned by no controller; an owned
// object's template is its owner's, linted once (see
// workload.Kind.Generated). in.Workloads are checked by newCreators.
func liveWorkloads(in Input, pods []*corev1.Pod) []liveWorkload {
	var out []liveWorkload
	add := func(obj runtime.Object) {
		k, spec, ok := workload.Of(obj)
		if !ok {
			return
		}
		m, err := meta.Accessor(obj)
		if err != nil || k.Generated(m.GetOwnerReferences()) {
			return
		}
		out = append(out, liveWorkload{gvk: k.GroupVersionKind(), kind: k.Kind, namespace: m.GetNamespace(), name: m.GetName(), obj: obj, spec: spec})
	}
	for _, obj := range in.Workloads {
		add(obj)
	}
	for _, p := range pods {
		add(p)
	}
	return out
}

// lintFiles marshals the live objects to JSON for the linter, with their
// apiVersion and kind (lists leave them empty) and without managedFields:
// Services, ConfigMaps, the workloads and the Istio objects.
func lintFiles(in Input, ws []liveWorkload) ([]file.File, error) {
	files := make([]file.File, 0, len(in.Services)+len(in.ConfigMaps)+len(ws)+len(in.Istio))
	add := func(gvk schema.GroupVersionKind, obj runtime.Object) error {
		c := obj.DeepCopyObject()
		c.GetObjectKind().SetGroupVersionKind(gvk)
		m, err := meta.Accessor(c)
		if err != nil {
			return err
		}
		m.SetManagedFields(nil)
		// JSON, which the linter reads as YAML: sigs.k8s.io/yaml would
		// marshal to JSON and then convert, at five times the allocations.
		data, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return fmt.Errorf("%s %s/%s: %w", gvk.Kind, m.GetNamespace(), m.GetName(), err)
		}
		files = append(files, file.File{Path: FilePath(gvk.Kind, m.GetNamespace(), m.GetName()), Data: data})
		return nil
	}
	for i := range in.Services {
		if err := add(corev1.SchemeGroupVersion.WithKind("Service"), &in.Services[i]); err != nil {
			return nil, err
		}
	}
	for i := range in.ConfigMaps {
		if err := add(corev1.SchemeGroupVersion.WithKind("ConfigMap"), &in.ConfigMaps[i]); err != nil {
			return nil, err
		}
	}
	for _, w := range ws {
		if err := add(w.gvk, w.obj); err != nil {
			return nil, err
		}
	}
	for i := range in.Istio {
		u := &in.Istio[i]
		if err := add(u.GroupVersionKind(), u); err != nil {
			return nil, err
		}
	}
	return files, nil
}
