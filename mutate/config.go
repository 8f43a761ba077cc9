package mutate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/inzone-io/inzone/elb"
)

// Config is inzone's configuration: one YAML file, shared by the webhook and
// `inzone inject`. Load it with LoadConfig (or call Default then Validate);
// an Engine only accepts a validated Config.
type Config struct {
	// ZoneLabel is the node and pod label that carries the zone.
	// Default: topology.kubernetes.io/zone.
	ZoneLabel string `json:"zoneLabel,omitempty"`
	// ServiceLabels are the pod label keys that identify a workload, in order
	// of preference. They name the pod's own service and select its peers for
	// zone spread. Default: app.kubernetes.io/name, app.kubernetes.io/instance, app.
	ServiceLabels []string `json:"serviceLabels,omitempty"`

	Sidecar SidecarConfig `json:"sidecar"`
	ZoneEnv ZoneEnvConfig `json:"zoneEnv"`
	Spread  SpreadConfig  `json:"spread"`
	DDSD    DDSDConfig    `json:"ddsd"`
	XDS     XDSConfig     `json:"xds"`
}

// XDSConfig configures what inzone-xds serves the sidecars.
type XDSConfig struct {
	// MinClusterSize is Envoy's zone_aware_lb_config.min_cluster_size: below
	// this many upstream hosts Envoy does not route by zone. Default: 6, as
	// Envoy.
	MinClusterSize int64 `json:"minClusterSize,omitempty"`
}

// NativeSidecarMode chooses between a native sidecar (an init container with
// restartPolicy Always, Kubernetes >= 1.29) and a regular container.
type NativeSidecarMode string

const (
	// NativeSidecarAuto uses a native sidecar when the API server supports it.
	NativeSidecarAuto  NativeSidecarMode = "auto"
	NativeSidecarTrue  NativeSidecarMode = "true"
	NativeSidecarFalse NativeSidecarMode = "false"
)

// SidecarConfig configures the injected Envoy container.
type SidecarConfig struct {
	// Enabled turns the mutation on. Default: true.
	Enabled *bool `json:"enabled,omitempty"`
	// Image is the Envoy image. Default: envoyproxy/envoy-distroless:v1.36.2.
	Image string `json:"image,omitempty"`
	// NativeSidecar: auto (default), true or false.
	NativeSidecar NativeSidecarMode `json:"nativeSidecar,omitempty"`
	// UID the proxy runs as; must be non-zero (PSS restricted). Default: 1337.
	UID int64 `json:"uid,omitempty"`
	// LogLevel is Envoy's --log-level. Default: warning.
	LogLevel string `json:"logLevel,omitempty"`
	// Resources of the proxy. Default: requests cpu 50m, memory 64Mi; limits memory 256Mi.
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// AdminPort is Envoy's admin port, bound to 127.0.0.1 only. Default: 15000.
	AdminPort int32 `json:"adminPort,omitempty"`
	// HealthPort serves GET /ready (proxied to the admin /ready) for the
	// kubelet's probes. Default: 15021.
	HealthPort int32 `json:"healthPort,omitempty"`
	// OutboundPort is the listener that carries the app's calls to other
	// services: traffic capture redirects outbound TCP to it, and inzone-xds
	// serves the listener on it. Default: 15001.
	OutboundPort int32 `json:"outboundPort,omitempty"`
	// InboundPort is the listener that receives calls to the app and forwards
	// them to it: traffic capture redirects inbound TCP to it, and inzone-xds
	// serves the listener on it. Default: 15006.
	InboundPort int32 `json:"inboundPort,omitempty"`
	// ControlPlane is the xDS (ADS) server every proxy connects to.
	ControlPlane ControlPlaneConfig `json:"controlPlane"`
	// Capture is how the app's traffic reaches the proxy.
	Capture CaptureConfig `json:"capture"`
}

