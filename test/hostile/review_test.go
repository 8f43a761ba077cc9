package hostile

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/webhook"
)

// reviewBody is an AdmissionReview creating pod.
func reviewBody(t testing.TB, pod *corev1.Pod) []byte {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID("00000000-0000-4000-8000-000000000015"),
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: pod.Namespace, Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reviewClient posts reviews to a webhook on loopback over TLS, trusting ca.
func reviewClient(ca []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 200},
	}
}

// postReview posts body to the webhook at addr and returns the HTTP status
// and, for a 200, the review's response.
func postReview(c *http.Client, addr string, body []byte) (int, *admissionv1.AdmissionResponse, error) {
	resp, err := c.Post("https://"+addr+webhook.Path, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, nil
	}
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(out, &ar); err != nil || ar.Response == nil {
		return resp.StatusCode, nil, fmt.Errorf("not an AdmissionReview response: %v: %.200s", err, out)
	}
	return resp.StatusCode, ar.Response, nil
}

// sidecarPlacement is where a review's patch puts the proxy: "initContainers"
// (a native sidecar), "containers", or "" (no sidecar).
func sidecarPlacement(t testing.TB, r *admissionv1.AdmissionResponse) string {
	t.Helper()
	var ops []struct {
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(r.Patch, &ops); err != nil {
		t.Fatalf("patch: %v", err)
	}
	for _, op := range ops {
		if !bytes.Contains(op.Value, []byte(`"name":"`+mutate.SidecarName+`"`)) {
			continue
		}
		for _, where := range []string{"initContainers", "containers"} {
			if strings.HasPrefix(op.Path, "/spec/"+where) {
				return where
			}
		}
	}
	return ""
}

// freeAddr is a free loopback address.
func freeAddr(t testing.TB) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String(), l.Addr().(*net.TCPAddr).Port
}
