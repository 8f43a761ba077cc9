// Package chart tests charts/inzone: helm lint and helm template for the
// defaults and every documented toggle, the safety properties every
// rendering must keep, the values schema, and (install_test.go) the
// rendered manifests on a real kube-apiserver with the webhook running
// against them.
package chart

import (
	"bytes"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
)

func TestMain(m *testing.M) {
	// The render tests need no control plane; install_test.go's do.
	os.Exit(envtest.Main(m, envtest.Options{WithoutInzoneWebhook: true}, nil))
}

// toggle is a documented value and what it must change in the rendering.
type toggle struct {
	name  string
	sets  []string
	kinds []string // the kinds rendered, sorted
	check func(t *testing.T, objs []*unstructured.Unstructured)
}

var (
	selfManagedKinds = withXDS(webhookSelfManagedKinds)
	certManagerKinds = withXDS(webhookCertManagerKinds)
	// The webhook's own objects; withXDS adds inzone-xds's (xds_test.go).
	webhookSelfManagedKinds = []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "MutatingWebhookConfiguration", "PodDisruptionBudget", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
	webhookCertManagerKinds = []string{"Certificate", "Certificate", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Issuer", "Issuer", "MutatingWebhookConfiguration", "PodDisruptionBudget", "Service", "ServiceAccount"}
	// clusterScopedKinds are the kinds the chart renders without a namespace.
	clusterScopedKinds = []string{"ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
)

var webhookToggles = []toggle{
	{name: "defaults", kinds: selfManagedKinds, check: func(t *testing.T, objs []*unstructured.Unstructured) {
		d := deployment(t, objs)
		if *d.Spec.Replicas != 2 {
			t.Errorf("replicas = %d, want 2", *d.Spec.Replicas)
		}
		args := d.Spec.Template.Spec.Containers[0].Args
		for _, want := range []string{"--cert-secret=inzone-system/inzone-webhook-cert", "--webhook-configuration=inzone",
			"--cert-dns-names=inzone-webhook.inzone-system.svc,inzone-webhook.inzone-system.svc.cluster.local,inzone-xds.inzone-system.svc,inzone-xds.inzone-system.svc.cluster.local"} {
			if !slices.Contains(args, want) {
				t.Errorf("webhook args lack %s: %q", want, args)
			}
		}
		if hook := webhookOf(t, objs); *hook.FailurePolicy != admissionv1.Fail || *hook.TimeoutSeconds != 5 {
			t.Errorf("failurePolicy %s, timeout %d; want Fail, 5", *hook.FailurePolicy, *hook.TimeoutSeconds)
		}
		// The rotator may read and write only its own Secret and webhook
		// configuration: list and watch too, by name (a field selector), so
		// no other Secret of the namespace is readable.
		role := into[rbacv1.Role](t, find(t, objs, "Role", ""))
		for _, r := range role.Rules {
			if !reflect.DeepEqual(r.ResourceNames, []string{"inzone-webhook-cert"}) {
				t.Errorf("Secret access not limited to the cert Secret: %+v", r)
			}
		}
		cr := into[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", webhookName))
		for _, r := range cr.Rules {
			if slices.Contains(r.Resources, "mutatingwebhookconfigurations") && !reflect.DeepEqual(r.ResourceNames, []string{"inzone"}) {
				t.Errorf("webhook configuration access not limited to inzone's: %+v", r)
			}
		}
	}},
	{name: "cert-manager with its own CA", sets: []string{"certs.mode=cert-manager"}, kinds: certManagerKinds, check: func(t *testing.T, objs []*unstructured.Unstructured) {
		mwc := find(t, objs, "MutatingWebhookConfiguration", "")
		if got := mwc.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != "inzone-system/inzone-webhook" {
			t.Errorf("inject-ca-from = %q, want the serving Certificate inzone-system/inzone-webhook", got)
		}
		cert := find(t, objs, "Certificate", "inzone-webhook")
		if got, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName"); got != "inzone-webhook-cert" {
			t.Errorf("the Certificate writes %q, not the Secret the Deployment mounts", got)
		}
		if got, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name"); got != "inzone-ca" {
			t.Errorf("serving certificate issued by %q, want the chart's CA issuer", got)
		}
		for _, a := range deployment(t, objs).Spec.Template.Spec.Containers[0].Args {
			if strings.HasPrefix(a, "--cert-") && !strings.HasPrefix(a, "--cert-dir=") {
				t.Errorf("with cert-manager the webhook must not manage certificates: %s", a)
			}
		}
		// Only Services are read: no Secret or webhook configuration access.
		cr := into[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", webhookName))
		if len(cr.Rules) != 1 || !reflect.DeepEqual(cr.Rules[0].Resources, []string{"services"}) {
			t.Errorf("ClusterRole rules = %+v, want only services", cr.Rules)
		}
	}},
	{name: "cert-manager with a given issuer", sets: []string{"certs.mode=cert-manager", "certs.certManager.issuerRef.name=corp-ca", "certs.certManager.issuerRef.kind=ClusterIssuer"},
		kinds: withXDS([]string{"Certificate", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "MutatingWebhookConfiguration", "PodDisruptionBudget", "Service", "ServiceAccount"}),
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			cert := find(t, objs, "Certificate", "")
			ref, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
			if ref["name"] != "corp-ca" || ref["kind"] != "ClusterIssuer" {
				t.Errorf("issuerRef = %v", ref)
			}
		}},
	{name: "ServiceMonitor", sets: []string{"metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prom"},
		kinds: withXDS(append(slices.Clone(webhookSelfManagedKinds), "ServiceMonitor")),
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			sm := find(t, objs, "ServiceMonitor", "")
			if sm.GetLabels()["release"] != "prom" {
				t.Errorf("ServiceMonitor labels %v lack release=prom", sm.GetLabels())
			}
			eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
			svc := into[corev1.Service](t, find(t, objs, "Service", webhookName))
			if len(eps) != 1 || eps[0].(map[string]any)["port"] != svc.Spec.Ports[1].Name {
				t.Errorf("ServiceMonitor endpoints %v do not name the Service's metrics port %q", eps, svc.Spec.Ports[1].Name)
			}
		}},
	{name: "metrics off", sets: []string{"metrics.enabled=false", "metrics.serviceMonitor.enabled=true"}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			c := deployment(t, objs).Spec.Template.Spec.Containers[0]
			if !slices.Contains(c.Args, "--metrics-bind-address=0") {
				t.Errorf("metrics still served: %q", c.Args)
			}
			if len(into[corev1.Service](t, find(t, objs, "Service", webhookName)).Spec.Ports) != 1 {
				t.Error("the Service still has a metrics port")
			}
		}},
	{name: "one replica has no PDB", sets: []string{"replicaCount=1"},
		kinds: withXDS(slices.DeleteFunc(slices.Clone(webhookSelfManagedKinds), func(k string) bool { return k == "PodDisruptionBudget" }))},
	{name: "failurePolicy Ignore and a longer timeout", sets: []string{"webhook.failurePolicy=Ignore", "webhook.timeoutSeconds=10"}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if hook := webhookOf(t, objs); *hook.FailurePolicy != admissionv1.Ignore || *hook.TimeoutSeconds != 10 {
				t.Errorf("failurePolicy %s, timeout %d", *hook.FailurePolicy, *hook.TimeoutSeconds)
			}
		}},
	{name: "extra excluded namespaces and other labels", sets: []string{"webhook.excludeNamespaces={monitoring,kube-system}", "webhook.namespaceLabels.mesh=on"}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			sel := namespaceSelector(t, objs)
			if sel.Matches(labels.Set{"kubernetes.io/metadata.name": "monitoring", "mesh": "on", mutate.LabelInject: mutate.InjectEnabled}) {
				t.Error("an excluded namespace is selected")
			}
			if !sel.Matches(labels.Set{"kubernetes.io/metadata.name": "shop", "mesh": "on", mutate.LabelInject: mutate.InjectEnabled}) {
				t.Error("a namespace with every label is not selected")
			}
		}},
	{name: "no Service discovery and cert-manager: no ClusterRole", sets: []string{"config.ddsd.discoverServices=false", "certs.mode=cert-manager"},
		kinds: withXDS(slices.DeleteFunc(slices.Clone(webhookCertManagerKinds), func(k string) bool { return k == "ClusterRole" || k == "ClusterRoleBinding" }))},
	{name: "image by digest", sets: []string{"image.digest=sha256:" + strings.Repeat("ab", 32)}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if got := deployment(t, objs).Spec.Template.Spec.Containers[0].Image; got != "ghcr.io/inzone-io/inzone@sha256:"+strings.Repeat("ab", 32) {
				t.Errorf("image = %s", got)
			}
		}},
	{name: "scheduling and pod metadata", sets: []string{"priorityClassName=system-cluster-critical", "nodeSelector.pool=system",
		"tolerations[0].key=dedicated", "tolerations[0].operator=Exists", "podAnnotations.team=platform", "podLabels.team=platform",
		"imagePullSecrets[0].name=regcred", "podDisruptionBudget.minAvailable=50%"}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			spec := deployment(t, objs).Spec.Template
			if spec.Spec.PriorityClassName != "system-cluster-critical" || spec.Spec.NodeSelector["pool"] != "system" ||
				len(spec.Spec.Tolerations) != 1 || spec.Spec.Tolerations[0].Key != "dedicated" ||
				spec.Annotations["team"] != "platform" || spec.Labels["team"] != "platform" ||
				len(spec.Spec.ImagePullSecrets) != 1 || spec.Spec.ImagePullSecrets[0].Name != "regcred" {
				t.Errorf("pod template = %+v", spec)
			}
			if spec.Annotations["checksum/config"] == "" {
				t.Error("podAnnotations replaced the config checksum")
			}
			pdb := find(t, objs, "PodDisruptionBudget", webhookName)
			if got, _, _ := unstructured.NestedString(pdb.Object, "spec", "minAvailable"); got != "50%" {
				t.Errorf("PDB minAvailable = %q", got)
			}
		}},
	{name: "ports, logging, HTTP/2 and certificate lifetimes", sets: []string{"webhook.port=10443", "metrics.port=9090", "healthPort=9091",
		"logLevel=debug", "webhook.enableHTTP2=true", "webhook.shutdownDelay=10s", "certs.selfManaged.validity=720h", "certs.selfManaged.renewBefore=240h", "certs.selfManaged.checkInterval=1h"},
		kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			c := deployment(t, objs).Spec.Template.Spec.Containers[0]
			for _, want := range []string{"--port=10443", "--metrics-bind-address=:9090", "--health-probe-bind-address=:9091", "--zap-log-level=debug",
				"--enable-http2=true", "--shutdown-delay=10s", "--cert-validity=720h", "--cert-renew-before=240h", "--cert-check-interval=1h"} {
				if !slices.Contains(c.Args, want) {
					t.Errorf("args lack %s: %q", want, c.Args)
				}
			}
			ports := map[string]int32{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			if ports["https-webhook"] != 10443 || ports["http-metrics"] != 9090 || ports["http-health"] != 9091 {
				t.Errorf("container ports = %v", ports)
			}
		}},
	{name: "PDB off", sets: []string{"podDisruptionBudget.enabled=false"},
		kinds: withXDS(slices.DeleteFunc(slices.Clone(webhookSelfManagedKinds), func(k string) bool { return k == "PodDisruptionBudget" }))},
	{name: "config overrides reach the ConfigMap", sets: []string{"config.ddsd.env=staging", "config.spread.whenUnsatisfiable=DoNotSchedule", "config.ddsd.elbs.internal-api-1234\\.us-east-1\\.elb\\.amazonaws\\.com=api"}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			cfg := configOf(t, objs)
			if cfg.DDSD.Env != "staging" || cfg.Spread.WhenUnsatisfiable != corev1.DoNotSchedule || cfg.DDSD.ELBs["internal-api-1234.us-east-1.elb.amazonaws.com"] != "api" {
				t.Errorf("config = %+v %+v", cfg.DDSD, cfg.Spread)
			}
		}},
	{name: "capture.cni.enabled installs inzone-cni on every node", sets: []string{"capture.cni.enabled=true", "config.sidecar.capture.mode=cni"},
		kinds: sortedKinds(append(slices.Clone(selfManagedKinds), "ClusterRole", "ClusterRoleBinding", "DaemonSet", "ServiceAccount")),
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if cfg := configOf(t, objs); cfg.Sidecar.Capture.Mode != mutate.CaptureCNI {
				t.Errorf("capture mode = %s", cfg.Sidecar.Capture.Mode)
			}
			ds := into[appsv1.DaemonSet](t, find(t, objs, "DaemonSet", "inzone-cni"))
			spec := ds.Spec.Template.Spec
			c := spec.Containers[0]
			if !spec.HostNetwork || !slices.Equal(c.Command, []string{"inzone-cni", "install"}) || !strings.HasPrefix(c.Image, "ghcr.io/inzone-io/inzone:") {
				t.Errorf("DaemonSet: hostNetwork %v, command %v, image %s", spec.HostNetwork, c.Command, c.Image)
			}
			if len(spec.Volumes) != 2 || spec.Volumes[0].HostPath.Path != "/opt/cni/bin" || spec.Volumes[1].HostPath.Path != "/etc/cni/net.d" {
				t.Errorf("volumes = %+v", spec.Volumes)
			}
			if ds.Spec.Template.Labels["inzone.io/inject"] != "false" {
				t.Error("the CNI installer must not get a sidecar")
			}
			role := into[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", "inzone-cni"))
			if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].Resources, []string{"pods"}) || !slices.Equal(role.Rules[0].Verbs, []string{"get"}) {
				t.Errorf("the plugin may only get pods: %+v", role.Rules)
			}
		}},
}

