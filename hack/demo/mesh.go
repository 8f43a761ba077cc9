package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/test/envtest"
)

// zones are the demo's availability zones, one Node each.
var zones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// ordersPort is the port of the orders Service, the one the web pod's
// ORDERS_URL names.
const ordersPort = 8080

// ordersZones places the orders pods: uneven on purpose, as zones are.
var ordersZones = []string{"us-east-1a", "us-east-1a", "us-east-1b", "us-east-1c"}

func nodeName(zone string) string { return "node-" + zone }

// createNodes creates one Ready Node per zone, labelled with its zone and
// region.
func createNodes(ctx context.Context, env *envtest.Env) error {
	for _, z := range zones {
		if _, err := env.CreateNode(ctx, envtest.NodeSpec{Name: nodeName(z), Zone: z}); err != nil {
			return err
		}
	}
	return nil
}

// bind does what the scheduler does: the pods/binding subresource, on
// which the API server's PodTopologyLabels admission copies the Node's
// zone and region labels onto the pod. The harness's Kubelet then makes
// the pod Running and Ready with an IP.
func bind(ctx context.Context, c client.Client, pod *corev1.Pod, zone string) error {
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
		Target:     corev1.ObjectReference{Kind: "Node", Name: nodeName(zone)},
	}
	if err := c.SubResource("binding").Create(ctx, pod, b); err != nil {
		return fmt.Errorf("binding pod %s to %s: %w", pod.Name, nodeName(zone), err)
	}
	return nil
}

// createOrders creates the callee: the orders Service and its pods, bound
// over the zones of ordersZones (no Deployment: no scheduler runs here).
// kube-controller-manager's EndpointSlice controller publishes them once
// the Kubelet made them Ready.
func createOrders(ctx context.Context, w io.Writer, c client.Client, ns string) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "orders"}, Ports: []corev1.ServicePort{{
			Name: "http", Port: ordersPort, TargetPort: intstr.FromInt32(ordersPort), Protocol: corev1.ProtocolTCP,
		}}},
	}
	if err := c.Create(ctx, svc); err != nil {
		return fmt.Errorf("creating Service orders: %w", err)
	}
	for i, zone := range ordersZones {
		pod := examplePod(ns, fmt.Sprintf("orders-%d", i+1), map[string]string{"app": "orders"}, nil, nil)
		pod.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: ordersPort}}
		if err := c.Create(ctx, pod); err != nil {
			return fmt.Errorf("creating pod %s: %w", pod.Name, err)
		}
		if err := bind(ctx, c, pod, zone); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "Service orders (port %d) with %d pods bound to nodes in %s\n", ordersPort, len(ordersZones), strings.Join(ordersZones, ", "))
	return nil
}

// waitOrdersSlices waits until the EndpointSlice controller published every
// orders pod ready with its zone, and prints the slices.
func waitOrdersSlices(ctx context.Context, w io.Writer, c client.Client, ns string) error {
	var ready []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		list := &discoveryv1.EndpointSliceList{}
		if err := c.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: "orders"}); err != nil {
			return false, err
		}
		ready = ready[:0]
		for _, s := range list.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready && e.Zone != nil {
					ready = append(ready, fmt.Sprintf("%s %s", *e.Zone, strings.Join(e.Addresses, ",")))
				}
			}
		}
		return len(ready) == len(ordersZones), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the EndpointSlices of orders (%d of %d ready with a zone): %w", len(ready), len(ordersZones), err)
	}
	slices.Sort(ready)
	fmt.Fprintf(w, "kube-controller-manager's EndpointSlice controller published them: %s\n\n", strings.Join(ready, "; "))
	return nil
}
