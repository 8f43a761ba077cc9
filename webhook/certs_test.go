package webhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestCertRotationValidate(t *testing.T) {
	valid := func() CertRotation {
		c := CertRotation{Secret: types.NamespacedName{Namespace: "inzone-system", Name: "cert"}, WebhookConfiguration: "inzone", DNSNames: []string{"inzone-webhook.inzone-system.svc"}}
		c.setDefaults()
		return c
	}
	tests := []struct {
		name   string
		change func(*CertRotation)
		want   string // empty: valid
	}{
		{"the defaults", func(*CertRotation) {}, ""},
		{"no secret namespace", func(c *CertRotation) { c.Secret.Namespace = "" }, "namespace and a name"},
		{"no webhook configuration", func(c *CertRotation) { c.WebhookConfiguration = "" }, "MutatingWebhookConfiguration"},
		{"no DNS name", func(c *CertRotation) { c.DNSNames = nil }, "DNS name"},
		{"an empty first DNS name", func(c *CertRotation) { c.DNSNames = []string{""} }, "DNS name"},
		{"renewal at expiry", func(c *CertRotation) { c.RenewBefore = c.Validity }, "must be shorter than the validity"},
		{"a negative interval", func(c *CertRotation) { c.CheckInterval = -time.Second }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestServable checks the certificate gate's test: the server starts only
// on a cert dir holding a matching certificate and key.
func TestServable(t *testing.T) {
	certPEM, keyPEM := selfSigned(t)
	_, otherKey := selfSigned(t)
	tests := []struct {
		name      string
		cert, key []byte
		ok        bool
	}{
		{"empty dir (a fresh install's mount)", nil, nil, false},
		{"a certificate and its key", certPEM, keyPEM, true},
		{"a certificate with another key", certPEM, otherKey, false},
		{"only a certificate", certPEM, nil, false},
		{"empty files", []byte{}, []byte{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.cert != nil {
				if err := os.WriteFile(filepath.Join(dir, CertFile), tt.cert, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.key != nil {
				if err := os.WriteFile(filepath.Join(dir, KeyFile), tt.key, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := servable(dir); (err == nil) != tt.ok {
				t.Errorf("servable = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}
