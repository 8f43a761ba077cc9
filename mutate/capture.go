package mutate

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/inzone-io/inzone/capture"
)

// MutationCapture sends the app's traffic through the sidecar.
const MutationCapture = "capture"

// CaptureContainerName is the iptables mode's init container.
const CaptureContainerName = "inzone-capture"

// Per-pod capture annotations. The exclusion lists add to the config's; an
// include list replaces the config's. Lists are comma-separated.
const (
	// AnnotationCapture overrides sidecar.capture.mode for the pod.
	AnnotationCapture              = "inzone.io/capture"
	AnnotationExcludeOutboundPorts = "inzone.io/exclude-outbound-ports"
	AnnotationExcludeInboundPorts  = "inzone.io/exclude-inbound-ports"
	AnnotationIncludeInboundPorts  = "inzone.io/include-inbound-ports"
	AnnotationExcludeOutboundCIDRs = "inzone.io/exclude-outbound-cidrs"
	AnnotationIncludeOutboundCIDRs = "inzone.io/include-outbound-cidrs"
	// AnnotationCaptureCNI, written by the webhook in cni mode, holds the
	// capture.Settings (JSON) the inzone-cni plugin installs.
	AnnotationCaptureCNI = "inzone.io/capture-cni"
)

// proxyEnvNames are set in proxy-env mode, upper and lower case: Go, gRPC
// and curl read the upper-case forms (HTTP_PROXY only for http: URLs),
// Python, Ruby and wget the lower-case ones.
var proxyEnvNames = []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}

// captureTraffic makes the app's traffic reach the sidecar, in the pod's
// capture mode. It runs only with the sidecar it injects in the same pass:
// redirecting traffic to a proxy that is not there would cut the pod off,
// and a pod injected earlier (by inzone before capture existed) keeps the
// form it was admitted with; `kubectl inzone audit` reports it.
func (e *Engine) captureTraffic(st *podState) error {
	pod := st.pod
	mode, settings, err := e.captureSettings(pod)
	if err != nil {
		return err
	}
	if !st.sidecarAdded {
		return nil // the sidecar's own skip, if any, says why
	}
	switch mode {
	case CaptureNone:
		st.skip(MutationCapture, SkipDisabled, false, "capture mode none: the app calls the proxy's listener itself")
	case CaptureIPTables:
		e.addCaptureInit(st, settings)
	case CaptureCNI:
		b, _ := json.Marshal(settings)
		if st.annotations == nil {
			st.annotations = map[string]string{}
		}
		st.annotations[AnnotationCaptureCNI] = string(b)
		st.change(MutationCapture, "cni: annotation %s for the inzone-cni plugin", AnnotationCaptureCNI)
	case CaptureProxyEnv:
		e.addProxyEnv(st)
	}
	return nil
}

