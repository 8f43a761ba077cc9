package mutate

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/inzone-io/inzone/capture"
)

// CaptureMode is how the app's traffic reaches the sidecar.
type CaptureMode string

// The capture modes.
const (
	// CaptureIPTables adds an init container that installs iptables rules
	// redirecting the pod's TCP to the sidecar. It needs NET_ADMIN and
	// NET_RAW: the one injected container that cannot meet PSS restricted.
	CaptureIPTables CaptureMode = "iptables"
	// CaptureCNI leaves the rules to the inzone-cni chained plugin, which
	// installs them when the pod's network is set up; the pod only gets an
	// annotation saying what to install.
	CaptureCNI CaptureMode = "cni"
	// CaptureProxyEnv sets HTTP_PROXY, HTTPS_PROXY and NO_PROXY in the app's
	// containers; no rules, no privileges.
	CaptureProxyEnv CaptureMode = "proxy-env"
	// CaptureNone captures nothing: the app calls Envoy's listener itself.
	CaptureNone CaptureMode = "none"
)

var captureModes = []CaptureMode{CaptureIPTables, CaptureCNI, CaptureProxyEnv, CaptureNone}

// DefaultCaptureImage holds the inzone binary and the iptables tools; it
// runs `inzone capture init`. The main inzone image is FROM scratch and has
// no iptables, hence a separate image (see the README's Traffic capture).
const DefaultCaptureImage = "ghcr.io/inzone-io/inzone-capture:0.1.0"

// maxNoProxyEntry bounds one NO_PROXY entry (a DNS name is at most 253).
const maxNoProxyEntry = 253

// CaptureConfig configures traffic capture. The per-pod annotations
// inzone.io/capture, inzone.io/exclude-* and inzone.io/include-* override
// it: exclusions add to these lists, an include list replaces the config's.
type CaptureConfig struct {
	// Mode: iptables (default), cni, proxy-env or none.
	Mode CaptureMode `json:"mode,omitempty"`
	// Image runs `inzone capture init` in iptables mode: the inzone binary
	// plus iptables. Default: ghcr.io/inzone-io/inzone-capture:<version>.
	Image string `json:"image,omitempty"`
	// NoProxy are extra NO_PROXY entries in proxy-env mode, after
	// localhost, 127.0.0.1, ::1, .svc and .cluster.local.
	NoProxy []string `json:"noProxy,omitempty"`
	// ExcludeOutboundPorts are destination ports the app reaches directly.
	ExcludeOutboundPorts []int32 `json:"excludeOutboundPorts,omitempty"`
	// ExcludeInboundPorts are pod ports not sent through the proxy (the
	// sidecar's admin and health ports always are excluded).
	ExcludeInboundPorts []int32 `json:"excludeInboundPorts,omitempty"`
	// IncludeInboundPorts, when set, are the only pod ports redirected.
	IncludeInboundPorts []int32 `json:"includeInboundPorts,omitempty"`
	// ExcludeOutboundCIDRs are destinations the app reaches directly
	// (for example the cloud metadata address 169.254.169.254/32).
	ExcludeOutboundCIDRs []string `json:"excludeOutboundCIDRs,omitempty"`
	// IncludeOutboundCIDRs, when set, are the only destinations redirected.
	IncludeOutboundCIDRs []string `json:"includeOutboundCIDRs,omitempty"`
}

func (c *CaptureConfig) setDefaults() {
	if c.Mode == "" {
		c.Mode = CaptureIPTables
	}
	setIfEmpty(&c.Image, DefaultCaptureImage)
}

// validateRootUID refuses a sidecar.uid of 0 written in a config file
// (Default would turn it into the default UID) when the capture mode tells
// the proxy's traffic from the app's by UID: a proxy running as root is
// refused rather than silently renumbered.
func validateRootUID(s *SidecarConfig, sp *field.Path) field.ErrorList {
	if m := s.Capture.Mode; m == CaptureIPTables || m == CaptureCNI {
		return field.ErrorList{field.Invalid(sp.Child("uid"), 0,
			"capture mode "+string(m)+" tells the proxy's own traffic from the app's by its UID: the sidecar must not run as root (UID 0)")}
	}
	return nil
}

// validateCapture checks the capture block.
func validateCapture(c *CaptureConfig, sp *field.Path) field.ErrorList {
	var errs field.ErrorList
	p := sp.Child("capture")
	switch c.Mode {
	case CaptureIPTables, CaptureCNI, CaptureProxyEnv, CaptureNone:
	default:
		errs = append(errs, field.NotSupported(p.Child("mode"), c.Mode, captureModes))
	}
	if err := validateImage(c.Image); err != nil {
		errs = append(errs, field.Invalid(p.Child("image"), c.Image, err.Error()))
	}
	for i, v := range c.NoProxy {
		if v == "" || len(v) > maxNoProxyEntry || strings.ContainsAny(v, ", \t\r\n\"'=$`\\") {
			errs = append(errs, field.Invalid(p.Child("noProxy").Index(i), v, "must be one host, domain suffix, IP or CIDR, without commas, spaces or quotes, at most 253 bytes"))
		}
	}
	for _, l := range []struct {
		name  string
		ports []int32
	}{
		{"excludeOutboundPorts", c.ExcludeOutboundPorts},
		{"excludeInboundPorts", c.ExcludeInboundPorts},
		{"includeInboundPorts", c.IncludeInboundPorts},
	} {
		if len(l.ports) > capture.MaxListEntries {
			errs = append(errs, field.TooMany(p.Child(l.name), len(l.ports), capture.MaxListEntries))
		}
		for i, port := range l.ports {
			errs = append(errs, validatePort(port, p.Child(l.name).Index(i))...)
		}
	}
	for _, l := range []struct {
		name  string
		cidrs []string
	}{
		{"excludeOutboundCIDRs", c.ExcludeOutboundCIDRs},
		{"includeOutboundCIDRs", c.IncludeOutboundCIDRs},
	} {
		if len(l.cidrs) > capture.MaxListEntries {
			errs = append(errs, field.TooMany(p.Child(l.name), len(l.cidrs), capture.MaxListEntries))
		}
		for i, v := range l.cidrs {
			if _, err := capture.ParseCIDRs(v); err != nil || strings.Contains(v, ",") || strings.TrimSpace(v) == "" {
				msg := "must be one IPv4 or IPv6 CIDR"
				if err != nil {
					msg = err.Error()
				}
				errs = append(errs, field.Invalid(p.Child(l.name).Index(i), v, msg))
			}
		}
	}
	return errs
}

// portsOf converts validated config ports.
func portsOf(ports []int32) []uint16 {
	out := make([]uint16, len(ports))
	for i, p := range ports {
		out[i] = uint16(p)
	}
	return out
}

// joinPorts renders config ports as a list ParsePorts reads.
func joinPorts(ports []int32) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}