func sortedKinds(k []string) []string { slices.Sort(k); return k }

// TestChartToggles runs helm lint --strict and helm template for the
// defaults and every toggle, and checks the invariants on each rendering.
func TestChartToggles(t *testing.T) {
	for _, tt := range toggles {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := helm(t, append([]string{"lint", "--strict", chartDir(t), "--namespace", namespace}, envtest.SetArgs(tt.sets)...)...); err != nil {
				t.Fatal(err)
			}
			raw, objs := render(t, tt.sets...)
			got := kinds(objs)
			sort.Strings(got)
			if !slices.Equal(got, tt.kinds) {
				t.Errorf("rendered kinds\n got %v\nwant %v", got, tt.kinds)
			}
			checkInvariants(t, raw, objs)
			if tt.check != nil {
				tt.check(t, objs)
			}
		})
	}
}

// checkInvariants are what no value may break.
func checkInvariants(t *testing.T, raw []byte, objs []*unstructured.Unstructured) {
	t.Helper()
	if bytes.Contains(raw, []byte("PRIVATE KEY")) {
		t.Error("a rendering carries key material")
	}
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			if _, has := o.Object["data"]; has {
				t.Errorf("Secret %s is rendered with data", o.GetName())
			}
		}
		if !slices.Contains(clusterScopedKinds, o.GetKind()) && o.GetNamespace() != namespace {
			t.Errorf("%s %s is in namespace %q, not the release's", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}

	// The webhook configuration: pods, CREATE only, no side effects.
	hook := webhookOf(t, objs)
	if len(hook.ClientConfig.CABundle) != 0 {
		t.Error("the chart renders a caBundle; it must come from the webhook or cert-manager")
	}
	if len(hook.Rules) != 1 || !slices.Equal(hook.Rules[0].Operations, []admissionv1.OperationType{admissionv1.Create}) ||
		!slices.Equal(hook.Rules[0].Resources, []string{"pods"}) {
		t.Errorf("rules = %+v, want pods CREATE only", hook.Rules)
	}
	if *hook.SideEffects != admissionv1.SideEffectClassNone || *hook.ReinvocationPolicy != admissionv1.IfNeededReinvocationPolicy ||
		!slices.Equal(hook.AdmissionReviewVersions, []string{"v1"}) {
		t.Errorf("sideEffects %s, reinvocation %s, versions %v", *hook.SideEffects, *hook.ReinvocationPolicy, hook.AdmissionReviewVersions)
	}
	// Never the control plane's namespaces or inzone's own, even labelled
	// for injection.
	sel := namespaceSelector(t, objs)
	nsLabels := func(name string) labels.Set {
		l := labels.Set{"kubernetes.io/metadata.name": name, mutate.LabelInject: mutate.InjectEnabled, "mesh": "on"}
		return l
	}
	for _, ns := range []string{"kube-system", "kube-public", "kube-node-lease", namespace} {
		if sel.Matches(nsLabels(ns)) {
			t.Errorf("the namespaceSelector selects %s", ns)
		}
	}
	if !sel.Matches(nsLabels("shop")) {
		t.Error("the namespaceSelector does not select a labelled namespace")
	}
	if sel.Matches(labels.Set{"kubernetes.io/metadata.name": "shop"}) {
		t.Error("the namespaceSelector selects an unlabelled namespace")
	}
	// Never inzone's own pods.
	d := deployment(t, objs)
	objSel, err := metav1.LabelSelectorAsSelector(hook.ObjectSelector)
	if err != nil {
		t.Fatal(err)
	}
	if objSel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("the objectSelector matches inzone's own pods %v", d.Spec.Template.Labels)
	}
	if !objSel.Matches(labels.Set{"app": "shop"}) {
		t.Error("the objectSelector does not match an ordinary pod")
	}
	// The service the webhook configuration calls selects the Deployment's pods.
	svc := into[corev1.Service](t, find(t, objs, "Service", webhookName))
	if hook.ClientConfig.Service == nil || hook.ClientConfig.Service.Name != svc.Name || *hook.ClientConfig.Service.Port != svc.Spec.Ports[0].Port {
		t.Errorf("clientConfig %+v does not point at Service %s", hook.ClientConfig, svc.Name)
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Error("the Service does not select the webhook pods")
	}

	// The Deployment: restricted, probed, spread, with resources.
	eval, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range eval.EvaluatePod(psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}, &d.Spec.Template.ObjectMeta, &d.Spec.Template.Spec) {
		if !r.Allowed {
			t.Errorf("Pod Security Standard restricted: %s: %s", r.ForbiddenReason, r.ForbiddenDetail)
		}
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("probes are not on /healthz and /readyz")
	}
	if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("the root filesystem is writable")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v lack a cpu request or a memory limit", c.Resources)
	}
	spread := d.Spec.Template.Spec.TopologySpreadConstraints
	if len(spread) != 1 || spread[0].TopologyKey != "topology.kubernetes.io/zone" || spread[0].LabelSelector == nil {
		t.Errorf("topologySpreadConstraints = %+v", spread)
	}
	if a := d.Spec.Template.Spec.Affinity; a == nil || a.PodAntiAffinity == nil {
		t.Error("no anti-affinity for its own replicas")
	}
	if d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Error("a rollout may take replicas down before new ones are ready")
	}
	if pdb := findNamed(objs, "PodDisruptionBudget", webhookName); pdb != nil {
		sel, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels")
		if !labels.SelectorFromSet(sel).Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Error("the PodDisruptionBudget does not select the webhook pods")
		}
	}

	// The config is one the webhook accepts.
	configOf(t, objs)
	checkXDSInvariants(t, objs)
}

