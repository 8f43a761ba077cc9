package chart

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
)

// Object names of the default release.
const (
	webhookName = "inzone-webhook"
	xdsName     = "inzone-xds"
)

// xdsKinds are the objects inzone-xds adds to a rendering.
var xdsKinds = []string{"ClusterRole", "ClusterRoleBinding", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"}

// toggles are every documented value: the webhook's and inzone-xds's.
var toggles = slices.Concat(webhookToggles, xdsToggles, xdsClusterToggles)

func withXDS(kinds []string) []string {
	out := append(slices.Clone(kinds), xdsKinds...)
	sort.Strings(out)
	return out
}

// withoutOne drops one kind from a sorted list (the webhook keeps its own).
func withoutOne(kinds []string, kind string) []string {
	out := slices.Clone(kinds)
	if i := slices.Index(out, kind); i >= 0 {
		out = slices.Delete(out, i, i+1)
	}
	return out
}

// xdsRules is exactly what inzone-xds's informers need: list and watch of
// services, endpointslices, pods and nodes, nothing else.
var xdsRules = []string{
	"/nodes/list", "/nodes/watch", "/pods/list", "/pods/watch", "/services/list", "/services/watch",
	"discovery.k8s.io/endpointslices/list", "discovery.k8s.io/endpointslices/watch",
}

var xdsToggles = []toggle{
	{name: "inzone-xds off", sets: []string{"xds.enabled=false"}, kinds: webhookSelfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			for _, a := range deployment(t, objs).Spec.Template.Spec.Containers[0].Args {
				if strings.HasPrefix(a, "--cert-dns-names=") && strings.Contains(a, xdsName) {
					t.Errorf("the certificate names inzone-xds, which is not deployed: %s", a)
				}
			}
		}},
	{name: "inzone-xds DNS off", sets: []string{"xds.dns.enabled=false", "xds.dns.clusterDNSForwards=true"}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if got := configOf(t, objs).DDSD.DNS; got != mutate.DDSDResolverNone {
				t.Errorf("ddsd.dns = %s without inzone-xds's DNS", got)
			}
		}},
	{name: "the cluster DNS forwards the DDSD domain", sets: []string{"xds.dns.clusterDNSForwards=true"}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if got := configOf(t, objs).DDSD.DNS; got != mutate.DDSDResolverInzoneXDS {
				t.Errorf("ddsd.dns = %s, want inzone-xds", got)
			}
		}},
	{name: "a domain resolved elsewhere stays so", sets: []string{"xds.dns.clusterDNSForwards=true", "config.ddsd.dns=external"}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if got := configOf(t, objs).DDSD.DNS; got != mutate.DDSDResolverExternal {
				t.Errorf("ddsd.dns = %s, want external", got)
			}
		}},
	{name: "inzone-xds in plaintext", sets: []string{"xds.plaintext=true"}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if !configOf(t, objs).Sidecar.ControlPlane.Plaintext {
				t.Error("the sidecars are not told the control plane is plaintext")
			}
		}},
	{name: "a stream cap and a sync timeout", sets: []string{"xds.maxStreams=5000", "xds.clusterSyncTimeout=30s"}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			args := into[appsv1.Deployment](t, find(t, objs, "Deployment", xdsName)).Spec.Template.Spec.Containers[0].Args
			if !slices.Contains(args, "--max-streams=5000") || !slices.Contains(args, "--cluster-sync-timeout=30s") {
				t.Errorf("inzone-xds args %q", args)
			}
		}},
	{name: "inzone-xds with cert-manager", sets: []string{"certs.mode=cert-manager"}, kinds: certManagerKinds},
	{name: "one inzone-xds replica has no PDB", sets: []string{"xds.replicaCount=1"},
		kinds: withoutOne(selfManagedKinds, "PodDisruptionBudget")},
	{name: "a pinned DNS ClusterIP, other ports and resources", sets: []string{"xds.dns.clusterIP=10.0.0.53", "xds.port=18443", "xds.dns.port=5353",
		"xds.resources.requests.cpu=1", "xds.resources.limits.memory=1Gi", "xds.podDisruptionBudget.minAvailable=50%"}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			svc := into[corev1.Service](t, find(t, objs, "Service", xdsName))
			if svc.Spec.ClusterIP != "10.0.0.53" {
				t.Errorf("clusterIP = %q", svc.Spec.ClusterIP)
			}
			if got := configOf(t, objs).Sidecar.ControlPlane.Port; got != 18443 {
				t.Errorf("the sidecars dial port %d, want 18443", got)
			}
			c := into[appsv1.Deployment](t, find(t, objs, "Deployment", xdsName)).Spec.Template.Spec.Containers[0]
			if c.Resources.Limits.Memory().String() != "1Gi" || !slices.Contains(c.Args, "--dns-address=:5353") {
				t.Errorf("container %v %q", c.Resources, c.Args)
			}
		}},
}

