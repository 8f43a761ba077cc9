package source

import (
	"cmp"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"

	"github.com/inzone-io/inzone/lint/file"
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

// renderHelm renders a chart from its files in memory. Each rendered
// template becomes a File named after its template; lines are those of the
// rendered text.
func (c *collector) renderHelm(dir, tree string) {
	var bufs []*loader.BufferedFile
	err := fs.WalkDir(c.fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			info, err := c.rule.check(p, tree)
			if err == nil && info.IsDir() {
				err = notRegular(info.Mode())
			}
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		data, err := c.rule.read(p, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rel := strings.TrimPrefix(p, dir+"/")
		bufs = append(bufs, &loader.BufferedFile{Name: rel, Data: data})
		return nil
	})
	if err != nil {
		c.errs = append(c.errs, Error{File: dir, Message: "reading Helm chart: " + err.Error()})
		return
	}
	chrt, err := loader.LoadFiles(bufs)
	if err != nil {
		c.errs = append(c.errs, Error{File: dir, Message: "loading Helm chart: " + err.Error()})
		return
	}
	vals := map[string]any{}
	if len(c.opts.Values) > 0 {
		if vals, err = chartutil.ReadValues(c.opts.Values); err != nil {
			c.errs = append(c.errs, Error{File: dir, Message: "values: " + err.Error()})
			return
		}
	}
	rel := chartutil.ReleaseOptions{Name: cmp.Or(c.opts.ReleaseName, "inzone-lint"), Namespace: cmp.Or(c.opts.Namespace, "default"), IsInstall: true, Revision: 1}
	rv, err := chartutil.ToRenderValues(chrt, vals, rel, chartutil.DefaultCapabilities)
	if err != nil {
		c.errs = append(c.errs, Error{File: dir, Message: "Helm values: " + err.Error()})
		return
	}
	out, err := renderWithin(chrt, rv, c.opts.RenderTimeout)
	if err != nil {
		c.errs = append(c.errs, Error{File: dir, Message: "rendering Helm chart: " + err.Error()})
		return
	}
	for name, text := range out {
		if strings.TrimSpace(text) == "" || !IsManifest(name) {
			continue // NOTES.txt, helpers, templates that rendered to nothing
		}
		// name is <chart name>/templates/x.yaml; report it under the chart's directory.
		_, inChart, _ := strings.Cut(name, "/")
		c.files = append(c.files, file.File{Path: path.Join(dir, inChart), Data: []byte(text)})
	}
}
