package mutate

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// Bounds of the control plane's CA bundle: it goes inline into every
// sidecar's bootstrap, which is a container argument of every pod.
const (
	MaxControlPlaneCABytes = 64 << 10
	MaxControlPlaneCACerts = 8
	bootstrapTLSSocket     = "envoy.transport_sockets.tls"
)

// ParseControlPlaneCA checks a PEM bundle of the certificate authorities that
// sign inzone-xds's serving certificate and returns it re-encoded: only
// CERTIFICATE blocks, each a CA certificate (a private key or any other
// block is an error; text between blocks, as in bundles with comments, is
// dropped), at most MaxControlPlaneCABytes and MaxControlPlaneCACerts.
// The result is what goes inline into the bootstrap's trusted_ca.
func ParseControlPlaneCA(data []byte) (string, error) {
	if len(data) > MaxControlPlaneCABytes {
		return "", fmt.Errorf("control-plane CA: %d bytes, more than %d", len(data), MaxControlPlaneCABytes)
	}
	var out bytes.Buffer
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(bytes.TrimSpace(rest)) > 0 {
				return "", fmt.Errorf("control-plane CA: certificate %d: not PEM (%d bytes left over)", n+1, len(bytes.TrimSpace(rest)))
			}
			break
		}
		n++
		if n > MaxControlPlaneCACerts {
			return "", fmt.Errorf("control-plane CA: more than %d certificates", MaxControlPlaneCACerts)
		}
		if block.Type != "CERTIFICATE" {
			return "", fmt.Errorf("control-plane CA: block %d is %q, want CERTIFICATE", n, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return "", fmt.Errorf("control-plane CA: certificate %d: %w", n, err)
		}
		if !cert.BasicConstraintsValid || !cert.IsCA {
			return "", fmt.Errorf("control-plane CA: certificate %d (%s) is not a CA certificate", n, cert.Subject)
		}
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})
	}
	if n == 0 {
		return "", errors.New("control-plane CA: no PEM certificate")
	}
	return out.String(), nil
}

// bootstrapControlPlaneTLS is the xDS cluster's transport socket: TLS whose
// server must present a certificate from the CA for the control plane's
// own name, so a pod takes routes from inzone-xds and nothing else.
func bootstrapControlPlaneTLS(address, caPEM string) (*corev3.TransportSocket, error) {
	host := strings.TrimSuffix(address, ".")
	san := &tlsv3.SubjectAltNameMatcher{
		SanType: tlsv3.SubjectAltNameMatcher_DNS,
		Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: host}},
	}
	sni := host
	if net.ParseIP(host) != nil {
		// SNI carries host names only (RFC 6066); an IP is matched as an IP SAN.
		san.SanType = tlsv3.SubjectAltNameMatcher_IP_ADDRESS
		sni = ""
	}
	tlsCtx := &tlsv3.UpstreamTlsContext{
		Sni: sni,
		CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsParams:     &tlsv3.TlsParameters{TlsMinimumProtocolVersion: tlsv3.TlsParameters_TLSv1_2},
			AlpnProtocols: []string{"h2"},
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{
				ValidationContext: &tlsv3.CertificateValidationContext{
					TrustedCa:                 &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: caPEM}},
					MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{san},
				},
			},
		},
	}
	// The bootstrap's ValidateAll does not look inside an Any.
	if err := tlsCtx.ValidateAll(); err != nil {
		return nil, fmt.Errorf("envoy bootstrap: control-plane TLS failed validation: %w", err)
	}
	packed, err := bootstrapAny(tlsCtx)
	if err != nil {
		return nil, err
	}
	return &corev3.TransportSocket{Name: bootstrapTLSSocket, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: packed}}, nil
}