// checkXDSInvariants: what no value may break in inzone-xds's objects.
func checkXDSInvariants(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	cfg := configOf(t, objs)
	du := findNamed(objs, "Deployment", xdsName)
	if du == nil {
		if cfg.DDSD.DNS == mutate.DDSDResolverInzoneXDS {
			t.Error("ddsd.dns is inzone-xds, which is not deployed")
		}
		return
	}
	d := into[appsv1.Deployment](t, du)
	pod := d.Spec.Template
	eval, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range eval.EvaluatePod(psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}, &pod.ObjectMeta, &pod.Spec) {
		if !r.Allowed {
			t.Errorf("inzone-xds: Pod Security Standard restricted: %s: %s", r.ForbiddenReason, r.ForbiddenDetail)
		}
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("inzone-xds containers = %d", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if !slices.Equal(c.Command, []string{"/usr/local/bin/inzone-xds"}) {
		t.Errorf("command = %q", c.Command)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("inzone-xds probes are not on /healthz and /readyz")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("inzone-xds resources %+v lack a cpu request or a memory limit", c.Resources)
	}
	if i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOMEMLIMIT" }); i < 0 ||
		c.Env[i].ValueFrom == nil || c.Env[i].ValueFrom.ResourceFieldRef == nil ||
		c.Env[i].ValueFrom.ResourceFieldRef.Resource != "limits.memory" || c.Env[i].ValueFrom.ResourceFieldRef.ContainerName != c.Name {
		t.Errorf("inzone-xds's GOMEMLIMIT is not its container's memory limit: %+v", c.Env)
	}
	if spread := pod.Spec.TopologySpreadConstraints; len(spread) != 1 || spread[0].TopologyKey != "topology.kubernetes.io/zone" ||
		!labels.SelectorFromSet(spread[0].LabelSelector.MatchLabels).Matches(labels.Set(pod.Labels)) {
		t.Errorf("inzone-xds is not spread over zones: %+v", spread)
	}
	if d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Error("an inzone-xds rollout may take replicas down before new ones are ready")
	}
	if pod.Spec.ServiceAccountName != xdsName {
		t.Errorf("serviceAccountName = %q, want its own %s", pod.Spec.ServiceAccountName, xdsName)
	}
	// Never mutated, and the webhook's Service and inzone-xds's never mix.
	hook := webhookOf(t, objs)
	objSel, err := metav1.LabelSelectorAsSelector(hook.ObjectSelector)
	if err != nil {
		t.Fatal(err)
	}
	if objSel.Matches(labels.Set(pod.Labels)) {
		t.Errorf("the webhook's objectSelector matches inzone-xds's pods %v", pod.Labels)
	}
	whSvc := into[corev1.Service](t, find(t, objs, "Service", webhookName))
	if labels.SelectorFromSet(whSvc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
		t.Error("the webhook's Service selects inzone-xds's pods")
	}
	svc := into[corev1.Service](t, find(t, objs, "Service", xdsName))
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
		t.Error("the inzone-xds Service does not select its pods")
	}
	if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(deployment(t, objs).Spec.Template.Labels)) {
		t.Error("the inzone-xds Service selects the webhook's pods")
	}

	// The sidecars dial the Service the chart deploys.
	cp := cfg.Sidecar.ControlPlane
	if want := svc.Name + "." + namespace + ".svc"; cp.Address != want {
		t.Errorf("sidecar.controlPlane.address = %q, want the inzone-xds Service %s", cp.Address, want)
	}
	containerPorts := map[string]corev1.ContainerPort{}
	for _, p := range c.Ports {
		containerPorts[p.Name] = p
	}
	servicePorts := map[string]corev1.ServicePort{}
	for _, p := range svc.Spec.Ports {
		servicePorts[p.Name] = p
		if cp, ok := containerPorts[p.TargetPort.StrVal]; p.TargetPort.Type != intstr.String || !ok || cp.Protocol != p.Protocol {
			t.Errorf("Service port %s targets %v, not a container port of its protocol", p.Name, p.TargetPort)
		}
	}
	if g := servicePorts["grpc-xds"]; g.Port != cp.Port || g.Protocol != corev1.ProtocolTCP || containerPorts["grpc-xds"].ContainerPort != cp.Port {
		t.Errorf("the xDS port %+v is not the sidecars' %d/TCP", g, cp.Port)
	}
	if !slices.Contains(c.Args, fmt.Sprintf("--xds-address=:%d", cp.Port)) {
		t.Errorf("inzone-xds does not listen on %d: %q", cp.Port, c.Args)
	}
	dnsOn := !slices.Contains(c.Args, "--dns-address=0")
	if dnsOn {
		udp, tcp := servicePorts["dns-udp"], servicePorts["dns-tcp"]
		if udp.Port != 53 || udp.Protocol != corev1.ProtocolUDP || tcp.Port != 53 || tcp.Protocol != corev1.ProtocolTCP {
			t.Errorf("DNS Service ports udp %+v tcp %+v, want 53/UDP and 53/TCP", udp, tcp)
		}
		if want := fmt.Sprintf("--dns-address=:%d", containerPorts["dns-udp"].ContainerPort); !slices.Contains(c.Args, want) {
			t.Errorf("inzone-xds args %q lack %s", c.Args, want)
		}
	} else {
		if _, ok := servicePorts["dns-udp"]; ok || len(svc.Spec.Ports) != 1 {
			t.Errorf("DNS off, yet the Service has ports %+v", svc.Spec.Ports)
		}
		if cfg.DDSD.DNS == mutate.DDSDResolverInzoneXDS {
			t.Error("ddsd.dns is inzone-xds with its DNS off")
		}
	}

	// TLS: the webhook's Secret, whose certificate names inzone-xds's
	// Service, so the sidecars' SAN check passes.
	plaintext := slices.Contains(c.Args, "--plaintext")
	if plaintext != cp.Plaintext {
		t.Errorf("inzone-xds plaintext %v, the sidecars' %v", plaintext, cp.Plaintext)
	}
	if !plaintext {
		certDir := ""
		for _, a := range c.Args {
			if v, ok := strings.CutPrefix(a, "--cert-dir="); ok {
				certDir = v
			}
		}
		mounted := false
		for _, m := range c.VolumeMounts {
			for _, v := range pod.Spec.Volumes {
				if v.Name == m.Name && m.MountPath == certDir && v.Secret != nil && v.Secret.SecretName == webhookName+"-cert" {
					mounted = true
				}
			}
		}
		if !mounted {
			t.Errorf("the webhook's certificate Secret is not mounted at --cert-dir=%q", certDir)
		}
		var names []string
		if cert := findNamed(objs, "Certificate", webhookName); cert != nil {
			names, _, _ = unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
		}
		for _, a := range deployment(t, objs).Spec.Template.Spec.Containers[0].Args {
			if v, ok := strings.CutPrefix(a, "--cert-dns-names="); ok {
				names = strings.Split(v, ",")
			}
		}
		if !slices.Contains(names, cp.Address) {
			t.Errorf("the serving certificate's names %v lack the control plane's %s", names, cp.Address)
		}
	}

	if pdb := findNamed(objs, "PodDisruptionBudget", xdsName); pdb != nil {
		sel, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels")
		if !labels.SelectorFromSet(sel).Matches(labels.Set(pod.Labels)) {
			t.Error("inzone-xds's PodDisruptionBudget does not select its pods")
		}
	} else if *d.Spec.Replicas > 1 {
		t.Error("inzone-xds has more than one replica and no PodDisruptionBudget")
	}

	// RBAC: exactly the informers' reads, where it reads this cluster.
	checkXDSClusters(t, objs)
	if findNamed(objs, "ClusterRole", xdsName) == nil {
		return
	}
	cr := into[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", xdsName))
	var got []string
	for _, r := range cr.Rules {
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("unexpected rule %+v", r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					got = append(got, g+"/"+res+"/"+v)
				}
			}
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, xdsRules) {
		t.Errorf("inzone-xds may\n %v\nwant exactly\n %v", got, xdsRules)
	}
	crb := into[rbacv1.ClusterRoleBinding](t, find(t, objs, "ClusterRoleBinding", xdsName))
	if crb.RoleRef.Name != xdsName || len(crb.Subjects) != 1 || crb.Subjects[0].Kind != "ServiceAccount" ||
		crb.Subjects[0].Name != xdsName || crb.Subjects[0].Namespace != namespace {
		t.Errorf("ClusterRoleBinding %+v does not bind inzone-xds's ServiceAccount", crb)
	}
}

