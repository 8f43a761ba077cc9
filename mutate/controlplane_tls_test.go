package mutate

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/inzone-io/inzone/test/golden"
)

// selfSigned returns a fresh self-signed certificate as PEM.
func selfSigned(t *testing.T, isCA bool) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, IsCA: isCA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestParseControlPlaneCA(t *testing.T) {
	ca := testControlPlaneCA
	other := selfSigned(t, true)
	tests := []struct {
		name    string
		in      string
		want    string // the re-encoded bundle; empty: an error is expected
		wantErr string
	}{
		{name: "a CA certificate is kept", in: ca, want: ca},
		{name: "a bundle of two CAs is kept in order", in: ca + other, want: ca + other},
		{name: "comments between blocks are dropped", in: "# inzone CA\nsubject=CN=x\n" + ca + "\n\n", want: ca},
		{name: "PEM headers are dropped", in: strings.Replace(ca, "-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n", 1), want: ca},
		{name: "nothing is an error", in: "", wantErr: "no PEM certificate"},
		{name: "whitespace is an error", in: " \n\t", wantErr: "no PEM certificate"},
		{name: "text that is not PEM is an error", in: "not a certificate", wantErr: "not PEM"},
		{name: "text after the certificates is an error", in: ca + "trailing", wantErr: "not PEM"},
		{name: "a private key is an error", in: ca + "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", wantErr: `"EC PRIVATE KEY"`},
		{name: "a certificate block of garbage is an error", in: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", wantErr: "certificate 1"},
		{name: "a certificate that is not a CA is an error", in: ca + selfSigned(t, false), wantErr: "certificate 2 (CN=test) is not a CA"},
		{name: "more than 8 certificates is an error", in: strings.Repeat(ca, 9), wantErr: "more than 8"},
		{name: "more than 64 KiB is an error", in: ca + strings.Repeat(" ", MaxControlPlaneCABytes), wantErr: "more than 65536"},
		{name: "YAML and JSON metacharacters around the PEM are not PEM", in: ca + "\"}: {\n", wantErr: "not PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseControlPlaneCA([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// checkBootstrapControlPlaneTLS: the xDS cluster speaks TLS, trusts only the
// given CA and accepts only a certificate for the control plane's address;
// with Plaintext it has no transport socket.
func checkBootstrapControlPlaneTLS(t *testing.T, xds *clusterv3.Cluster, p BootstrapParams) {
	t.Helper()
	ts := xds.GetTransportSocket()
	if p.Plaintext {
		if ts != nil {
			t.Errorf("plaintext xDS cluster has a transport socket: %v", ts)
		}
		return
	}
	if ts.GetName() != "envoy.transport_sockets.tls" {
		t.Fatalf("xDS cluster transport socket = %v, want envoy.transport_sockets.tls", ts)
	}
	up := new(tlsv3.UpstreamTlsContext)
	if err := ts.GetTypedConfig().UnmarshalTo(up); err != nil {
		t.Fatal(err)
	}
	isIP := strings.Contains(p.XDSAddress, ":") || strings.Trim(p.XDSAddress, "0123456789.") == ""
	wantSNI, wantSAN := p.XDSAddress, tlsv3.SubjectAltNameMatcher_DNS
	if isIP {
		wantSNI, wantSAN = "", tlsv3.SubjectAltNameMatcher_IP_ADDRESS
	}
	if up.GetSni() != wantSNI {
		t.Errorf("sni = %q, want %q", up.GetSni(), wantSNI)
	}
	vc := up.GetCommonTlsContext().GetValidationContext()
	if got := vc.GetTrustedCa().GetInlineString(); got != p.ControlPlaneCA {
		t.Errorf("trusted_ca = %q, want the CA", got)
	}
	sans := vc.GetMatchTypedSubjectAltNames()
	if len(sans) != 1 || sans[0].GetSanType() != wantSAN || sans[0].GetMatcher().GetExact() != p.XDSAddress {
		t.Errorf("match_typed_subject_alt_names = %v, want %v %s", sans, wantSAN, p.XDSAddress)
	}
	if got := up.GetCommonTlsContext().GetAlpnProtocols(); len(got) != 1 || got[0] != "h2" {
		t.Errorf("alpn = %v, want h2", got)
	}
}

func TestBootstrapPlaintextGolden(t *testing.T) {
	p := bootstrapTestParams
	p.ControlPlaneCA, p.Plaintext = "", true
	r, err := NewBootstrapRenderer(p)
	if err != nil {
		t.Fatal(err)
	}
	js, err := r.Render(p.LocalCluster)
	if err != nil {
		t.Fatal(err)
	}
	checkBootstrapZoneAware(t, parseBootstrapJSON(t, js), p)
	var got bytes.Buffer
	if err := json.Indent(&got, []byte(js), "", "  "); err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')
	golden.Assert(t, filepath.Join("testdata", "bootstrap", "plaintext.json"), got.Bytes())
}

func TestEngineControlPlaneCA(t *testing.T) {
	pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
	tests := []struct {
		name      string
		plaintext bool
		ca        string
		wantErr   string
		wantSkip  bool
		wantTLS   bool
	}{
		{name: "a CA puts TLS into the sidecar's bootstrap", ca: testControlPlaneCA, wantTLS: true},
		{name: "no CA and no plaintext injects no sidecar, with a reason", wantSkip: true},
		{name: "plaintext needs no CA", plaintext: true},
		{name: "plaintext ignores a CA", plaintext: true, ca: "not even PEM"},
		{name: "a CA that is not a certificate fails the engine", ca: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", wantErr: "control-plane CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Sidecar.ControlPlane.Plaintext = tt.plaintext
			e, err := NewEngine(cfg, Options{ControlPlaneCA: []byte(tt.ca)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Mutate(pod.DeepCopy(), Namespace{Name: "shop"})
			if err != nil {
				t.Fatal(err)
			}
			skipped := false
			for _, s := range res.Skips {
				skipped = skipped || s.Reason == SkipNoControlPlaneCA
			}
			if skipped != tt.wantSkip {
				t.Fatalf("control-plane-ca-missing skip = %v, want %v: %+v", skipped, tt.wantSkip, res.Skips)
			}
			patch, _ := json.Marshal(res.Patch)
			if tt.wantSkip {
				if strings.Contains(string(patch), SidecarName) || len(res.Warnings) == 0 {
					t.Errorf("a sidecar was injected, or no warning: %s %v", patch, res.Warnings)
				}
				return
			}
			if !strings.Contains(string(patch), SidecarName) {
				t.Fatalf("no sidecar injected: %s", patch)
			}
			if got := strings.Contains(string(patch), "envoy.transport_sockets.tls"); got != tt.wantTLS {
				t.Errorf("TLS in the bootstrap: %v, want %v", got, tt.wantTLS)
			}
		})
	}
}
