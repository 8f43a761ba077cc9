package audit

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/inzone-io/inzone/simulate"
	"github.com/inzone-io/inzone/workload"
)

// Cost model defaults and constants; see MonthlyCost.
const (
	// DefaultPricePerGB is the price of one GB crossing zones, charged once
	// on each side (AWS: 0.01 USD out of one zone and 0.01 USD into the
	// other).
	DefaultPricePerGB = 0.01
	// SecondsPerMonth is a 30-day month.
	SecondsPerMonth = 30 * 24 * 3600
	// BytesPerGB is a decimal gigabyte.
	BytesPerGB = 1e9
)

// WorkloadRef names a workload as `kubectl inzone audit --from` and a call
// graph's `from` do: [namespace/]kind/name.
type WorkloadRef struct {
	Namespace string `json:"namespace"`
	// Kind is as the workloads section reports it: a workload kind
	// (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
	// Job, CronJob, Pod), or app (pods grouped by their app label).
	Kind string `json:"kind"`
	Name string `json:"name"`
}

func (r WorkloadRef) String() string { return r.Namespace + "/" + r.Kind + "/" + r.Name }

// workloadKindNames are the kinds ParseWorkloadRef accepts, for messages:
// the workload kinds (any of kubectl's names for them, any case) and app.
var workloadKindNames = func() string {
	var names []string
	for _, k := range workload.Kinds() {
		names = append(names, strings.ToLower(k.Kind))
	}
	return strings.Join(names, ", ") + " or " + workloadKindApp
}()

// ParseWorkloadRef parses [namespace/]kind/name; namespace defaults to
// defaultNamespace.
func ParseWorkloadRef(s, defaultNamespace string) (WorkloadRef, error) {
	parts := strings.Split(s, "/")
	var ref WorkloadRef
	switch len(parts) {
	case 2:
		ref = WorkloadRef{Namespace: defaultNamespace, Kind: parts[0], Name: parts[1]}
	case 3:
		ref = WorkloadRef{Namespace: parts[0], Kind: parts[1], Name: parts[2]}
	default:
		return ref, fmt.Errorf("%q: want kind/name or namespace/kind/name, e.g. deployment/frontend", s)
	}
	if strings.EqualFold(ref.Kind, workloadKindApp) {
		ref.Kind = workloadKindApp
	} else if k, ok := workload.Parse(ref.Kind); ok {
		ref.Kind = k.Kind
	} else {
		return ref, fmt.Errorf("%q: unknown kind %q (want %s)", s, ref.Kind, workloadKindNames)
	}
	if ref.Name == "" || ref.Namespace == "" {
		return ref, fmt.Errorf("%q: empty namespace or name", s)
	}
	return ref, nil
}

// parseServiceRef parses [namespace/]name.
func parseServiceRef(s, defaultNamespace string) (ns, name string, err error) {
	parts := strings.Split(s, "/")
	switch {
	case len(parts) == 1:
		ns, name = defaultNamespace, parts[0]
	case len(parts) == 2:
		ns, name = parts[0], parts[1]
	default:
		return "", "", fmt.Errorf("%q: want a Service as name or namespace/name", s)
	}
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
		return "", "", fmt.Errorf("%q: %s is not a Service name: %s", s, name, strings.Join(errs, "; "))
	}
	if ns == "" {
		return "", "", fmt.Errorf("%q: empty namespace", s)
	}
	return ns, name, nil
}

// Edge is one caller workload calling one Service, from a call graph file.
type Edge struct {
	From WorkloadRef `json:"from"`
	// To is the callee Service as namespace/name.
	To string `json:"to"`
	// RequestsPerSecond and BytesPerSecond are the edge's rates; at least
	// one is set (> 0 when set). BytesPerSecond counts both directions,
	// requests and responses.
	RequestsPerSecond float64 `json:"requestsPerSecond,omitempty"`
	BytesPerSecond    float64 `json:"bytesPerSecond,omitempty"`
	// Line is the edge's line in its file.
	Line int `json:"-"`
}

// CallGraphError is a call graph file that does not parse or validate: the
// file, the line and the field.
type CallGraphError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *CallGraphError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		return where + ": " + e.Field + ": " + e.Msg
	}
	return where + ": " + e.Msg
}