// TestXDSRBACOnTheAPIServer applies the chart's RBAC for inzone-xds to the
// real API server and asks it what the ServiceAccount may do.
func TestXDSRBACOnTheAPIServer(t *testing.T) {
	env := envtest.For(t)
	ctx := context.Background()
	ensureNamespace(t, env, namespace, nil)
	_, objs := render(t)
	for _, kind := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding"} {
		o := find(t, objs, kind, xdsName)
		if err := env.Apply(ctx, o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), o) })
	}
	user := "system:serviceaccount:" + namespace + ":" + xdsName
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	allowed := func(group, resource, verb, ns string) (bool, string) {
		t.Helper()
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User: user, Groups: groups,
			ResourceAttributes: &authzv1.ResourceAttributes{Group: group, Resource: resource, Verb: verb, Namespace: ns},
		}}
		if err := env.Client.Create(ctx, sar); err != nil {
			t.Fatal(err)
		}
		return sar.Status.Allowed, sar.Status.Reason
	}
	// The API server's RBAC authorizer reads bindings through its own
	// informer: a review right after the apply can precede it. Wait until
	// the binding is seen (one grant answered yes), then ask every question.
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		ok, _ := allowed("", "services", "list", "")
		return ok, nil
	}); err != nil {
		t.Fatalf("the API server never granted the bound ClusterRole: %v", err)
	}
	tests := []struct {
		group, resource, verb, ns string
		allowed                   bool
	}{
		{"", "services", "list", "", true},
		{"", "services", "watch", "shop", true},
		{"discovery.k8s.io", "endpointslices", "list", "", true},
		{"discovery.k8s.io", "endpointslices", "watch", "", true},
		{"", "pods", "list", "", true},
		{"", "pods", "watch", "", true},
		{"", "nodes", "list", "", true},
		{"", "nodes", "watch", "", true},
		{"", "secrets", "list", namespace, false},
		{"", "secrets", "get", namespace, false},
		{"", "configmaps", "list", "", false},
		{"", "endpoints", "list", "", false},
		{"", "pods", "create", "shop", false},
		{"", "pods", "update", "shop", false},
		{"", "pods", "delete", "shop", false},
		{"", "services", "update", "shop", false},
		{"discovery.k8s.io", "endpointslices", "create", "shop", false},
		{"", "nodes", "patch", "", false},
		{"", "serviceaccounts", "create", namespace, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s/%s in %q", tt.verb, tt.group, tt.resource, tt.ns), func(t *testing.T) {
			if got, reason := allowed(tt.group, tt.resource, tt.verb, tt.ns); got != tt.allowed {
				t.Errorf("allowed = %v (%s), want %v", got, reason, tt.allowed)
			}
		})
	}
}