// TestDefaultValuesConfigIsTheBuiltInDefault keeps values.yaml's config in
// step with the engine's defaults, so the chart documents what runs.
func TestDefaultValuesConfigIsTheBuiltInDefault(t *testing.T) {
	_, objs := render(t)
	got := configOf(t, objs)
	// Semantic: an empty map in values equals the engine's nil one.
	if want := mutate.DefaultConfig(); !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("values.yaml config differs from mutate.DefaultConfig():\n got %+v\nwant %+v", got, want)
	}
}

// TestSchemaRejectsBadValues checks that values.schema.json fails a bad
// value at helm time, naming it, instead of a webhook that crash-loops.
func TestSchemaRejectsBadValues(t *testing.T) {
	tests := []struct {
		set, want string
	}{
		{"replicaCount=0", "/replicaCount"},
		{"webhook.failurePolicy=Never", "/webhook/failurePolicy"},
		{"webhook.timeoutSeconds=60", "/webhook/timeoutSeconds"},
		{"webhook.port=443", "/webhook/port"},
		{"webhook.shutdownDelay=1h", "/webhook/shutdownDelay"},
		{"certs.mode=manual", "/certs/mode"},
		{"certs.selfManaged.validity=1year", "/certs/selfManaged/validity"},
		{"config.spread.maxSkew=0", "/config/spread/maxSkew"},
		{"config.spread.maxskew=2", "maxskew"},
		{"config.sidecar.logLevel=loud", "/config/sidecar/logLevel"},
		{"config.sidecar.uid=0", "/config/sidecar/uid"},
		{"config.zoneEnv.source=node", "/config/zoneEnv/source"},
		{"config.ddsd.elbs.example\\.com=api", "example.com"},
		{"string:podLabels.inzone\\.io/inject=true", "/podLabels"},
		{"image.digest=latest", "/image/digest"},
		{"nosuchvalue=1", "nosuchvalue"},
		{"xds.dns.port=53", "/xds/dns/port"},
		{"xds.dns.clusterIP=ten.0.0.1", "/xds/dns/clusterIP"},
		{"xds.replicaCount=0", "/xds/replicaCount"},
		{"xds.nosuch=1", "nosuch"},
		{"config.ddsd.dns=coredns", "/config/ddsd/dns"},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			_, err := helm(t, append([]string{"template", release, chartDir(t), "--namespace", namespace}, envtest.SetArgs([]string{tt.set})...)...)
			if err == nil {
				t.Fatalf("helm template accepted %s", tt.set)
			}
			if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not name %s as a schema violation:\n%v", tt.want, err)
			}
		})
	}
}

