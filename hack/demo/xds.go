package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/miekg/dns"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/adsclient"
	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/xds/translate"
)

// result is what the demo showed, for its test.
type result struct {
	// OrdersURL is the web pod's ORDERS_URL as stored (rewritten).
	OrdersURL string
	// Orders and Local are the orders cluster and the web pod's local
	// cluster; Zone is the web pod's zone.
	Orders, Local, Zone string
	// Served is what the web pod's sidecar received over ADS.
	Served adsclient.View
	// Records are inzone-xds's A records for the orders DDSD name.
	Records []*dns.A
}

// showXDS connects to inzone-xds as the web pod's sidecar would and prints
// what it serves, then resolves the DDSD name the web pod's ORDERS_URL was
// rewritten to through inzone-xds's DNS.
func showXDS(ctx context.Context, w io.Writer, env *envtest.Env, chart *envtest.ChartInstall, xds *envtest.ChartXDS, web *corev1.Pod) (*result, error) {
	cm := chart.Object("ConfigMap")
	data, _ := cm.Object["data"].(map[string]any)
	raw, _ := data["config.yaml"].(string)
	cfg, err := mutate.LoadConfig([]byte(raw), "ConfigMap "+cm.GetName())
	if err != nil {
		return nil, err
	}
	secretName := "inzone-webhook-cert"
	if s := chart.Object("Secret"); s != nil {
		secretName = s.GetName()
	}
	secret := &corev1.Secret{}
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: envtest.ChartNamespace, Name: secretName}, secret); err != nil {
		return nil, err
	}

	// Who the sidecar is: its flags, as the kubelet expands them.
	proxy, ok := container(web, mutate.SidecarName)
	if !ok {
		return nil, fmt.Errorf("pod %s has no %s container", web.Name, mutate.SidecarName)
	}
	local := flagArg(proxy.Args, "--service-cluster")
	zone := web.Labels[corev1.LabelTopologyZone]
	app, _ := container(web, "app")
	orders, err := ddsdTarget(app, "ORDERS_URL")
	if err != nil {
		return nil, err
	}
	if host, _, _ := net.SplitHostPort(orders); !strings.HasSuffix(host, "."+cfg.DDSDDomain()) {
		return nil, fmt.Errorf("the web pod's ORDERS_URL names %s, not a name in the DDSD domain %s: the webhook did not rewrite it", host, cfg.DDSDDomain())
	}
	node := adsclient.SidecarNode(web.Name+"."+web.Namespace, local, zone)
	serverName := cfg.Sidecar.ControlPlane.Address
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(secret.Data["ca.crt"]) {
		return nil, fmt.Errorf("the ca.crt of Secret %s holds no certificate", secretName)
	}
	creds := credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12})
	fmt.Fprintf(w, "inzone-xds, asked over ADS as the web pod's sidecar (node %s, cluster %s, zone %s;\nTLS to %s, trusting the ca.crt of Secret %s), serves:\n",
		node.Id, local, zone, serverName, secretName)
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Subscribed as an Envoy starts: CDS wildcard, EDS for the local
	// cluster and every EDS cluster CDS names.
	sidecar, err := adsclient.Dial(fctx, adsclient.Options{
		Addr:         net.JoinHostPort("127.0.0.1", strconv.Itoa(xds.Port)),
		DialOptions:  []grpc.DialOption{grpc.WithTransportCredentials(creds)},
		Node:         node,
		LocalCluster: local,
		Wildcard:     []string{resourcev3.ClusterType},
	})
	if err != nil {
		return nil, err
	}
	defer sidecar.Close()
	view, err := sidecar.Wait(fctx, func(v adsclient.View) error {
		// Complete once every orders pod is there and the web pod is in
		// its own local cluster.
		n := 0
		for _, c := range v.HealthyPerZone(orders) {
			n += c
		}
		if n != len(ordersZones) {
			return fmt.Errorf("%s has %d healthy endpoints, want the %d orders pods", orders, n, len(ordersZones))
		}
		if v.HealthyPerZone(local)[zone] == 0 {
			return fmt.Errorf("the local cluster %s has no healthy endpoint in %s, where the web pod is", local, zone)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inzone-xds did not serve the expected clusters and endpoints: %w", err)
	}
	printServed(w, view, []string{orders, local}, local)
	fmt.Fprintln(w)

	host, _, _ := net.SplitHostPort(orders)
	records, err := resolve(ctx, w, net.JoinHostPort("127.0.0.1", strconv.Itoa(xds.DNSPort)), host)
	if err != nil {
		return nil, err
	}
	ordersURL := ""
	for _, e := range app.Env {
		if e.Name == "ORDERS_URL" {
			ordersURL = e.Value
		}
	}
	return &result{OrdersURL: ordersURL, Orders: orders, Local: local, Zone: zone, Served: view, Records: records}, nil
}

// container returns the pod's container (init or not) of that name.
func container(p *corev1.Pod, name string) (corev1.Container, bool) {
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if c.Name == name {
			return c, true
		}
	}
	return corev1.Container{}, false
}

// flagArg is the value after flag in args ("--flag value").
func flagArg(args []string, flag string) string {
	for i := 1; i < len(args); i++ {
		if args[i-1] == flag {
			return args[i]
		}
	}
	return ""
}

// ddsdTarget is the cluster the app's URL in env var name reaches once the
// webhook rewrote its ELB hostname: "<DDSD name>:<port>".
func ddsdTarget(app corev1.Container, name string) (string, error) {
	for _, e := range app.Env {
		if e.Name != name {
			continue
		}
		u, err := url.Parse(e.Value)
		if err != nil {
			return "", fmt.Errorf("env %s: %w", name, err)
		}
		port, err := strconv.Atoi(u.Port())
		if err != nil {
			return "", fmt.Errorf("env %s %q names no port", name, e.Value)
		}
		return translate.ClusterName(u.Hostname(), int32(port)), nil
	}
	return "", fmt.Errorf("the app container has no env %s", name)
}
