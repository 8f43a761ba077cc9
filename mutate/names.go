package mutate

// Labels and annotations inzone reads or writes. All use the inzone.io/ prefix.
const (
	// LabelInject on a namespace ("enabled") selects it for injection; on a pod,
	// as a label or an annotation, "false" opts the pod out of every mutation.
	LabelInject = "inzone.io/inject"
	// InjectEnabled is the namespace label value that turns injection on.
	InjectEnabled = "enabled"

	// Per-pod switches for each mutation: "false" turns it off, "true" turns
	// it on even when the config disables it.
	AnnotationSidecar     = "inzone.io/sidecar"
	AnnotationZoneEnv     = "inzone.io/zone-env"
	AnnotationSpread      = "inzone.io/spread"
	AnnotationDDSDRewrite = "inzone.io/ddsd-rewrite"

	// AnnotationStatus records which mutations inzone applied to the pod.
	AnnotationStatus = "inzone.io/status"
	// AnnotationDDSDRewrites records every ELB hostname rewritten, so a
	// rewrite can be audited and undone.
	AnnotationDDSDRewrites = "inzone.io/ddsd-rewrites"

	// AnnotationService names the pod's own service (its DDSD <service>) when
	// the identifying labels do not.
	AnnotationService = "inzone.io/service"
	// elb.AnnotationDDSDName, on a LoadBalancer Service, overrides the
	// <service> part of its DDSD name.

	// Per-pod overrides of the sidecar settings.
	AnnotationProxyImage       = "inzone.io/proxy-image"
	AnnotationProxyCPU         = "inzone.io/proxy-cpu"
	AnnotationProxyMemory      = "inzone.io/proxy-memory"
	AnnotationProxyCPULimit    = "inzone.io/proxy-cpu-limit"
	AnnotationProxyMemoryLimit = "inzone.io/proxy-memory-limit"
	AnnotationProxyLogLevel    = "inzone.io/proxy-log-level"
	AnnotationProxyUID         = "inzone.io/proxy-uid"
)

// SidecarName is the name of the injected Envoy container. Its presence is
// how the sidecar mutation recognises a pod it already injected.
const SidecarName = "inzone-proxy"

// Mutation names, used in the status annotation, in metrics and in messages.
const (
	MutationSidecar     = "sidecar"
	MutationZoneEnv     = "zone-env"
	MutationSpread      = "spread"
	MutationDDSDRewrite = "ddsd-rewrite"
)