// ParseCallGraph reads a call graph: a YAML or JSON list of edges,
//
//   - from: deployment/frontend      # [namespace/]kind/name of the caller
//     to: checkout                   # [namespace/]name of the callee Service
//     namespace: shop                # default namespace of both (optional)
//     requestsPerSecond: 250         # at least one of the two rates
//     bytesPerSecond: 4000000        # both directions
//
// Namespaces default to the edge's namespace, else defaultNamespace.
// Unknown fields, wrong types, negative or missing rates are errors naming
// file, line and field.
func ParseCallGraph(file string, data []byte, defaultNamespace string) ([]Edge, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		msg := err.Error()
		// yaml.v3 says "yaml: line N: ..."
		if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
			if i := strings.Index(rest, ":"); i > 0 {
				if n, err := strconv.Atoi(rest[:i]); err == nil {
					line, msg = n, strings.TrimSpace(rest[i+1:])
				}
			}
		}
		return nil, &CallGraphError{File: file, Line: line, Msg: "not YAML or JSON: " + msg}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &CallGraphError{File: file, Msg: "empty: want a list of edges (from, to, requestsPerSecond, bytesPerSecond)"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.SequenceNode {
		return nil, &CallGraphError{File: file, Line: root.Line, Msg: "want a list of edges (from, to, requestsPerSecond, bytesPerSecond), got " + nodeKind(root)}
	}
	fail := func(n *yaml.Node, field, format string, args ...any) error {
		return &CallGraphError{File: file, Line: n.Line, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	edges := make([]Edge, 0, len(root.Content))
	for i, item := range root.Content {
		at := fmt.Sprintf("[%d]", i)
		if item.Kind != yaml.MappingNode {
			return nil, fail(item, at, "want an edge (a map with from, to and a rate), got %s", nodeKind(item))
		}
		e := Edge{Line: item.Line}
		var from, to, ns *yaml.Node
		var rps, bps *yaml.Node
		seen := map[string]bool{}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			if seen[k.Value] {
				return nil, fail(k, at+"."+k.Value, "given twice")
			}
			seen[k.Value] = true
			switch k.Value {
			case "from":
				from = v
			case "to":
				to = v
			case "namespace":
				ns = v
			case "requestsPerSecond":
				rps = v
			case "bytesPerSecond":
				bps = v
			default:
				return nil, fail(k, at+"."+k.Value, "unknown field (want from, to, namespace, requestsPerSecond, bytesPerSecond)")
			}
		}
		defNS := defaultNamespace
		if ns != nil {
			if ns.Kind != yaml.ScalarNode || ns.Value == "" {
				return nil, fail(ns, at+".namespace", "want a namespace name")
			}
			defNS = ns.Value
		}
		if from == nil {
			return nil, fail(item, at+".from", "required: the caller workload as [namespace/]kind/name")
		}
		if from.Kind != yaml.ScalarNode {
			return nil, fail(from, at+".from", "want a string [namespace/]kind/name, got %s", nodeKind(from))
		}
		ref, err := ParseWorkloadRef(from.Value, defNS)
		if err != nil {
			return nil, fail(from, at+".from", "%v", err)
		}
		e.From = ref
		if to == nil {
			return nil, fail(item, at+".to", "required: the callee Service as [namespace/]name")
		}
		if to.Kind != yaml.ScalarNode {
			return nil, fail(to, at+".to", "want a string [namespace/]name, got %s", nodeKind(to))
		}
		tns, tname, err := parseServiceRef(to.Value, defNS)
		if err != nil {
			return nil, fail(to, at+".to", "%v", err)
		}
		e.To = tns + "/" + tname
		rate := func(n *yaml.Node, field string) (float64, error) {
			if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
				return 0, fail(n, at+"."+field, "want a number, got %q", n.Value)
			}
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, fail(n, at+"."+field, "want a finite number, got %q", n.Value)
			}
			if f < 0 {
				return 0, fail(n, at+"."+field, "must not be negative, got %s", n.Value)
			}
			return f, nil
		}
		if rps == nil && bps == nil {
			return nil, fail(item, at, "needs requestsPerSecond, bytesPerSecond or both")
		}
		if rps != nil {
			if e.RequestsPerSecond, err = rate(rps, "requestsPerSecond"); err != nil {
				return nil, err
			}
		}
		if bps != nil {
			if e.BytesPerSecond, err = rate(bps, "bytesPerSecond"); err != nil {
				return nil, err
			}
		}
		edges = append(edges, e)
	}
	return edges, nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a map"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// EdgeTraffic is the predicted cross-zone traffic of one call graph edge.
