package mutate

import (
	"math"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
)

// injectSidecar adds the Envoy proxy. Envoy routes by zone only when it
// knows its own zone (--service-zone), its own service is the
// local_cluster_name, and upstreams come from EDS: the bootstrap and flags
// built here satisfy all three.
func (e *Engine) injectSidecar(st *podState) error {
	pod := st.pod
	if hasContainer(pod, SidecarName) {
		return nil
	}
	settings, err := e.proxySettings(pod)
	if err != nil {
		return err
	}
	if pod.Spec.HostNetwork {
		st.skip(MutationSidecar, SkipHostNetwork, true, "sidecar not injected: the pod uses hostNetwork, where the proxy's ports would collide with the node's")
		return nil
	}
	if name, ok := foreignProxy(pod); ok {
		st.skip(MutationSidecar, SkipForeignProxy, true, "sidecar not injected: container %s already looks like an Envoy proxy that inzone did not inject", name)
		return nil
	}
	service, err := e.serviceName(pod)
	if err != nil {
		return err
	}
	if service == "" {
		st.skip(MutationSidecar, SkipNoServiceIdentity, true,
			"sidecar not injected: Envoy needs the pod's own service as its local cluster; set one of the labels %s or the annotation %s",
			strings.Join(e.cfg.ServiceLabels, ", "), AnnotationService)
		return nil
	}
	if e.bootstrap == nil {
		st.skip(MutationSidecar, SkipNoControlPlaneCA, true,
			"sidecar not injected: inzone has no CA to check its control plane (%s) with (inzone-webhook --control-plane-ca-file, inzone inject --control-plane-ca), and sidecar.controlPlane.plaintext is off",
			e.cfg.Sidecar.ControlPlane.Address)
		return nil
	}
	localCluster := e.DDSDName(service, st.namespace)
	bootstrap, err := e.bootstrap.Render(localCluster)
	if err != nil {
		// The service name is validated above, so this is a bug, not bad input.
		return &AnnotationError{Annotation: AnnotationService, Value: service, Reason: err.Error()}
	}
	c := e.sidecarContainer(settings, bootstrap, localCluster, st.zone)
	if st.zone == nil {
		st.warn("sidecar injected without a zone (%s): Envoy's zone-aware routing cannot engage", st.zoneNote)
	}
	if e.native {
		c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		// First, so the proxy is ready before other init containers make calls.
		st.sidecarInsert = len(st.res.Patch)
		if len(pod.Spec.InitContainers) == 0 {
			st.add("/spec/initContainers", []corev1.Container{c})
		} else {
			st.add("/spec/initContainers/0", c)
		}
	} else {
		st.add("/spec/containers/-", c)
	}
	st.sidecarAdded = true
	mode := "container"
	if e.native {
		mode = "native sidecar"
	}
	st.change(MutationSidecar, "%s %s (%s), local cluster %s", mode, SidecarName, settings.image, localCluster)
	return nil
}

// proxySettings are the sidecar's settings after per-pod overrides.
type proxySettings struct {
	image     string
	uid       int64
	logLevel  string
	resources corev1.ResourceRequirements
}

