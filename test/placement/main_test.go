// Package placement runs kube-scheduler and kube-controller-manager beside
// the test API server, with inzone's webhook on a labelled namespace and
// off on another, and measures where the real scheduler puts Deployments'
// pods on uneven zone layouts, and the cross-zone traffic that placement
// leaves (package simulate). INZONE_PLACEMENT_OUT=FILE writes the
// scenarios' counts and fractions as JSON.
package placement

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
)

func TestMain(m *testing.M) {
	os.Exit(envtest.Main(m, envtest.Options{
		Scheduler:   true,
		Controllers: envtest.ControllersForPlacement,
		// The benchmark creates 1,000 pods: the default 20 QPS of the
		// controller manager would measure its client's rate limiter.
		ControllerManagerArgs: []string{"--kube-api-qps=500", "--kube-api-burst=1000", "--concurrent-replicaset-syncs=10"},
		SchedulerArgs:         []string{"--kube-api-qps=500", "--kube-api-burst=1000"},
		Kubelet:               true,
	}, func(env *envtest.Env) error {
		return env.StartWebhook(envtest.WebhookOptions{Config: testConfig()})
	}))
}

// testConfig is inzone's defaults: zone spread maxSkew 1, ScheduleAnyway,
// matchLabelKeys pod-template-hash, selector from the app label.
func testConfig() *mutate.Config {
	return &mutate.Config{DDSD: mutate.DDSDConfig{Env: "prod"}}
}

// ctx is a bounded context for one test.
func ctx(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}