type EdgeTraffic struct {
	From              string         `json:"from"`
	To                string         `json:"to"`
	RequestsPerSecond float64        `json:"requestsPerSecond,omitempty"`
	BytesPerSecond    float64        `json:"bytesPerSecond,omitempty"`
	Callers           map[string]int `json:"callers"`
	Callees           map[string]int `json:"callees"`
	// Skipped says why there is no prediction.
	Skipped string `json:"skipped,omitempty"`
	CrossZone
	// Cost is set when the edge has a byte rate.
	Cost *Cost `json:"cost,omitempty"`
}

// Cost is the monthly cost of the cross-zone bytes, with zone-aware routing
// and with round robin (see MonthlyCost).
type Cost struct {
	ZoneAwareGBPerMonth   float64 `json:"zoneAwareGBPerMonth"`
	RoundRobinGBPerMonth  float64 `json:"roundRobinGBPerMonth"`
	ZoneAwareUSDPerMonth  float64 `json:"zoneAwareUSDPerMonth"`
	RoundRobinUSDPerMonth float64 `json:"roundRobinUSDPerMonth"`
	SavedUSDPerMonth      float64 `json:"savedUSDPerMonth"`
}

// CrossZoneGBPerMonth is the GB per 30-day month that cross zones when
// crossZone of bytesPerSecond does.
func CrossZoneGBPerMonth(bytesPerSecond, crossZone float64) float64 {
	return bytesPerSecond * crossZone * SecondsPerMonth / BytesPerGB
}

// MonthlyCost is what a 30-day month of cross-zone bytes costs:
//
//	GB/month = bytesPerSecond × crossZone × 2,592,000 s / 10⁹
//	USD/month = GB/month × 2 × pricePerGB
//
// the factor 2 because each GB is charged when it leaves one zone and when
// it enters the other.
func MonthlyCost(bytesPerSecond, crossZone, pricePerGB float64) float64 {
	return CrossZoneGBPerMonth(bytesPerSecond, crossZone) * 2 * pricePerGB
}

func (c *Cost) add(o *Cost) {
	c.ZoneAwareGBPerMonth += o.ZoneAwareGBPerMonth
	c.RoundRobinGBPerMonth += o.RoundRobinGBPerMonth
	c.ZoneAwareUSDPerMonth += o.ZoneAwareUSDPerMonth
	c.RoundRobinUSDPerMonth += o.RoundRobinUSDPerMonth
	c.SavedUSDPerMonth += o.SavedUSDPerMonth
}

// EdgeTotals sums the edges that have a prediction.
type EdgeTotals struct {
	Edges   int `json:"edges"`
	Skipped int `json:"skipped"`
	// WeightedBy is what the fractions are weighted by: "requests" (the
	// edges with a request rate), or "bytes" when no edge has one.
	WeightedBy        string  `json:"weightedBy,omitempty"`
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	BytesPerSecond    float64 `json:"bytesPerSecond"`
	CrossZone
	// PricePerGB is the price the costs were computed with.
	PricePerGB float64 `json:"pricePerGB"`
	Cost       *Cost   `json:"cost,omitempty"`
}

// callerIndex finds the pods of a workload by zone.
type callerIndex map[WorkloadRef]map[string]int

func newCallerIndex(pods []*corev1.Pod, nodeZone map[string]string, owners creators) callerIndex {
	idx := callerIndex{}
	for _, p := range pods {
		kind, name := owners.workloadOf(p)
		refs := []WorkloadRef{{Namespace: p.Namespace, Kind: kind, Name: name}}
		// A pod is also its app's and, as a caller, itself.
		if kind != workloadKindApp {
			for _, k := range []string{"app.kubernetes.io/name", "app"} {
				if v := p.Labels[k]; v != "" {
					refs = append(refs, WorkloadRef{Namespace: p.Namespace, Kind: workloadKindApp, Name: v})
					break
				}
			}
		}
		if kind != workloadKindBarePod {
			refs = append(refs, WorkloadRef{Namespace: p.Namespace, Kind: workloadKindBarePod, Name: p.Name})
		}
		// And its controller's, when the workload is the one that created
		// the controller (a Deployment's ReplicaSet, a CronJob's Job).
		if c := metav1.GetControllerOfNoCopy(p); c != nil && (c.Kind != kind || c.Name != name) {
			refs = append(refs, WorkloadRef{Namespace: p.Namespace, Kind: c.Kind, Name: c.Name})
		}
		z := nodeZone[p.Spec.NodeName]
		for _, r := range refs {
			m := idx[r]
			if m == nil {
				m = map[string]int{}
				idx[r] = m
			}
			if p.Spec.NodeName != "" && z != "" {
				m[z]++
			}
		}
	}
	return idx
}