// proxySettings applies the inzone.io/proxy-* annotations over the config.
// An override that does not parse is an error, never silently ignored.
func (e *Engine) proxySettings(pod *corev1.Pod) (proxySettings, error) {
	s := proxySettings{
		image:     e.cfg.Sidecar.Image,
		uid:       e.cfg.Sidecar.UID,
		logLevel:  e.cfg.Sidecar.LogLevel,
		resources: *e.cfg.Sidecar.Resources.DeepCopy(),
	}
	a := pod.Annotations
	if v, ok := a[AnnotationProxyImage]; ok {
		if err := validateImage(v); err != nil {
			return s, &AnnotationError{AnnotationProxyImage, v, err.Error()}
		}
		s.image = v
	}
	if v, ok := a[AnnotationProxyLogLevel]; ok {
		if !isEnvoyLogLevel(v) {
			return s, &AnnotationError{AnnotationProxyLogLevel, v, "must be one of " + strings.Join(envoyLogLevels, ", ")}
		}
		s.logLevel = v
	}
	if v, ok := a[AnnotationProxyUID]; ok {
		uid, err := strconv.ParseInt(v, 10, 64)
		if err != nil || uid <= 0 || uid > 2147483647 {
			return s, &AnnotationError{AnnotationProxyUID, v, "must be a non-zero UID between 1 and 2147483647 (Pod Security Standard restricted)"}
		}
		s.uid = uid
	}
	for _, o := range []struct {
		annotation string
		list       *corev1.ResourceList
		name       corev1.ResourceName
	}{
		{AnnotationProxyCPU, &s.resources.Requests, corev1.ResourceCPU},
		{AnnotationProxyMemory, &s.resources.Requests, corev1.ResourceMemory},
		{AnnotationProxyCPULimit, &s.resources.Limits, corev1.ResourceCPU},
		{AnnotationProxyMemoryLimit, &s.resources.Limits, corev1.ResourceMemory},
	} {
		v, ok := a[o.annotation]
		if !ok {
			continue
		}
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() <= 0 {
			return s, &AnnotationError{o.annotation, v, "must be a positive Kubernetes quantity such as 100m or 128Mi"}
		}
		if q.Cmp(maxProxyQuantity) > 0 {
			// Larger values overflow int64 milli-units: MilliValue would
			// wrap, and the concurrency computed from it with it.
			return s, &AnnotationError{o.annotation, v, "is too large (at most " + maxProxyQuantity.String() + ")"}
		}
		if *o.list == nil {
			*o.list = corev1.ResourceList{}
		}
		(*o.list)[o.name] = q
	}
	for name, req := range s.resources.Requests {
		if lim, ok := s.resources.Limits[name]; ok && req.Cmp(lim) > 0 {
			ann := AnnotationProxyCPU
			if name == corev1.ResourceMemory {
				ann = AnnotationProxyMemory
			}
			return s, &AnnotationError{ann, req.String(), "the proxy's " + string(name) + " request exceeds its limit " + lim.String()}
		}
	}
	return s, nil
}

// LocalClusterName is the DDSD name the sidecar mutation gives the pod as its
// local_cluster_name (and --service-cluster): inzone-xds serves that
// cluster's endpoints under the same name. ok is false when the pod has no
// valid service identity, which the sidecar mutation skips.
func (e *Engine) LocalClusterName(pod *corev1.Pod) (name string, ok bool) {
	service, err := e.serviceName(pod)
	if err != nil || service == "" {
		return "", false
	}
	return e.DDSDName(service, pod.Namespace), true
}

// ServiceClusterFlag is the Envoy flag the sidecar is given its local
// cluster name with: what its Envoy announces as its node's cluster and
// asks inzone-xds for as its local cluster.
const ServiceClusterFlag = "--service-cluster"

// SidecarLocalCluster is the local cluster name written into the pod's
// sidecar at injection (its ServiceClusterFlag). Containers' args cannot
// change, labels and annotations can: a pod relabeled since still
// announces this name. ok is false without a sidecar or without the flag.
func SidecarLocalCluster(pod *corev1.Pod) (name string, ok bool) {
	for _, list := range appContainers(pod) {
		for i := range list.containers {
			c := &list.containers[i]
			if c.Name != SidecarName {
				continue
			}
			if j := slices.Index(c.Args, ServiceClusterFlag); j >= 0 && j+1 < len(c.Args) {
				return c.Args[j+1], true
			}
			return "", false
		}
	}
	return "", false
}

// serviceName is the pod's own service: the inzone.io/service annotation, or
// the first identifying label.
func (e *Engine) serviceName(pod *corev1.Pod) (string, error) {
	if v, ok := pod.Annotations[AnnotationService]; ok {
		if msgs := validation.IsDNS1123Label(v); len(msgs) > 0 {
			return "", &AnnotationError{AnnotationService, v, strings.Join(msgs, "; ")}
		}
		return v, nil
	}
	for _, k := range e.cfg.ServiceLabels {
		if v := pod.Labels[k]; v != "" && len(validation.IsDNS1123Label(strings.ToLower(v))) == 0 {
			return strings.ToLower(v), nil
		}
	}
	return "", nil
}

