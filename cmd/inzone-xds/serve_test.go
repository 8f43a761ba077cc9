package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/inzone-io/inzone/test/adsclient"
	"github.com/inzone-io/inzone/test/envtest"
)

// TestServesTwoClustersOverTLS runs the command as deployed: TLS from
// --cert-dir, two --kubeconfig (two real API servers), metrics and health.
// A delta ADS client over TLS gets one cluster for the DDSD name both
// clusters serve, with each cluster's endpoints in its own zone.
func TestServesTwoClustersOverTLS(t *testing.T) {
	dir := t.TempDir()
	var kubeconfigs []string
	for i, zone := range []string{"us-east-1a", "us-west-2b"} {
		env := envtest.StartT(t, envtest.Options{WithoutInzoneWebhook: true})
		kc := filepath.Join(dir, fmt.Sprintf("kubeconfig-%d", i))
		if err := env.WriteKubeconfig(kc); err != nil {
			t.Fatal(err)
		}
		kubeconfigs = append(kubeconfigs, "--kubeconfig", kc)
		populate(t, env, fmt.Sprintf("node-%d", i), zone, fmt.Sprintf("10.%d.0.1", 10+i))
	}
	caPEM := writeCert(t, dir)
	xdsAddr, metricsAddr, healthAddr := freePort(t), freePort(t), freePort(t)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append(kubeconfigs, "--cert-dir", dir, "--xds-address", xdsAddr, "--dns-address=0", "--max-streams=1",
			"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", healthAddr), io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d after cancel, want 0", code)
		}
	})
	waitHTTP(t, "http://"+healthAddr+"/readyz", "ok")

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	creds := credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "inzone-xds.inzone-system.svc"})
	got := deltaEndpoints(t, ctx, xdsAddr, creds, "multi.service.prod.ddsd:80")
	if want := "us-east-1/us-east-1a=10.10.0.1 us-west-2/us-west-2b=10.11.0.1"; strings.Join(got, " ") != want {
		t.Errorf("endpoints %v, want %s", got, want)
	}
	waitHTTP(t, "http://"+metricsAddr+"/metrics", `inzone_xds_connected_streams{client="sidecar",protocol="delta"} 1`)

	// --max-streams=1: the delta stream above holds the only slot.
	conn, err := grpc.NewClient(xdsAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sctx, scancel := context.WithTimeout(ctx, time.Minute)
	defer scancel()
	second, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(sctx)
	if err != nil {
		t.Fatal(err)
	}
	// The server may refuse the stream before the request is sent: Send
	// then fails with io.EOF and Recv has the status.
	_ = second.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: "probe"}, TypeUrl: resourcev3.ClusterType})
	if _, err := second.Recv(); status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "at most 1 ADS streams") {
		t.Errorf("a second stream with --max-streams=1: %v, want ResourceExhausted naming the limit", err)
	}
}

// deltaEndpoints subscribes to one EDS resource over delta ADS, as a
// sidecar would, and lists its endpoints as region/zone=address. The
// stream stays open until the test ends.
func deltaEndpoints(t *testing.T, ctx context.Context, addr string, creds credentials.TransportCredentials, name string) []string {
	t.Helper()
	c, err := adsclient.Dial(ctx, adsclient.Options{
		Addr:        addr,
		DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(creds)},
		Protocol:    adsclient.Delta,
		Node:        &corev3.Node{Id: "probe"},
		Names:       map[string][]string{resourcev3.EndpointType: {name}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	// The wait fails if the server sends any resource but name.
	v := c.WaitT(t, time.Minute, "delta ADS", nil)
	var got []string
	for _, l := range v.Endpoints[name].GetEndpoints() {
		for _, e := range l.GetLbEndpoints() {
			got = append(got, l.GetLocality().GetRegion()+"/"+l.GetLocality().GetZone()+"="+e.GetEndpoint().GetAddress().GetSocketAddress().GetAddress())
		}
	}
	return got
}

// populate creates a zoned node, Service multi and its slice with one
// ready endpoint on that node.
func populate(t *testing.T, env *envtest.Env, node, zone, ip string) {
	t.Helper()
	c := context.Background()
	if _, err := env.CreateNode(c, envtest.NodeSpec{Name: node, Zone: zone}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "multi", Namespace: "default"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "multi-1", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "multi"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{ip}, NodeName: ptr.To(node), Zone: ptr.To(zone),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
	if err := env.Client.Create(c, svc); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(c, slice); err != nil {
		t.Fatal(err)
	}
}

// writeCert writes a self-signed serving certificate for the chart's
// Service name into dir (tls.crt, tls.key) and returns it as the CA.
func writeCert(t *testing.T, dir string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "inzone-xds"},
		DNSNames:  []string{"inzone-xds.inzone-system.svc"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}

// freePort picks a loopback port for a flag. The window between closing
// and the command binding it is a few milliseconds.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitHTTP polls url until its body contains want; the deadline is a
// failure bound, not a measurement.
func waitHTTP(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if strings.Contains(string(body), want) {
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, truncate(string(body)))
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never answered %q; last: %s", url, want, last)
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