// ControlPlaneConfig is the address of the xDS control plane.
type ControlPlaneConfig struct {
	// Address is a hostname or IP. Default: inzone-xds.inzone-system.svc.
	Address string `json:"address,omitempty"`
	// Port. Default: 18000.
	Port int32 `json:"port,omitempty"`
	// Plaintext has the sidecars speak to the control plane without TLS,
	// so anything answering on Address can hand them routes: only for tests
	// and local runs. Default: false, TLS with the CA the webhook is given
	// (mutate.Options.ControlPlaneCA), checking the server's name is Address.
	Plaintext bool `json:"plaintext,omitempty"`
}

// ZoneSource says where a pod's zone comes from when the pod is not pinned
// to one zone (a pinned pod always gets its zone as a literal).
type ZoneSource string

const (
	// ZoneSourcePodLabel reads the zone from the pod's own
	// topology.kubernetes.io/zone label through the downward API. The API
	// server's PodTopologyLabels admission copies it from the node at binding:
	// on by default from Kubernetes 1.35, behind the PodTopologyLabelsAdmission
	// feature gate in 1.33-1.34, absent before.
	ZoneSourcePodLabel ZoneSource = "pod-label"
	// ZoneSourcePinnedOnly is for clusters without PodTopologyLabels: only
	// pods pinned to one zone get a zone; the others get none and a warning,
	// because nothing at admission can know where they will run.
	ZoneSourcePinnedOnly ZoneSource = "pinned-only"
)

// ZoneEnvConfig configures the zone env var in every container.
type ZoneEnvConfig struct {
	// Enabled turns the mutation on. Default: true.
	Enabled *bool `json:"enabled,omitempty"`
	// Name of the env var. Default: INZONE_ZONE.
	Name string `json:"name,omitempty"`
	// Source: pod-label (default) or pinned-only.
	Source ZoneSource `json:"source,omitempty"`
}

// SpreadConfig configures the zone topology spread constraint.
type SpreadConfig struct {
	// Enabled turns the mutation on. Default: true.
	Enabled *bool `json:"enabled,omitempty"`
	// MaxSkew. Default: 1.
	MaxSkew int32 `json:"maxSkew,omitempty"`
	// WhenUnsatisfiable. Default: ScheduleAnyway, so pods still schedule when
	// a zone is short of capacity.
	WhenUnsatisfiable corev1.UnsatisfiableConstraintAction `json:"whenUnsatisfiable,omitempty"`
	// MatchLabelKeys makes each rollout spread on its own. Default: [pod-template-hash].
	MatchLabelKeys []string `json:"matchLabelKeys,omitempty"`
}

// DDSDConfig configures the ELB hostname to DDSD name rewrite.
type DDSDConfig struct {
	// Enabled turns the mutation on. Default: true.
	Enabled *bool `json:"enabled,omitempty"`
	// NameTemplate builds a DDSD name from the placeholders {service},
	// {namespace} and {env}. Default: {service}.service.{env}.ddsd.
	NameTemplate string `json:"nameTemplate,omitempty"`
	// Env fills {env}. Required when the template uses it.
	Env string `json:"env,omitempty"`
	// ELBs maps known load balancer hostnames to their <service>.
	ELBs map[string]string `json:"elbs,omitempty"`
	// DiscoverServices, in the webhook, also learns the map from Services of
	// type LoadBalancer with ELB ingress hostnames. Default: true.
	DiscoverServices *bool `json:"discoverServices,omitempty"`
	// DNS says who answers DNS for the DDSD domain (DDSDDomain). An app
	// resolves a name before it connects, so an ELB hostname is rewritten
	// only when the domain resolves; otherwise it is left and the pod is
	// warned. Default: none, so a rewrite never turns a working hostname
	// into one that does not resolve.
	DNS DDSDResolver `json:"dns,omitempty"`
}

// DDSDResolver is who resolves the DDSD domain.
type DDSDResolver string

const (
	// DDSDResolverNone: nothing resolves DDSD names; no rewrite.
	DDSDResolverNone DDSDResolver = "none"
	// DDSDResolverInzoneXDS: inzone-xds's DNS (--dns-address), to which the
	// cluster DNS forwards the domain (the chart sets it when it deploys it).
	DDSDResolverInzoneXDS DDSDResolver = "inzone-xds"
	// DDSDResolverExternal: something else resolves the domain.
	DDSDResolverExternal DDSDResolver = "external"
)

