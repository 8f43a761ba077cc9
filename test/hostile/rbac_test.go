package hostile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/test/envtest"
)

// TestServiceAccountMayChangeOnlyTheCABundle installs the chart's RBAC,
// webhook configuration and ValidatingAdmissionPolicy, then acts as the
// webhook's ServiceAccount: widening the webhook's rules to Secrets (the
// escalation of issue 15) is refused by the API server, even as a dry run,
// while the caBundle update the certificate rotation needs is allowed; and
// of the Secrets in its namespace it can list and read only its own.
func TestServiceAccountMayChangeOnlyTheCABundle(t *testing.T) {
	env := envtest.For(t)
	c := ctx(t)
	// A release of its own: the harness's webhook configuration is "inzone".
	dir, err := envtest.ChartDir()
	if err != nil {
		t.Fatal(err)
	}
	out, err := envtest.Helm(c, "template", "hostile", dir, "--namespace", envtest.ChartNamespace)
	if errors.Is(err, envtest.ErrNoHelm) {
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	objs, err := envtest.DecodeObjects(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.EnsureNamespace(c, envtest.ChartNamespace, nil); err != nil {
		t.Fatal(err)
	}
	var mwcName, sa string
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
		case "ServiceAccount":
			if !strings.HasSuffix(o.GetName(), "-xds") { // inzone-xds has its own
				sa = o.GetName()
			}
		default:
			continue
		}
		if o.GetKind() == "MutatingWebhookConfiguration" {
			mwcName = o.GetName()
			o = withoutSelectedPods(t, o)
		}
		if err := env.Apply(c, o); err != nil {
			t.Fatalf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx(t), o) })
	}
	if mwcName == "" || sa == "" {
		t.Fatal("the chart renders no MutatingWebhookConfiguration or ServiceAccount")
	}
	asSA := rest.CopyConfig(env.Config)
	asSA.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + envtest.ChartNamespace + ":" + sa,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + envtest.ChartNamespace, "system:authenticated"}}
	saClient, err := client.New(asSA, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	escalate := func(dryRun bool) error {
		cur := &admissionv1.MutatingWebhookConfiguration{}
		if err := saClient.Get(c, client.ObjectKey{Name: mwcName}, cur); err != nil {
			return fmt.Errorf("the ServiceAccount cannot read its webhook configuration: %w", err)
		}
		cur.Webhooks[0].Rules = append(cur.Webhooks[0].Rules, admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
			Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}},
		})
		var opts []client.UpdateOption
		if dryRun {
			opts = append(opts, client.DryRunAll)
		}
		return saClient.Update(c, cur, opts...)
	}
	// The API server loads a new policy, and the RBAC authorizer a new
	// binding, asynchronously: dry runs until the policy refuses, bounded.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := escalate(true)
		if err != nil && strings.Contains(err.Error(), "only clientConfig.caBundle") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("widening the rules as the ServiceAccount (dry run): err = %v, want the policy's refusal", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := escalate(false); err == nil || !strings.Contains(err.Error(), "only clientConfig.caBundle") {
		t.Errorf("widening the rules as the ServiceAccount: err = %v, want the policy's refusal", err)
	}
	for name, change := range map[string]func(w *admissionv1.MutatingWebhook){
		"the URL":               func(w *admissionv1.MutatingWebhook) { w.ClientConfig.Service.Name = "attacker" },
		"the namespaceSelector": func(w *admissionv1.MutatingWebhook) { w.NamespaceSelector = nil },
		"the failurePolicy":     func(w *admissionv1.MutatingWebhook) { p := admissionv1.Ignore; w.FailurePolicy = &p },
	} {
		cur := &admissionv1.MutatingWebhookConfiguration{}
		if err := saClient.Get(c, client.ObjectKey{Name: mwcName}, cur); err != nil {
			t.Fatal(err)
		}
		change(&cur.Webhooks[0])
		if err := saClient.Update(c, cur, client.DryRunAll); err == nil {
			t.Errorf("changing %s as the ServiceAccount was allowed", name)
		}
	}

	cur := &admissionv1.MutatingWebhookConfiguration{}
	if err := saClient.Get(c, client.ObjectKey{Name: mwcName}, cur); err != nil {
		t.Fatal(err)
	}
	for i := range cur.Webhooks {
		cur.Webhooks[i].ClientConfig.CABundle = env.Config.CAData
	}
	if err := saClient.Update(c, cur); err != nil {
		t.Errorf("updating the caBundle as the ServiceAccount: %v", err)
	}
	// Secrets: the ServiceAccount reads its own, by name, list included,
	// and no other Secret of the namespace.
	secretName := strings.TrimSuffix(sa, "-webhook") + "-webhook-cert"
	for _, name := range []string{secretName, "other-app-credentials"} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: envtest.ChartNamespace, Name: name}, Data: map[string][]byte{"k": []byte("v")}}
		if err := env.Client.Create(c, s); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx(t), s) })
	}
	var list corev1.SecretList
	if err := saClient.List(c, &list, client.InNamespace(envtest.ChartNamespace)); !apierrors.IsForbidden(err) {
		t.Errorf("listing every Secret of %s as the ServiceAccount: err = %v, want Forbidden", envtest.ChartNamespace, err)
	}
	if err := saClient.List(c, &list, client.InNamespace(envtest.ChartNamespace), client.MatchingFields{"metadata.name": secretName}); err != nil || len(list.Items) != 1 {
		t.Errorf("listing its own Secret by name: %d items, err %v; want 1", len(list.Items), err)
	}
	if err := saClient.Get(c, client.ObjectKey{Namespace: envtest.ChartNamespace, Name: "other-app-credentials"}, &corev1.Secret{}); !apierrors.IsForbidden(err) {
		t.Errorf("reading another Secret as the ServiceAccount: err = %v, want Forbidden", err)
	}

	// The policy binds the ServiceAccount only: an administrator may still
	// change the rules.
	admin := &admissionv1.MutatingWebhookConfiguration{}
	if err := env.Client.Get(c, client.ObjectKey{Name: mwcName}, admin); err != nil {
		t.Fatal(err)
	}
	admin.Webhooks[0].TimeoutSeconds = ptrTo[int32](7)
	if err := env.Client.Update(c, admin, client.DryRunAll); err != nil {
		t.Errorf("an administrator's change was refused: %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }

// withoutSelectedPods makes the chart's webhook configuration select no pod,
// so installing it does not send the package's other pods to a webhook
// that is not running.
func withoutSelectedPods(t *testing.T, o *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	o = o.DeepCopy()
	hooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
	for i := range hooks {
		h := hooks[i].(map[string]any)
		h["objectSelector"] = map[string]any{"matchLabels": map[string]any{"inzone-hostile/never": "true"}}
	}
	if err := unstructured.SetNestedSlice(o.Object, hooks, "webhooks"); err != nil {
		t.Fatal(err)
	}
	return o
}