func deployment(t testing.TB, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	return into[appsv1.Deployment](t, find(t, objs, "Deployment", webhookName))
}

func webhookOf(t testing.TB, objs []*unstructured.Unstructured) admissionv1.MutatingWebhook {
	t.Helper()
	mwc := into[admissionv1.MutatingWebhookConfiguration](t, find(t, objs, "MutatingWebhookConfiguration", ""))
	if len(mwc.Webhooks) != 1 {
		t.Fatalf("want one webhook, got %d", len(mwc.Webhooks))
	}
	return mwc.Webhooks[0]
}

func namespaceSelector(t testing.TB, objs []*unstructured.Unstructured) labels.Selector {
	t.Helper()
	hook := webhookOf(t, objs)
	sel, err := metav1.LabelSelectorAsSelector(hook.NamespaceSelector)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// configOf loads the ConfigMap's config as the webhook does.
func configOf(t testing.TB, objs []*unstructured.Unstructured) *mutate.Config {
	t.Helper()
	cm := into[corev1.ConfigMap](t, find(t, objs, "ConfigMap", ""))
	cfg, err := mutate.LoadConfig([]byte(cm.Data["config.yaml"]), "configmap:config.yaml")
	if err != nil {
		t.Fatalf("the webhook rejects the rendered config: %v", err)
	}
	return cfg
}

// findNamed returns the object of kind and name, nil when there is none.
func findNamed(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}