// DDSDResolvers lists the accepted values of ddsd.dns.
var DDSDResolvers = []DDSDResolver{DDSDResolverNone, DDSDResolverInzoneXDS, DDSDResolverExternal}

// Defaults of the Config fields; see the field comments.
const (
	DefaultZoneLabel     = "topology.kubernetes.io/zone"
	DefaultProxyImage    = "envoyproxy/envoy-distroless:v1.36.2"
	DefaultProxyUID      = 1337
	DefaultLogLevel      = "warning"
	DefaultAdminPort     = 15000
	DefaultHealthPort    = 15021
	DefaultOutboundPort  = 15001
	DefaultInboundPort   = 15006
	DefaultXDSAddress    = "inzone-xds.inzone-system.svc"
	DefaultXDSPort       = 18000
	DefaultZoneEnvName   = "INZONE_ZONE"
	DefaultDDSDTemplate  = "{service}.service.{env}.ddsd"
	DefaultDDSDEnv       = "prod"
	DefaultMinCluster    = 6
	maxMinClusterSize    = 1 << 20 // far above any service's size; bounds a typo
	podTemplateHashLabel = "pod-template-hash"
)

// envoyLogLevels are the values Envoy's --log-level accepts.
var envoyLogLevels = []string{"trace", "debug", "info", "warning", "warn", "error", "critical", "off"}

// Default sets every unset field to its default. It is idempotent.
func (c *Config) Default() {
	if c.ZoneLabel == "" {
		c.ZoneLabel = DefaultZoneLabel
	}
	if c.ServiceLabels == nil {
		c.ServiceLabels = []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app"}
	}
	s := &c.Sidecar
	defaultTrue(&s.Enabled)
	setIfEmpty(&s.Image, DefaultProxyImage)
	if s.NativeSidecar == "" {
		s.NativeSidecar = NativeSidecarAuto
	}
	if s.UID == 0 {
		s.UID = DefaultProxyUID
	}
	setIfEmpty(&s.LogLevel, DefaultLogLevel)
	if s.Resources == nil {
		s.Resources = &corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("50m"),
				corev1.ResourceMemory: resource.MustParse("64Mi"),
			},
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
		}
	}
	if s.AdminPort == 0 {
		s.AdminPort = DefaultAdminPort
	}
	if s.HealthPort == 0 {
		s.HealthPort = DefaultHealthPort
	}
	if s.OutboundPort == 0 {
		s.OutboundPort = DefaultOutboundPort
	}
	if s.InboundPort == 0 {
		s.InboundPort = DefaultInboundPort
	}
	s.Capture.setDefaults()
	setIfEmpty(&s.ControlPlane.Address, DefaultXDSAddress)
	if s.ControlPlane.Port == 0 {
		s.ControlPlane.Port = DefaultXDSPort
	}

	defaultTrue(&c.ZoneEnv.Enabled)
	setIfEmpty(&c.ZoneEnv.Name, DefaultZoneEnvName)
	if c.ZoneEnv.Source == "" {
		c.ZoneEnv.Source = ZoneSourcePodLabel
	}

	defaultTrue(&c.Spread.Enabled)
	if c.Spread.MaxSkew == 0 {
		c.Spread.MaxSkew = 1
	}
	if c.Spread.WhenUnsatisfiable == "" {
		c.Spread.WhenUnsatisfiable = corev1.ScheduleAnyway
	}
	if c.Spread.MatchLabelKeys == nil {
		c.Spread.MatchLabelKeys = []string{podTemplateHashLabel}
	}

	defaultTrue(&c.DDSD.Enabled)
	defaultTrue(&c.DDSD.DiscoverServices)
	setIfEmpty(&c.DDSD.NameTemplate, DefaultDDSDTemplate)
	setIfEmpty(&c.DDSD.Env, DefaultDDSDEnv)
	if c.DDSD.DNS == "" {
		c.DDSD.DNS = DDSDResolverNone
	}

	if c.XDS.MinClusterSize == 0 {
		c.XDS.MinClusterSize = DefaultMinCluster
	}
}

