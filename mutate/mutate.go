package mutate

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/inzone-io/inzone/elb"
)

// Namespace is the engine's view of the pod's namespace. Its name fills
// {namespace} in DDSD names; a pod being created often has no
// metadata.namespace of its own (the request carries it).
type Namespace struct {
	Name string
}

// ELBResolver maps a canonical ELB hostname (see elb.Canonical) to the
// Service behind it. elb.Index implements it, fed by the webhook's Service
// informer; it must not do I/O, since it is called on the admission path.
type ELBResolver interface {
	Resolve(key string) (elb.ServiceRef, bool)
}

// Options are the facts about the environment an Engine cannot read itself.
type Options struct {
	// NativeSidecarSupported is whether the API server supports native
	// sidecars (Kubernetes >= 1.29); it resolves nativeSidecar: auto.
	NativeSidecarSupported bool
	// ELBs, when set, is consulted for load balancer hostnames the config's
	// static map does not name.
	ELBs ELBResolver
	// ControlPlaneCA is the PEM of the CA that signs inzone-xds's serving
	// certificate; it goes inline into each sidecar's bootstrap (see
	// ParseControlPlaneCA for what is accepted). Without it, and unless the
	// config says sidecar.controlPlane.plaintext, no sidecar is injected
	// (skip reason control-plane-ca-missing): a sidecar that cannot check
	// its control plane is not one inzone hands out.
	ControlPlaneCA []byte
}

// Engine applies inzone's mutations to pods. It is safe for concurrent use.
type Engine struct {
	cfg       Config
	ddsdName  nameTemplate
	elbs      map[string]string // canonical ELB host -> DDSD name, from the config
	resolver  ELBResolver
	native    bool
	bootstrap *BootstrapRenderer // nil: no control-plane CA, no sidecar
}

// NewEngine builds an Engine from a Config; the Config is defaulted and
// validated here too, so an Engine never runs on a bad config.
func NewEngine(cfg *Config, opts Options) (*Engine, error) {
	c := *cfg
	c.Default()
	if errs := c.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("invalid config: %w", errs.ToAggregate())
	}
	tmpl, err := parseNameTemplate(c.DDSD.NameTemplate)
	if err != nil {
		return nil, err
	}
	var br *BootstrapRenderer
	if cp := c.Sidecar.ControlPlane; cp.Plaintext || len(opts.ControlPlaneCA) > 0 {
		var ca string
		if !cp.Plaintext {
			if ca, err = ParseControlPlaneCA(opts.ControlPlaneCA); err != nil {
				return nil, err
			}
		}
		br, err = NewBootstrapRenderer(BootstrapParams{
			XDSAddress: cp.Address, XDSPort: uint32(cp.Port),
			AdminPort: uint32(c.Sidecar.AdminPort), HealthPort: uint32(c.Sidecar.HealthPort),
			ControlPlaneCA: ca, Plaintext: cp.Plaintext,
		})
		if err != nil {
			return nil, fmt.Errorf("sidecar bootstrap: %w", err)
		}
	}
	e := &Engine{
		cfg:       c,
		ddsdName:  tmpl,
		elbs:      make(map[string]string, len(c.DDSD.ELBs)),
		resolver:  opts.ELBs,
		bootstrap: br,
	}
	for host, svc := range c.DDSD.ELBs {
		key, _ := elb.Canonical(host)
		// The static map has no namespace for {namespace}; the pod's own is the best guess.
		e.elbs[key] = svc
	}
	switch c.Sidecar.NativeSidecar {
	case NativeSidecarTrue:
		e.native = true
	case NativeSidecarAuto:
		e.native = opts.NativeSidecarSupported
	}
	return e, nil
}

// Config returns the engine's defaulted configuration.
func (e *Engine) Config() *Config { return &e.cfg }

// DDSDName renders the DDSD name of a service.
func (e *Engine) DDSDName(service, namespace string) string {
	return e.ddsdName.render(service, namespace, e.cfg.DDSD.Env)
}

