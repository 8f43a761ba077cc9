package source

import (
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
)

// DefaultRenderTimeout bounds rendering one Helm chart when Options
// sets no RenderTimeout: charts render in milliseconds, and a template
// looping millions of times (`until 3000000`) would otherwise run for
// minutes.
const DefaultRenderTimeout = 30 * time.Second

// renderWithin renders a chart, giving up after timeout (0: the default).
// Helm's engine takes no context, so the render goes on in its goroutine
// until it ends by itself; the command ends soon after in any case.
func renderWithin(chrt *chart.Chart, values chartutil.Values, timeout time.Duration) (map[string]string, error) {
	if timeout <= 0 {
		timeout = DefaultRenderTimeout
	}
	type result struct {
		out map[string]string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := engine.Render(chrt, values)
		done <- result{out, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.out, r.err
	case <-timer.C:
		return nil, fmt.Errorf("rendering took longer than %s (--render-timeout)", timeout)
	}
}