func defaultTrue(b **bool) {
	if *b == nil {
		t := true
		*b = &t
	}
}

func setIfEmpty(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// DefaultConfig returns the defaulted, valid built-in configuration.
func DefaultConfig() *Config {
	c := &Config{}
	c.Default()
	return c
}

// Validate reports every invalid field, each named by its path in the file.
// It expects a defaulted Config.
func (c *Config) Validate() field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateLabelKey(c.ZoneLabel, field.NewPath("zoneLabel"))...)
	if len(c.ServiceLabels) == 0 {
		errs = append(errs, field.Required(field.NewPath("serviceLabels"), "at least one label key identifies a workload"))
	}
	for i, k := range c.ServiceLabels {
		errs = append(errs, validateLabelKey(k, field.NewPath("serviceLabels").Index(i))...)
	}

	sp := field.NewPath("sidecar")
	s := c.Sidecar
	if err := validateImage(s.Image); err != nil {
		errs = append(errs, field.Invalid(sp.Child("image"), s.Image, err.Error()))
	}
	switch s.NativeSidecar {
	case NativeSidecarAuto, NativeSidecarTrue, NativeSidecarFalse:
	default:
		errs = append(errs, field.NotSupported(sp.Child("nativeSidecar"), s.NativeSidecar, []NativeSidecarMode{NativeSidecarAuto, NativeSidecarTrue, NativeSidecarFalse}))
	}
	if s.UID <= 0 {
		errs = append(errs, field.Invalid(sp.Child("uid"), s.UID, "must be a non-zero, non-root UID (Pod Security Standard restricted)"))
	}
	if !isEnvoyLogLevel(s.LogLevel) {
		errs = append(errs, field.NotSupported(sp.Child("logLevel"), s.LogLevel, envoyLogLevels))
	}
	for name, q := range s.Resources.Requests {
		if lim, ok := s.Resources.Limits[name]; ok && q.Cmp(lim) > 0 {
			errs = append(errs, field.Invalid(sp.Child("resources", "requests").Key(string(name)), q.String(), "must be less than or equal to the limit "+lim.String()))
		}
	}
	errs = append(errs, validateProxyPorts(s, sp)...)
	errs = append(errs, validateCapture(&s.Capture, sp)...)
	cp := sp.Child("controlPlane")
	if msgs := validateHost(s.ControlPlane.Address); len(msgs) > 0 {
		errs = append(errs, field.Invalid(cp.Child("address"), s.ControlPlane.Address, strings.Join(msgs, "; ")))
	}
	errs = append(errs, validatePort(s.ControlPlane.Port, cp.Child("port"))...)

	zp := field.NewPath("zoneEnv")
	if msgs := validation.IsEnvVarName(c.ZoneEnv.Name); len(msgs) > 0 {
		errs = append(errs, field.Invalid(zp.Child("name"), c.ZoneEnv.Name, strings.Join(msgs, "; ")))
	}
	switch c.ZoneEnv.Source {
	case ZoneSourcePodLabel, ZoneSourcePinnedOnly:
	default:
		errs = append(errs, field.NotSupported(zp.Child("source"), c.ZoneEnv.Source, []ZoneSource{ZoneSourcePodLabel, ZoneSourcePinnedOnly}))
	}

	tp := field.NewPath("spread")
	if c.Spread.MaxSkew < 1 {
		errs = append(errs, field.Invalid(tp.Child("maxSkew"), c.Spread.MaxSkew, "must be at least 1"))
	}
	switch c.Spread.WhenUnsatisfiable {
	case corev1.ScheduleAnyway, corev1.DoNotSchedule:
	default:
		errs = append(errs, field.NotSupported(tp.Child("whenUnsatisfiable"), c.Spread.WhenUnsatisfiable, []corev1.UnsatisfiableConstraintAction{corev1.ScheduleAnyway, corev1.DoNotSchedule}))
	}
	for i, k := range c.Spread.MatchLabelKeys {
		errs = append(errs, validateLabelKey(k, tp.Child("matchLabelKeys").Index(i))...)
		for _, sk := range c.ServiceLabels {
			if k == sk {
				// The API server rejects a key that is in both the selector and matchLabelKeys.
				errs = append(errs, field.Invalid(tp.Child("matchLabelKeys").Index(i), k, "must not also be one of serviceLabels, which form the label selector"))
			}
		}
	}

	dp := field.NewPath("ddsd")
	tmpl, err := parseNameTemplate(c.DDSD.NameTemplate)
	if err != nil {
		errs = append(errs, field.Invalid(dp.Child("nameTemplate"), c.DDSD.NameTemplate, err.Error()))
	} else if tmpl.usesEnv && c.DDSD.Env == "" {
		errs = append(errs, field.Required(dp.Child("env"), "the name template uses {env}"))
	} else if msgs := validation.IsDNS1123Subdomain(tmpl.render("svc", "ns", c.DDSD.Env)); len(msgs) > 0 {
		errs = append(errs, field.Invalid(dp.Child("nameTemplate"), c.DDSD.NameTemplate, "does not render a DNS name: "+strings.Join(msgs, "; ")))
	}
	if !slices.Contains(DDSDResolvers, c.DDSD.DNS) {
		errs = append(errs, field.NotSupported(dp.Child("dns"), c.DDSD.DNS, DDSDResolvers))
	}
	for host, svc := range c.DDSD.ELBs {
		p := dp.Child("elbs").Key(host)
		if _, ok := elb.Canonical(host); !ok {
			errs = append(errs, field.Invalid(p, host, "is not an AWS load balancer hostname (*.elb.amazonaws.com, *.elb.<region>.amazonaws.com, or .com.cn)"))
		}
		if msgs := validation.IsDNS1123Label(svc); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p, svc, "service name: "+strings.Join(msgs, "; ")))
		}
	}
	if m := c.XDS.MinClusterSize; m < 1 || m > maxMinClusterSize {
		errs = append(errs, field.Invalid(field.NewPath("xds", "minClusterSize"), m, fmt.Sprintf("must be between 1 and %d", maxMinClusterSize)))
	}
	return errs
}

