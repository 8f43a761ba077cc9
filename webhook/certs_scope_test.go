package webhook

import (
	"net/http"
	"testing"
)

type recordRT struct{ got *http.Request }

func (r *recordRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = req
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}

func TestNameSelector(t *testing.T) {
	names := map[string]string{
		"/api/v1/namespaces/inzone-system/secrets":                            "inzone-webhook-cert",
		"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations": "inzone",
	}
	for _, tt := range []struct {
		name, method, url, want string
	}{
		{"a Secret list selects the one Secret", http.MethodGet, "https://api/api/v1/namespaces/inzone-system/secrets?limit=500",
			"fieldSelector=metadata.name%3Dinzone-webhook-cert&limit=500"},
		{"a Secret watch too", http.MethodGet, "https://api/api/v1/namespaces/inzone-system/secrets?watch=true&resourceVersion=1",
			"fieldSelector=metadata.name%3Dinzone-webhook-cert&resourceVersion=1&watch=true"},
		{"a webhook configuration list", http.MethodGet, "https://api/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
			"fieldSelector=metadata.name%3Dinzone"},
		{"a get by name is left alone", http.MethodGet, "https://api/api/v1/namespaces/inzone-system/secrets/inzone-webhook-cert", ""},
		{"an update is left alone", http.MethodPut, "https://api/api/v1/namespaces/inzone-system/secrets?x=1", "x=1"},
		{"another namespace's Secrets are left alone", http.MethodGet, "https://api/api/v1/namespaces/other/secrets", ""},
		{"an existing field selector is kept", http.MethodGet, "https://api/api/v1/namespaces/inzone-system/secrets?fieldSelector=type%3Dx", "fieldSelector=type%3Dx"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordRT{}
			req, err := http.NewRequest(tt.method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := (nameSelector{next: rec, names: names}).RoundTrip(req); err != nil {
				t.Fatal(err)
			}
			if got := rec.got.URL.RawQuery; got != tt.want {
				t.Errorf("query = %q, want %q", got, tt.want)
			}
		})
	}
}