// Result is what Mutate decided for one pod.
type Result struct {
	// Patch is the JSON patch (RFC 6902) to apply to the pod as admitted.
	// Empty when the pod needs nothing (for example because it was mutated
	// before).
	Patch []jsonpatch.Operation
	// Applied lists the mutations that changed the pod, in the order they
	// run (MutationNames), the one order every report uses.
	Applied []string
	// Changes describe each change for logs and `inzone inject`.
	Changes []Change
	// Skips are the mutations not applied and why, in the same order (a
	// skip of the whole pod, with no Mutation, alone).
	Skips []Skip
	// Warnings are for the user (admission warnings, CLI stderr).
	Warnings []string
}

// Change is one thing a mutation did.
type Change struct {
	Mutation string `json:"mutation"`
	Detail   string `json:"detail"`
}

// SkipReason is a stable, machine-readable code; it labels metrics.
type SkipReason string

// Skip reasons.
const (
	SkipOptedOut            SkipReason = "opted-out"
	SkipInvalidPod          SkipReason = "invalid-pod"
	SkipDisabled            SkipReason = "disabled"
	SkipHostNetwork         SkipReason = "host-network"
	SkipForeignProxy        SkipReason = "foreign-proxy"
	SkipNoServiceIdentity   SkipReason = "no-service-identity"
	SkipDaemonSet           SkipReason = "daemonset"
	SkipNoIdentifyingLabels SkipReason = "no-identifying-labels"
	SkipZoneUnknown         SkipReason = "zone-unknown"
	SkipNoControlPlaneCA    SkipReason = "control-plane-ca-missing"
	SkipDDSDNotServed       SkipReason = "ddsd-domain-not-served"
)

// Skip is a mutation not applied to a pod.
type Skip struct {
	Mutation string     `json:"mutation,omitempty"` // "" when the whole pod was skipped
	Reason   SkipReason `json:"reason"`
	Message  string     `json:"message"`
}

// AnnotationError is a per-pod annotation that does not parse. The webhook
// rejects such a pod rather than silently ignoring the user's intent.
type AnnotationError struct {
	Annotation, Value, Reason string
}

func (e *AnnotationError) Error() string {
	return fmt.Sprintf("annotation %s: invalid value %q: %s", e.Annotation, e.Value, e.Reason)
}

// mutation is one of the four changes. apply reads only the original pod and
// appends ops to st; it must emit no ops when the pod already has the change.
type mutation struct {
	name       string
	annotation string
	enabled    func(*Config) bool
	apply      func(*Engine, *podState) error
}

// mutations in the order their ops are emitted. Ops that address existing
// list elements by index (ddsd-rewrite's replaces, zone-env's appends) come
// before the sidecar, which may insert at the front of initContainers and
// shift those indices.
var mutations = []mutation{
	{MutationDDSDRewrite, AnnotationDDSDRewrite, func(c *Config) bool { return *c.DDSD.Enabled }, (*Engine).rewriteELBs},
	{MutationZoneEnv, AnnotationZoneEnv, func(c *Config) bool { return *c.ZoneEnv.Enabled }, (*Engine).addZoneEnv},
	{MutationSpread, AnnotationSpread, func(c *Config) bool { return *c.Spread.Enabled }, (*Engine).addZoneSpread},
	{MutationSidecar, AnnotationSidecar, func(c *Config) bool { return *c.Sidecar.Enabled }, (*Engine).injectSidecar},
	// After the sidecar, which it needs; its mode annotation is read inside.
	{MutationCapture, "", func(*Config) bool { return true }, (*Engine).captureTraffic},
}

// podState is the working state of one Mutate call.
type podState struct {
	pod *corev1.Pod
	// namespace is the pod's, or the namespace view's when the pod has none.
	namespace string
	res       *Result

	// zone is the zone env var every container and the sidecar get, nil when
	// the zone cannot be known at admission; zoneNote says why.
	zone     *corev1.EnvVar
	zoneNote string

	rewrites []DDSDRewrite

	// sidecarAdded is set when this pass injects the sidecar.
	sidecarAdded bool
	// sidecarInsert is the index in the patch of the op inserting a native
	// sidecar at the front of initContainers, which shifts their indices;
	// -1 when there is none. See beforeSidecarInsert.
	sidecarInsert int
	// envListAdded records the containers ("/spec/containers/0") whose
	// empty env list an op of this pass created: later env ops append.
	envListAdded map[string]bool
	// annotations are set by the runner, besides the status.
	annotations map[string]string
}