func validateLabelKey(k string, p *field.Path) field.ErrorList {
	if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(p, k, strings.Join(msgs, "; "))}
	}
	return nil
}

func validatePort(port int32, p *field.Path) field.ErrorList {
	if msgs := validation.IsValidPortNum(int(port)); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(p, port, strings.Join(msgs, "; "))}
	}
	return nil
}

// validateProxyPorts checks the sidecar's four ports: each a port, no two
// the same, since Envoy binds all of them in the pod's network namespace.
func validateProxyPorts(s SidecarConfig, sp *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[int32]bool{}
	for _, p := range s.Ports() {
		errs = append(errs, validatePort(p.Port, sp.Child(p.Field))...)
		if seen[p.Port] {
			errs = append(errs, field.Duplicate(sp.Child(p.Field), p.Port))
		}
		seen[p.Port] = true
	}
	return errs
}

// ProxyPort is one of the ports the sidecar binds, named by its config field.
type ProxyPort struct {
	Field string // the field under sidecar: adminPort, healthPort, outboundPort, inboundPort
	Port  int32
}

// Ports lists the ports the sidecar binds, in a fixed order. Traffic capture
// excludes all but the outbound and inbound ones from redirection.
func (s SidecarConfig) Ports() []ProxyPort {
	return []ProxyPort{
		{"adminPort", s.AdminPort},
		{"healthPort", s.HealthPort},
		{"outboundPort", s.OutboundPort},
		{"inboundPort", s.InboundPort},
	}
}

func validateHost(h string) []string {
	if validation.IsValidIP(field.NewPath(""), h) == nil {
		return nil
	}
	return validation.IsDNS1123Subdomain(h)
}

// validateImage checks the shape Kubernetes itself would accept: non-empty,
// no whitespace.
func validateImage(img string) error {
	if img == "" {
		return errors.New("must not be empty")
	}
	if strings.TrimSpace(img) != img || strings.ContainsAny(img, " \t\n\r") {
		return errors.New("must not contain whitespace")
	}
	return nil
}