// captureSettings resolves the pod's mode and rules from the config and
// the annotations; a value that does not parse names its annotation.
func (e *Engine) captureSettings(pod *corev1.Pod) (CaptureMode, capture.Settings, error) {
	c := &e.cfg.Sidecar.Capture
	a := pod.Annotations
	mode := c.Mode
	if v, ok := a[AnnotationCapture]; ok {
		mode = CaptureMode(v)
		if !slices.Contains(captureModes, mode) {
			return "", capture.Settings{}, &AnnotationError{AnnotationCapture, v, "must be one of iptables, cni, proxy-env, none"}
		}
	}
	uid := e.cfg.Sidecar.UID
	if v, ok := a[AnnotationProxyUID]; ok { // validated (and reported) by the sidecar
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			uid = n
		}
	}
	s := capture.Settings{
		ProxyUID:     uid,
		OutboundPort: uint16(e.cfg.Sidecar.OutboundPort),
		InboundPort:  uint16(e.cfg.Sidecar.InboundPort),
	}
	ports := func(annotation string, fromConfig []int32, replace bool) ([]uint16, error) {
		v, ok := a[annotation]
		if !ok && len(fromConfig) == 0 {
			return nil, nil
		}
		list := v
		if !ok || !replace {
			list = joinPorts(fromConfig) + "," + v
		}
		got, err := capture.ParsePorts(list)
		if err != nil && ok {
			return nil, &AnnotationError{annotation, v, err.Error()}
		}
		return got, err
	}
	cidrs := func(annotation string, fromConfig []string, replace bool) ([]netip.Prefix, error) {
		v, ok := a[annotation]
		if !ok && len(fromConfig) == 0 {
			return nil, nil
		}
		list := v
		if !ok || !replace {
			list = strings.Join(fromConfig, ",") + "," + v
		}
		got, err := capture.ParseCIDRs(list)
		if err != nil && ok {
			return nil, &AnnotationError{annotation, v, err.Error()}
		}
		return got, err
	}
	var err error
	if s.ExcludeOutboundPorts, err = ports(AnnotationExcludeOutboundPorts, c.ExcludeOutboundPorts, false); err != nil {
		return "", s, err
	}
	proxyPorts := []int32{e.cfg.Sidecar.AdminPort, e.cfg.Sidecar.HealthPort}
	if s.ExcludeInboundPorts, err = ports(AnnotationExcludeInboundPorts, append(proxyPorts, c.ExcludeInboundPorts...), false); err != nil {
		return "", s, err
	}
	if s.IncludeInboundPorts, err = ports(AnnotationIncludeInboundPorts, c.IncludeInboundPorts, true); err != nil {
		return "", s, err
	}
	if s.ExcludeOutboundCIDRs, err = cidrs(AnnotationExcludeOutboundCIDRs, c.ExcludeOutboundCIDRs, false); err != nil {
		return "", s, err
	}
	if s.IncludeOutboundCIDRs, err = cidrs(AnnotationIncludeOutboundCIDRs, c.IncludeOutboundCIDRs, true); err != nil {
		return "", s, err
	}
	if err := s.Validate(); err != nil {
		ann := AnnotationIncludeInboundPorts
		if !strings.HasPrefix(err.Error(), "include-inbound-ports") {
			ann = AnnotationCapture
		}
		return "", s, &AnnotationError{ann, a[ann], err.Error()}
	}
	return mode, s, nil
}

// addCaptureInit adds the init container that installs the rules. With a
// native sidecar it goes right before the proxy (inserted at the front in
// this pass), so the proxy and every later init container run captured;
// with a regular sidecar container it goes last, since earlier init
// containers would have no proxy to reach.
func (e *Engine) addCaptureInit(st *podState, s capture.Settings) {
	pod := st.pod
	c := e.captureContainer(s)
	if on, _ := switchedOn(pod, AnnotationZoneEnv, *e.cfg.ZoneEnv.Enabled); on && st.zone != nil {
		// Like every container of the pod; zone-env would add it next pass.
		c.Env = []corev1.EnvVar{*st.zone}
	}
	switch {
	case e.native:
		st.add("/spec/initContainers/0", c)
	case len(pod.Spec.InitContainers) == 0:
		st.add("/spec/initContainers", []corev1.Container{c})
	default:
		st.add("/spec/initContainers/-", c)
	}
	st.change(MutationCapture, "iptables: init container %s (%s) %s", CaptureContainerName, e.cfg.Sidecar.Capture.Image, strings.Join(s.Args(), " "))
}

// captureResources are the init container's: iptables-restore is brief and
// small. Shared by every patch, which only reads it.
var captureResources = corev1.ResourceRequirements{
	Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
	Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
}