// beforeSidecarInsert moves the ops appended since patch index from to just
// before the native sidecar's insert, so that ops naming init containers by
// their original index, made by a mutation that runs after the sidecar,
// still address the right container.
func (st *podState) beforeSidecarInsert(from int) {
	at := st.sidecarInsert
	if at < 0 || from <= at {
		return
	}
	p := st.res.Patch
	moved := slices.Clone(p[from:])
	copy(p[at+len(moved):], p[at:from])
	copy(p[at:], moved)
	st.sidecarInsert += len(moved)
}

// addEnv appends vars to the env of the container at base (its JSON
// pointer), creating the list when the pod has none and no earlier op of
// this pass created it.
func (st *podState) addEnv(base string, c *corev1.Container, vars ...corev1.EnvVar) {
	if len(vars) == 0 {
		return
	}
	if len(c.Env) == 0 && !st.envListAdded[base] {
		if st.envListAdded == nil {
			st.envListAdded = map[string]bool{}
		}
		st.envListAdded[base] = true
		st.add(base+"/env", vars)
		return
	}
	for _, v := range vars {
		st.add(base+"/env/-", v)
	}
}

func (st *podState) add(path string, v any) {
	st.res.Patch = append(st.res.Patch, jsonpatch.Operation{Operation: "add", Path: path, Value: v})
}

func (st *podState) replace(path string, v any) {
	st.res.Patch = append(st.res.Patch, jsonpatch.Operation{Operation: "replace", Path: path, Value: v})
}

func (st *podState) change(mutation, format string, args ...any) {
	st.res.Changes = append(st.res.Changes, Change{Mutation: mutation, Detail: fmt.Sprintf(format, args...)})
	if len(st.res.Applied) == 0 || st.res.Applied[len(st.res.Applied)-1] != mutation {
		st.res.Applied = append(st.res.Applied, mutation)
	}
}

// skip records a skipped mutation; warn also tells the user.
func (st *podState) skip(mutation string, reason SkipReason, warn bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	st.res.Skips = append(st.res.Skips, Skip{Mutation: mutation, Reason: reason, Message: msg})
	if warn {
		st.res.Warnings = append(st.res.Warnings, "inzone: "+msg)
	}
}

func (st *podState) warn(format string, args ...any) {
	st.res.Warnings = append(st.res.Warnings, "inzone: "+fmt.Sprintf(format, args...))
}

// Mutate decides the mutations for pod, which it does not modify. The only
// error is an *AnnotationError for a per-pod annotation that does not parse.
func (e *Engine) Mutate(pod *corev1.Pod, ns Namespace) (*Result, error) {
	res := &Result{}
	if pod.Name == "" && pod.GenerateName == "" || len(pod.Spec.Containers) == 0 {
		// The API server rejects such a pod anyway; its message is clearer
		// than a patch addressing fields that are not there.
		res.Skips = append(res.Skips, Skip{Reason: SkipInvalidPod, Message: "pod has no name or no containers; left to the API server's validation"})
		return res, nil
	}
	if OptedOut(pod) {
		res.Skips = append(res.Skips, Skip{Reason: SkipOptedOut, Message: "pod opted out with " + LabelInject + "=false"})
		return res, nil
	}
	// inzone.io/calls changes nothing in the pod; inzone-xds reads it. A
	// value it would have to ignore is refused here, where the user sees why.
	if _, _, err := e.Callees(pod); err != nil {
		return nil, err
	}
	st := &podState{pod: pod, namespace: pod.Namespace, res: res, sidecarInsert: -1}
	if st.namespace == "" {
		st.namespace = ns.Name
	}
	st.zone, st.zoneNote = e.zoneEnvVar(pod)
	for _, m := range mutations {
		on, err := switchedOn(pod, m.annotation, m.enabled(&e.cfg))
		if err != nil {
			return nil, err
		}
		if !on {
			st.skip(m.name, SkipDisabled, false, "%s is disabled", m.name)
			continue
		}
		if err := m.apply(e, st); err != nil {
			return nil, err
		}
	}
	if len(res.Patch) > 0 || len(st.annotations) > 0 {
		e.annotate(st)
	}
	return res, nil
}

