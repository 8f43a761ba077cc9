package webhook

import (
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// nameScopedManager is the manager handed to cert-controller, whose cache
// lists and watches every Secret of its namespace and every
// MutatingWebhookConfiguration (it takes no per-object options). Its config
// adds a metadata.name field selector to those list and watch requests, so
// they read only the one Secret and the one configuration: the API server
// then authorizes them by name, and the chart's RBAC grants list and watch
// on resourceNames only, not on every Secret of the namespace.
type nameScopedManager struct {
	manager.Manager
	cfg *rest.Config
}

func (m nameScopedManager) GetConfig() *rest.Config { return m.cfg }

func newNameScopedManager(mgr manager.Manager, secret types.NamespacedName, webhookConfiguration string) manager.Manager {
	cfg := rest.CopyConfig(mgr.GetConfig())
	names := map[string]string{
		"/api/v1/namespaces/" + secret.Namespace + "/secrets":                 secret.Name,
		"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations": webhookConfiguration,
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return nameSelector{next: rt, names: names} })
	return nameScopedManager{Manager: mgr, cfg: cfg}
}

// nameSelector adds fieldSelector=metadata.name=<name> to GETs of the
// collections in names (list and watch) that select no field yet.
type nameSelector struct {
	next  http.RoundTripper
	names map[string]string // collection path -> the one name to read
}

func (s nameSelector) RoundTrip(req *http.Request) (*http.Response, error) {
	name, ok := s.names[strings.TrimSuffix(req.URL.Path, "/")]
	if !ok || req.Method != http.MethodGet || req.URL.Query().Has("fieldSelector") {
		return s.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	q := req.URL.Query()
	q.Set("fieldSelector", fields.OneTermEqualSelector("metadata.name", name).String())
	req.URL.RawQuery = q.Encode()
	return s.next.RoundTrip(req)
}