// captureContainer runs `inzone capture init`. iptables needs NET_ADMIN
// and NET_RAW and a root UID to use them; everything else is dropped. It is
// the one container inzone injects that cannot meet PSS restricted (cni
// and proxy-env modes have none).
func (e *Engine) captureContainer(s capture.Settings) corev1.Container {
	return corev1.Container{
		Name:                     CaptureContainerName,
		Image:                    e.cfg.Sidecar.Capture.Image,
		Command:                  []string{"inzone", "capture", "init"},
		Args:                     s.Args(),
		Resources:                captureResources,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		SecurityContext: &corev1.SecurityContext{
			RunAsUser:                ptr.To[int64](0),
			RunAsGroup:               ptr.To[int64](0),
			RunAsNonRoot:             ptr.To(false),
			AllowPrivilegeEscalation: ptr.To(false),
			Privileged:               ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities: &corev1.Capabilities{
				Add:  []corev1.Capability{"NET_ADMIN", "NET_RAW"},
				Drop: []corev1.Capability{"ALL"},
			},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// ProxyEnv is what proxy-env mode sets: every proxy variable pointing at
// the sidecar's outbound listener, and NO_PROXY for loopback, the
// cluster's own suffixes and the config's list.
func (e *Engine) ProxyEnv() []corev1.EnvVar {
	proxy := "http://127.0.0.1:" + strconv.Itoa(int(e.cfg.Sidecar.OutboundPort))
	noProxy := strings.Join(append([]string{"localhost", "127.0.0.1", "::1", ".svc", ".cluster.local"}, e.cfg.Sidecar.Capture.NoProxy...), ",")
	env := make([]corev1.EnvVar, len(proxyEnvNames))
	for i, n := range proxyEnvNames {
		v := proxy
		if strings.EqualFold(n, "NO_PROXY") {
			v = noProxy
		}
		env[i] = corev1.EnvVar{Name: n, Value: v}
	}
	return env
}

// addProxyEnv sets the proxy variables in the app's containers. A variable
// the container already sets is kept: the user chose it. With a regular
// (non-native) sidecar, init containers run before the proxy exists and
// are left alone.
func (e *Engine) addProxyEnv(st *podState) {
	defer st.beforeSidecarInsert(len(st.res.Patch))
	for _, list := range appContainers(st.pod) {
		if list.path == "/spec/initContainers" && !e.native {
			continue
		}
		for i := range list.containers {
			c := &list.containers[i]
			if c.Name == SidecarName || c.Name == CaptureContainerName {
				continue
			}
			var add []corev1.EnvVar
			for _, v := range e.ProxyEnv() {
				if !hasEnv(c, v.Name) {
					add = append(add, v)
				}
			}
			if len(add) == 0 {
				continue
			}
			st.addEnv(list.path+"/"+strconv.Itoa(i), c, add...)
			st.change(MutationCapture, "proxy-env: container %s: env %s", c.Name, envNames(add))
		}
	}
}

func envNames(vars []corev1.EnvVar) string {
	n := make([]string, len(vars))
	for i, v := range vars {
		n[i] = v.Name
	}
	return strings.Join(n, ", ")
}

// PodCaptureMode is how an admitted pod's traffic reaches its sidecar, read
// from what the capture mutation left: the init container (iptables), the
// cni annotation, or the proxy variables in an app container (proxy-env).
// CaptureNone for a pod with none of them: mode none, or a sidecar injected
// before traffic capture existed.
func PodCaptureMode(pod *corev1.Pod) CaptureMode {
	switch {
	case hasContainer(pod, CaptureContainerName):
		return CaptureIPTables
	case pod.Annotations[AnnotationCaptureCNI] != "":
		return CaptureCNI
	}
	// An HTTP_PROXY of the app's own (a corporate proxy) is not capture:
	// only one pointing at the pod's loopback, where the sidecar listens.
	for _, list := range appContainers(pod) {
		for i := range list.containers {
			c := &list.containers[i]
			for _, v := range c.Env {
				if c.Name != SidecarName && (v.Name == "HTTP_PROXY" || v.Name == "http_proxy") && strings.HasPrefix(v.Value, "http://127.0.0.1:") {
					return CaptureProxyEnv
				}
			}
		}
	}
	return CaptureNone
}