// MutationNames lists the mutations in the order they run.
func MutationNames() []string {
	names := make([]string, len(mutations))
	for i, m := range mutations {
		names[i] = m.name
	}
	return names
}

// OptedOut reports the pod-level opt-out, as a label or an annotation.
func OptedOut(pod *corev1.Pod) bool {
	return pod.Labels[LabelInject] == "false" || pod.Annotations[LabelInject] == "false"
}

// switchedOn applies a per-pod switch annotation over the config default.
func switchedOn(pod *corev1.Pod, annotation string, def bool) (bool, error) {
	v, ok := pod.Annotations[annotation]
	if !ok {
		return def, nil
	}
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &AnnotationError{Annotation: annotation, Value: v, Reason: `must be "true" or "false"`}
}

// Status is the value of the inzone.io/status annotation.
type Status struct {
	Version int      `json:"version"`
	Applied []string `json:"applied"`
}

const statusVersion = 1

// annotate writes the status annotation (and the DDSD rewrite record), merged
// with what an earlier admission recorded. Only the runner writes annotations,
// so no two mutations touch one path.
func (e *Engine) annotate(st *podState) {
	pod := st.pod
	var prev Status
	if v, ok := pod.Annotations[AnnotationStatus]; ok {
		_ = json.Unmarshal([]byte(v), &prev) // an unreadable old status is replaced
	}
	applied := slices.Clone(prev.Applied)
	for _, m := range st.res.Applied {
		if !slices.Contains(applied, m) {
			applied = append(applied, m)
		}
	}
	slices.Sort(applied)
	status, _ := json.Marshal(Status{Version: statusVersion, Applied: applied})

	set := map[string]string{AnnotationStatus: string(status)}
	if len(st.rewrites) > 0 {
		var all []DDSDRewrite
		if v, ok := pod.Annotations[AnnotationDDSDRewrites]; ok {
			_ = json.Unmarshal([]byte(v), &all)
		}
		all = append(all, st.rewrites...)
		b, _ := json.Marshal(all)
		set[AnnotationDDSDRewrites] = string(b)
	}
	keys := []string{AnnotationStatus, AnnotationDDSDRewrites}
	for _, k := range slices.Sorted(maps.Keys(st.annotations)) {
		set[k] = st.annotations[k]
		keys = append(keys, k)
	}
	if len(pod.Annotations) == 0 { // "add" of the whole map also replaces an empty one
		st.add("/metadata/annotations", set)
		return
	}
	for _, k := range keys {
		v, ok := set[k]
		if !ok {
			continue
		}
		if _, exists := pod.Annotations[k]; exists {
			st.replace("/metadata/annotations/"+escapePointer(k), v)
		} else {
			st.add("/metadata/annotations/"+escapePointer(k), v)
		}
	}
}

// escapePointer escapes a JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// Apply returns a copy of pod with the patch applied, for `inzone inject`
// and tests. Because it applies the very patch the webhook sends, the mutated
// pod can never differ from what the API server would store.
func (r *Result) Apply(pod *corev1.Pod) (*corev1.Pod, error) {
	if len(r.Patch) == 0 {
		return pod.DeepCopy(), nil
	}
	doc, err := json.Marshal(pod)
	if err != nil {
		return nil, err
	}
	ops, err := json.Marshal(r.Patch)
	if err != nil {
		return nil, err
	}
	p, err := jsonpatchapply.DecodePatch(ops)
	if err != nil {
		return nil, fmt.Errorf("inzone produced an undecodable patch: %w", err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		return nil, fmt.Errorf("inzone produced a patch that does not apply: %w", err)
	}
	mutated := &corev1.Pod{}
	if err := json.Unmarshal(out, mutated); err != nil {
		return nil, err
	}
	return mutated, nil
}

// containerList is one of the pod's container lists, addressed by its JSON
// pointer so ops can name elements by their original index.
type containerList struct {
	path       string // "/spec/containers" or "/spec/initContainers"
	containers []corev1.Container
}

// appContainers are the lists whose containers inzone mutates: init and
// regular containers; ephemeral containers are debug tools and are left alone.
func appContainers(pod *corev1.Pod) [2]containerList {
	return [2]containerList{
		{"/spec/initContainers", pod.Spec.InitContainers},
		{"/spec/containers", pod.Spec.Containers},
	}
}