// checkSidecarTrustsXDS: the installed chart's sidecar bootstrap trusts the
// CA in the webhook's Secret, and the certificate in that Secret, which the
// inzone-xds pods mount and serve, passes the sidecar's check for the
// control plane's name: the TLS handshake Envoy will make succeeds.
func checkSidecarTrustsXDS(t *testing.T, pod *corev1.Pod, secret *corev1.Secret) {
	t.Helper()
	var bootstrap string
	for _, c := range append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...) {
		if c.Name != mutate.SidecarName {
			continue
		}
		if i := slices.Index(c.Args, "--config-yaml"); i >= 0 && i+1 < len(c.Args) {
			bootstrap = c.Args[i+1]
		}
	}
	if bootstrap == "" {
		t.Fatal("the sidecar has no --config-yaml bootstrap")
	}
	b := new(bootstrapv3.Bootstrap)
	if err := protojson.Unmarshal([]byte(bootstrap), b); err != nil {
		t.Fatal(err)
	}
	var up *tlsv3.UpstreamTlsContext
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() == "inzone-xds" {
			up = new(tlsv3.UpstreamTlsContext)
			if err := c.GetTransportSocket().GetTypedConfig().UnmarshalTo(up); err != nil {
				t.Fatalf("the xDS cluster has no TLS: %v", err)
			}
		}
	}
	if up == nil {
		t.Fatal("no inzone-xds cluster")
	}
	vc := up.GetCommonTlsContext().GetValidationContext()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(vc.GetTrustedCa().GetInlineString())) {
		t.Fatal("the bootstrap's trusted_ca holds no certificate")
	}
	sans := vc.GetMatchTypedSubjectAltNames()
	if len(sans) != 1 || up.GetSni() != xdsName+"."+namespace+".svc" || sans[0].GetMatcher().GetExact() != up.GetSni() {
		t.Fatalf("sni %q, SANs %v: want the inzone-xds Service", up.GetSni(), sans)
	}
	block, _ := pem.Decode(secret.Data["tls.crt"])
	if block == nil {
		t.Fatal("the Secret holds no serving certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: up.GetSni(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("the certificate inzone-xds serves fails the sidecar's check: %v", err)
	}
}

// TestMaxStreamsFromAValuesFile: a values file gives Helm numbers as
// floats, which a template prints as 1e+06; inzone-xds would refuse that
// flag and the pod would never start.
func TestMaxStreamsFromAValuesFile(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("xds:\n  maxStreams: 1000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := helm(t, "template", release, chartDir(t), "--namespace", namespace, "-f", values)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "- --max-streams=1000000\n") {
		t.Errorf("inzone-xds's --max-streams is not 1000000:\n%s", grepLines(string(out), "--max-streams"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