func isEnvoyLogLevel(l string) bool {
	for _, v := range envoyLogLevels {
		if l == v {
			return true
		}
	}
	return false
}

// ConfigError is a configuration file that did not load or validate. Each
// message names the file, the line when known, and the field.
type ConfigError struct {
	Source string
	Errs   []string
}

func (e *ConfigError) Error() string {
	return "invalid inzone config " + e.Source + ":\n  " + strings.Join(e.Errs, "\n  ")
}

// LoadConfig parses, defaults and validates a config file's content. source
// names the file in error messages. Unknown fields are errors, so a typo does
// not silently fall back to a default.
func LoadConfig(data []byte, source string) (*Config, error) {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		return nil, &ConfigError{Source: source, Errs: []string{err.Error()}}
	}
	c := &Config{}
	rootUID := false
	if len(bytes.TrimSpace(data)) > 0 {
		js, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, &ConfigError{Source: source, Errs: []string{err.Error()}}
		}
		// Case-sensitive, like the API server: sigs.k8s.io/yaml's strict
		// mode would accept "maxskew" for "maxSkew".
		strict, err := sigsjson.UnmarshalStrict(js, c, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
		if err != nil {
			return nil, &ConfigError{Source: source, Errs: []string{err.Error()}}
		}
		if len(strict) > 0 {
			ce := &ConfigError{Source: source}
			for _, e := range strict {
				ce.Errs = append(ce.Errs, strictErrorWithLine(e, &doc))
			}
			return nil, ce
		}
		var uid struct {
			Sidecar struct {
				UID *int64 `json:"uid"`
			} `json:"sidecar"`
		}
		if json.Unmarshal(js, &uid) == nil && uid.Sidecar.UID != nil && *uid.Sidecar.UID == 0 {
			rootUID = true
		}
	}
	c.Default()
	errs := c.Validate()
	if rootUID { // Default replaced it: refuse it here, where it is still seen
		errs = append(errs, validateRootUID(&c.Sidecar, field.NewPath("sidecar"))...)
	}
	if len(errs) > 0 {
		ce := &ConfigError{Source: source}
		for _, e := range errs {
			msg := e.Error()
			if line := lineOf(&doc, e.Field); line > 0 {
				msg = "line " + strconv.Itoa(line) + ": " + msg
			}
			ce.Errs = append(ce.Errs, msg)
		}
		return nil, ce
	}
	return c, nil
}

// strictErrorWithLine adds the line to sigs.k8s.io/json's strict error,
// which names the field's path (`unknown field "spread.maxskew"`).
func strictErrorWithLine(err error, doc *yamlv3.Node) string {
	msg := err.Error()
	const marker = `unknown field "`
	i := strings.Index(msg, marker)
	if i < 0 {
		return msg
	}
	rest := msg[i+len(marker):]
	path := rest[:strings.IndexByte(rest, '"')]
	if line := lineOf(doc, path); line > 0 {
		return fmt.Sprintf("line %d: unknown field %q", line, path)
	}
	return fmt.Sprintf("unknown field %q", path)
}

// lineOf finds the line of a field path such as "sidecar.uid",
// "serviceLabels[1]" or "ddsd.elbs[host]" in a YAML document; 0 when it is
// not in the file (a defaulted field).
func lineOf(doc *yamlv3.Node, path string) int {
	n := doc
	if n.Kind == yamlv3.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, seg := range splitFieldPath(path) {
		next := (*yamlv3.Node)(nil)
		switch n.Kind {
		case yamlv3.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg {
					next = n.Content[i+1]
					line = n.Content[i].Line
					break
				}
			}
		case yamlv3.SequenceNode:
			if idx, err := strconv.Atoi(seg); err == nil && idx >= 0 && idx < len(n.Content) {
				next = n.Content[idx]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// splitFieldPath splits "a.b[2].c[x.y]" into a, b, 2, c, x.y; a bracketed
// key may hold dots (ELB hostnames do).
func splitFieldPath(p string) []string {
	var segs []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			segs = append(segs, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '.':
			flush()
		case '[':
			flush()
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				return segs
			}
			segs = append(segs, p[i+1:i+j])
			i += j
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return segs
}