// sidecarContainer builds the proxy container. Node id and zone come from
// Envoy flags with $(VAR) references the kubelet expands from the
// container's env, because neither the pod name (generateName) nor the zone
// is known at admission.
func (e *Engine) sidecarContainer(s proxySettings, bootstrap, localCluster string, zone *corev1.EnvVar) corev1.Container {
	env := []corev1.EnvVar{
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}},
	}
	args := []string{
		"--config-yaml", bootstrap,
		ServiceClusterFlag, localCluster,
		"--service-node", "$(POD_NAME).$(POD_NAMESPACE)",
		"--log-level", s.logLevel,
		// A pod never hot-restarts Envoy; without this it wants shared memory.
		"--disable-hot-restart",
		"--concurrency", strconv.FormatInt(proxyConcurrency(s.resources), 10),
	}
	if zone != nil {
		env = append(env, *zone)
		args = append(args, "--service-zone", "$("+zone.Name+")")
	}
	health := e.cfg.Sidecar.HealthPort
	probe := func(period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/ready", Port: intstr.FromInt32(health), Scheme: corev1.URISchemeHTTP,
			}},
			PeriodSeconds: period, FailureThreshold: failures, TimeoutSeconds: 1, SuccessThreshold: 1,
		}
	}
	return corev1.Container{
		Name:    SidecarName,
		Image:   s.image,
		Command: []string{"envoy"},
		Args:    args,
		Env:     env,
		Ports: []corev1.ContainerPort{
			{Name: "inzone-health", ContainerPort: health, Protocol: corev1.ProtocolTCP},
		},
		Resources:      s.resources,
		ReadinessProbe: probe(5, 3),
		// Up to 2 minutes for the first xDS response; with a native sidecar
		// this also holds back the app containers until the proxy is ready.
		StartupProbe:             probe(1, 120),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		SecurityContext: &corev1.SecurityContext{
			RunAsUser:                ptr.To(s.uid),
			RunAsGroup:               ptr.To(s.uid),
			RunAsNonRoot:             ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			Privileged:               ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// MaxProxyConcurrency bounds Envoy's worker count, whatever the CPU limit:
// each worker holds its own connections and buffers, and no sidecar needs
// more.
const MaxProxyConcurrency = 64

// maxProxyQuantity is the largest resource quantity a proxy annotation may
// give: the largest whose milli-units fit an int64.
var maxProxyQuantity = *resource.NewMilliQuantity(math.MaxInt64, resource.DecimalSI)

// proxyConcurrency is Envoy's worker count: by default Envoy starts one per
// hardware thread of the node, far more than a sidecar's CPU limit can run.
// The CPU limit rounded up, at most MaxProxyConcurrency, else 2.
func proxyConcurrency(r corev1.ResourceRequirements) int64 {
	if lim, ok := r.Limits[corev1.ResourceCPU]; ok {
		m := lim.MilliValue()
		if m > MaxProxyConcurrency*1000 || m < 0 {
			return MaxProxyConcurrency
		}
		return max(1, (m+999)/1000)
	}
	return 2
}

// HasSidecar reports whether the pod carries the inzone proxy, as a
// container or a native sidecar.
func HasSidecar(pod *corev1.Pod) bool { return hasContainer(pod, SidecarName) }

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, list := range appContainers(pod) {
		for i := range list.containers {
			if list.containers[i].Name == name {
				return true
			}
		}
	}
	return false
}

// foreignProxy finds an Envoy-like container inzone did not inject (Istio's
// istio-proxy, a hand-written envoy sidecar): a second proxy would fight
// over the pod's traffic.
func foreignProxy(pod *corev1.Pod) (string, bool) {
	for _, list := range appContainers(pod) {
		for i := range list.containers {
			c := &list.containers[i]
			if c.Name == SidecarName {
				continue
			}
			name, image := strings.ToLower(c.Name), strings.ToLower(c.Image)
			if name == "istio-proxy" || strings.Contains(name, "envoy") ||
				strings.Contains(image, "envoy") || strings.Contains(image, "istio/proxyv2") {
				return c.Name, true
			}
		}
	}
	return "", false
}
