package placement

import (
	"context"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/test/envtest"
)

// uneven is 4, 2 and 1 nodes, room to spare.
var uneven = layout{zones: []zoneNodes{{zoneA, 4, 0}, {zoneB, 2, 0}, {zoneC, 1, 0}}}

// updateDeployment applies change to the stored Deployment, retrying on
// conflicts with the controllers.
func updateDeployment(t *testing.T, ns, name string, change func(*appsv1.Deployment)) {
	t.Helper()
	env := envtest.For(t)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d := &appsv1.Deployment{}
		if err := env.Client.Get(ctx(t, 30*time.Second), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
			return err
		}
		change(d)
		return env.Client.Update(ctx(t, 30*time.Second), d)
	})
	if err != nil {
		t.Fatalf("updating Deployment %s/%s: %v", ns, name, err)
	}
}

// newReplicaSetHash waits for the Deployment's newest ReplicaSet (highest
// revision) to be another than the one of pod-template-hash old, and
// returns its hash.
func newReplicaSetHash(t *testing.T, ns, name, old string) string {
	t.Helper()
	env := envtest.For(t)
	var hash string
	err := wait.PollUntilContextTimeout(ctx(t, time.Minute), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list := &appsv1.ReplicaSetList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"app": name}); err != nil {
			return false, nil
		}
		newest := 0
		for _, rs := range list.Items {
			if rev, err := strconv.Atoi(rs.Annotations["deployment.kubernetes.io/revision"]); err == nil && rev > newest {
				newest, hash = rev, rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
			}
		}
		return hash != "" && hash != old, nil
	})
	if err != nil {
		t.Fatalf("Deployment %s/%s: no ReplicaSet after the one of pod-template-hash %s: %v", ns, name, old, err)
	}
	return hash
}

// TestRollout: a new template's ReplicaSet spreads on its own, because
// inzone's constraint matches pod-template-hash (matchLabelKeys): the old
// ReplicaSet's pods, still there during the rollout, do not count.
func TestRollout(t *testing.T) {
	c := createCluster(t, uneven, "rollout")
	ns := namespace(t, true)
	create(t, c.deployment(ns, "web", 9))
	first := c.waitPlaced(t, ns, "web", 9, "")
	old := first.pods[0].Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	for _, p := range first.pods {
		if p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != old {
			t.Fatalf("one template, two pod-template-hashes: %s and %s", old, p.Labels[appsv1.DefaultDeploymentUniqueLabelKey])
		}
	}
	c.checkSpread(t, "first template", first.zones, 1)

	updateDeployment(t, ns, "web", func(d *appsv1.Deployment) {
		d.Spec.Template.Annotations = map[string]string{"placement.inzone.io/revision": "2"}
	})
	hash := newReplicaSetHash(t, ns, "web", old)
	second := c.waitPlaced(t, ns, "web", 9, hash)
	c.checkSpread(t, "second template", second.zones, 1)
	t.Logf("first template %s, second %s", c.formatZones(first.zones), c.formatZones(second.zones))
}

// TestScaleUpThenDown scales a Deployment up, where the scheduler spreads
// the new pods, then down, where the ReplicaSet controller picks the pods
// to delete without looking at zones (it prefers pods sharing a node with
// more of their kind, which on a one-node zone is that zone's). The skew
// left is logged for the README.
func TestScaleUpThenDown(t *testing.T) {
	for _, tt := range []struct {
		name          string
		on            bool
		start, up, dn int32
	}{
		{"with inzone", true, 6, 15, 7},
		{"without inzone", false, 6, 15, 7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := createCluster(t, uneven, "scale-"+map[bool]string{true: "with", false: "without"}[tt.on])
			ns := namespace(t, tt.on)
			create(t, c.deployment(ns, "web", tt.start))
			start := c.waitPlaced(t, ns, "web", int(tt.start), "")
			updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(tt.up) })
			up := c.waitPlaced(t, ns, "web", int(tt.up), "")
			updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(tt.dn) })
			down := c.waitPlaced(t, ns, "web", int(tt.dn), "")
			if tt.on {
				c.checkSpread(t, "start", start.zones, 1)
				c.checkSpread(t, "scaled up", up.zones, 1)
			}
			t.Logf("%d replicas %s (skew %d), up to %d: %s (skew %d), down to %d: %s (skew %d)",
				tt.start, c.formatZones(start.zones), c.skew(start.zones),
				tt.up, c.formatZones(up.zones), c.skew(up.zones),
				tt.dn, c.formatZones(down.zones), c.skew(down.zones))
		})
	}
}