// predict runs the zone-aware model; skipped says why it cannot.
func predict(callers, callees map[string]int, opts simulate.Options) (cz CrossZone, routes []Route, skipped string) {
	switch {
	case len(callers) == 0:
		return cz, nil, "no caller pods in a known zone"
	case len(callees) == 0:
		return cz, nil, "no ready endpoints in a known zone"
	}
	plan, err := simulate.ZoneAware(simulate.Zones(callers), simulate.Zones(callees), opts)
	if err != nil {
		return cz, nil, err.Error()
	}
	for _, r := range plan.Routes {
		routes = append(routes, Route{CallerZone: r.CallerZone, Mode: string(r.Mode), Reason: r.Reason, To: r.To, CrossZone: r.CrossZone})
	}
	return newCrossZone(plan.CrossZone, plan.RoundRobinCrossZone), routes, ""
}

// edges predicts every call graph edge and the totals.
func edges(list []Edge, callers callerIndex, calleesOf func(svc string) (map[string]int, bool), opts Options) ([]EdgeTraffic, *EdgeTotals) {
	price := opts.PricePerGB
	out := make([]EdgeTraffic, 0, len(list))
	tot := &EdgeTotals{PricePerGB: price}
	for _, e := range list {
		et := EdgeTraffic{From: e.From.String(), To: e.To, RequestsPerSecond: e.RequestsPerSecond, BytesPerSecond: e.BytesPerSecond,
			Callers: map[string]int{}, Callees: map[string]int{}}
		if c := callers[e.From]; c != nil {
			et.Callers = c
		}
		callees, ok := calleesOf(e.To)
		if callees != nil {
			et.Callees = callees
		}
		if !ok {
			et.Skipped = "no Service " + e.To
		} else if len(callers[e.From]) == 0 {
			et.Skipped = "no pods of " + e.From.String() + " in a known zone"
		} else {
			et.CrossZone, _, et.Skipped = predict(et.Callers, et.Callees, opts.Simulate)
		}
		if et.Skipped == "" && et.BytesPerSecond > 0 {
			et.Cost = edgeCost(et.BytesPerSecond, et.ZoneAwareCrossZone, et.RoundRobinCrossZone, price)
		}
		out = append(out, et)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})

	anyRPS := false
	for _, et := range out {
		anyRPS = anyRPS || (et.Skipped == "" && et.RequestsPerSecond > 0)
	}
	var wsum, za, rr float64
	for _, et := range out {
		tot.Edges++
		if et.Skipped != "" {
			tot.Skipped++
			continue
		}
		tot.RequestsPerSecond += et.RequestsPerSecond
		tot.BytesPerSecond += et.BytesPerSecond
		w := et.BytesPerSecond
		if anyRPS {
			w = et.RequestsPerSecond
		}
		wsum += w
		za += w * et.ZoneAwareCrossZone
		rr += w * et.RoundRobinCrossZone
		if et.Cost != nil {
			if tot.Cost == nil {
				tot.Cost = &Cost{}
			}
			tot.Cost.add(et.Cost)
		}
	}
	if wsum > 0 {
		tot.WeightedBy = "bytes"
		if anyRPS {
			tot.WeightedBy = "requests"
		}
		tot.CrossZone = newCrossZone(za/wsum, rr/wsum)
	}
	return out, tot
}

func edgeCost(bytesPerSecond, za, rr, price float64) *Cost {
	c := &Cost{
		ZoneAwareGBPerMonth:   CrossZoneGBPerMonth(bytesPerSecond, za),
		RoundRobinGBPerMonth:  CrossZoneGBPerMonth(bytesPerSecond, rr),
		ZoneAwareUSDPerMonth:  MonthlyCost(bytesPerSecond, za, price),
		RoundRobinUSDPerMonth: MonthlyCost(bytesPerSecond, rr, price),
	}
	c.SavedUSDPerMonth = c.RoundRobinUSDPerMonth - c.ZoneAwareUSDPerMonth
	return c
}
