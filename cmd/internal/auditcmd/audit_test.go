package auditcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/inzone-io/inzone/audit"
	"github.com/inzone-io/inzone/cmd/internal/cli"
)

func auditObjects() []runtime.Object {
	objs := []runtime.Object{}
	nodes := map[string]string{"a1": "zone-a", "b1": "zone-b", "c1": "zone-c", "x1": ""}
	for name, zone := range nodes {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
		if zone != "" {
			n.Labels[corev1.LabelTopologyZone] = zone
		}
		objs = append(objs, n)
	}
	for i, n := range []string{"a1", "a1", "a1", "a1", "b1", "c1"} {
		objs = append(objs, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: fmt.Sprintf("web-%d", i), Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{NodeName: n, Containers: []corev1.Container{{Name: "app"}}},
		})
	}
	objs = append(objs,
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
		},
		&discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "shop", Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.0.0.1"}, Zone: ptr.To("zone-a")}, {Addresses: []string{"10.0.0.2"}, Zone: ptr.To("zone-a")},
				{Addresses: []string{"10.0.0.3"}, Zone: ptr.To("zone-b")}, {Addresses: []string{"10.0.0.4"}, Zone: ptr.To("zone-b")},
				{Addresses: []string{"10.0.0.5"}, Zone: ptr.To("zone-c")}, {Addresses: []string{"10.0.0.6"}, Zone: ptr.To("zone-c")},
			},
		},
	)
	return objs
}

func runAudit(t *testing.T, o *Options) (string, error) {
	t.Helper()
	var out bytes.Buffer
	o.streams = cli.Streams{Out: &out, Err: &out}
	if err := o.Validate(); err != nil {
		return "", err
	}
	if err := o.Complete(); err != nil {
		return "", err
	}
	err := o.Run(context.Background())
	return out.String(), err
}

func TestAuditJSON(t *testing.T) {
	o := &Options{Client: fake.NewClientset(auditObjects()...), AllNamespaces: true, Output: "json"}
	out, err := runAudit(t, o)
	if err != nil {
		t.Fatal(err)
	}
	var rep audit.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Workloads) != 1 || rep.Workloads[0].Skew != 3 {
		t.Errorf("workloads = %+v", rep.Workloads)
	}
	if strings.Join(rep.NodesWithoutZone, ",") != "x1" {
		t.Errorf("nodes without zone = %v", rep.NodesWithoutZone)
	}
	if len(rep.Services) != 1 || rep.Services[0].ZoneAwareCrossZone < 0.333 || rep.Services[0].ZoneAwareCrossZone > 0.334 {
		t.Errorf("services = %+v", rep.Services)
	}
	if len(rep.Coverage) != 1 || rep.Coverage[0].WithoutProxy != 6 || rep.Coverage[0].Reasons[audit.ReasonNotInjected] != 6 {
		t.Errorf("coverage = %+v", rep.Coverage)
	}
}

func TestAuditTable(t *testing.T) {
	o := &Options{Client: fake.NewClientset(auditObjects()...), AllNamespaces: true, Output: "table"}
	out, err := runAudit(t, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"app/web", "zone-a=4 zone-b=1 zone-c=1", "x1", "33.3%", "66.7%", "service-no-topology-aware-routing"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestAuditPages(t *testing.T) {
	c := fake.NewClientset(auditObjects()...)
	var seen []metav1.ListOptions
	c.PrependReactor("list", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		opts := a.(clienttesting.ListActionImpl).GetListOptions()
		seen = append(seen, opts)
		mk := func(name string) corev1.Pod {
			return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Labels: map[string]string{"app": "paged"}}, Spec: corev1.PodSpec{NodeName: "b1"}}
		}
		if opts.Continue == "" {
			return true, &corev1.PodList{ListMeta: metav1.ListMeta{Continue: "page2"}, Items: []corev1.Pod{mk("p1")}}, nil
		}
		return true, &corev1.PodList{Items: []corev1.Pod{mk("p2")}}, nil
	})
	out, err := runAudit(t, &Options{Client: c, AllNamespaces: true, Output: "json"})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0].Limit != PageSize || seen[1].Continue != "page2" || seen[1].Limit != PageSize {
		t.Errorf("list options = %+v", seen)
	}
	var rep audit.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Workloads) != 1 || rep.Workloads[0].Pods != 2 {
		t.Errorf("workloads = %+v", rep.Workloads)
	}
}

func TestAuditForbidden(t *testing.T) {
	c := fake.NewClientset(auditObjects()...)
	c.PrependReactor("list", "endpointslices", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, "", fmt.Errorf("RBAC: nope"))
	})
	o := &Options{Client: c, Output: "table"}
	o.namespace = "shop"
	var out bytes.Buffer
	o.streams = cli.Streams{Out: &out, Err: &out}
	err := o.Run(context.Background())
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"forbidden", "cannot list endpointslices.discovery.k8s.io in namespace shop", "get and list"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestAuditValidate(t *testing.T) {
	for _, o := range []*Options{{Output: "xml"}, {Output: "json", Timeout: -time.Second}, {Output: "json", PricePerGB: -1}, {Output: "json", CrossZoneThreshold: 1.5}, {Output: "json", MinClusterSize: -1}} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: want an error", o)
		}
	}
}
