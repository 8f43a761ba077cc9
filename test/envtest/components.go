package envtest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The kube-controller-manager controllers a placement test needs: the
// Deployment controller makes ReplicaSets, the ReplicaSet controller makes
// and deletes pods, the EndpointSlice controller publishes the ready ones
// with their nodes' zones.
var ControllersForPlacement = []string{"deployment", "replicaset", "endpointslice"}

// componentLogTail bounds how much of a component's log an error quotes.
const componentLogTail = 4 << 10

// component is kube-scheduler or kube-controller-manager run as a child
// process: in its own process group, killed with the test process
// (Pdeathsig), its output kept in a file (and copied to stderr with
// INZONE_E2E_VERBOSE=1).
type component struct {
	name    string
	cmd     *exec.Cmd
	dir     string
	logPath string
	log     *os.File
	done    chan struct{}
	waitErr error
	// grace is how long stop waits after SIGTERM before SIGKILL; 0 means
	// termGrace.
	grace time.Duration
}

// termGrace is how long a component gets to exit after SIGTERM.
const termGrace = 5 * time.Second

// startComponent runs bin from the assets folder against the API server,
// with a kubeconfig for the admin user, health served on a free loopback
// port, and extra flags appended (a later flag wins), and waits until its
// /healthz answers ok.
func (e *Env) startComponent(ctx context.Context, bin string, flags, extra []string) (*component, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(assets, bin)
	if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("%w: %s is missing or not executable; run `make bin` or set %s", ErrNoBinaries, path, EnvAssets)
	}
	dir, err := os.MkdirTemp("", "inzone-"+bin+"-")
	if err != nil {
		return nil, err
	}
	c := &component{name: bin, dir: dir, logPath: filepath.Join(dir, bin+".log"), done: make(chan struct{})}
	fail := func(err error) (*component, error) {
		_ = c.stop()
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := e.WriteKubeconfig(kubeconfig); err != nil {
		return fail(err)
	}
	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(dir, "certs"),
	}
	if err := c.start(path, append(append(args, flags...), extra...)); err != nil {
		return fail(err)
	}
	if err := c.waitHealthy(ctx, port); err != nil {
		return fail(err)
	}
	return c, nil
}

// start runs path with args, its output in the component's log.
func (c *component) start(path string, args []string) error {
	var err error
	if c.log, err = os.Create(c.logPath); err != nil {
		return err
	}
	var out io.Writer = c.log
	if os.Getenv(EnvVerbose) == "1" {
		out = io.MultiWriter(c.log, &prefixWriter{prefix: c.name + ": ", w: os.Stderr})
	}
	c.cmd = exec.Command(path, args...)
	c.cmd.Stdout, c.cmd.Stderr = out, out
	// Its own process group, so stop reaches anything it forks; SIGKILL
	// when the test process dies without calling Stop.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", c.name, err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	return nil
}

// waitHealthy polls https://127.0.0.1:port/healthz (served to anonymous
// callers by default) until it says ok, the process exits or ctx ends.
func (c *component) waitHealthy(ctx context.Context, port int) error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		// The component's serving certificate is self-signed in its
		// cert dir; this only asks a local child process whether it is up.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
	}}
	defer hc.CloseIdleConnections()
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	var last error
	for {
		resp, err := hc.Get(url)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
		}
		last = err
		select {
		case <-c.done:
			return fmt.Errorf("%s exited before it was healthy (%v); log tail:\n%s", c.name, c.waitErr, c.logTail())
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy within %s (last: %v); log tail:\n%s", c.name, startTimeout, last, c.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to the component's process group, SIGKILL after a
// grace period, waits for it, and removes its folder.
func (c *component) stop() error {
	var err error
	if c.cmd != nil && c.cmd.Process != nil {
		pgid := c.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(cmp.Or(c.grace, termGrace)):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			select {
			case <-c.done:
			case <-time.After(stopTimeout):
				err = fmt.Errorf("%s (pid %d) did not exit after SIGKILL", c.name, pgid)
			}
		}
	}
	if c.log != nil {
		_ = c.log.Close()
	}
	return errors.Join(err, os.RemoveAll(c.dir))
}

// logTail is the end of the component's log.
func (c *component) logTail() string {
	f, err := os.Open(c.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > componentLogTail {
		_, _ = f.Seek(-componentLogTail, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// prefixWriter writes each chunk to w with a prefix, for telling the
// components' output apart on stderr.
type prefixWriter struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.w, p.prefix); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}

// startComponents starts the scheduler and controller manager opts ask
// for, side by side.
func (e *Env) startComponents(opts Options) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	type started struct {
		c   *component
		err error
	}
	var wg sync.WaitGroup
	results := make([]started, 2)
	if opts.Scheduler {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := e.startComponent(ctx, "kube-scheduler", nil, opts.SchedulerArgs)
			results[0] = started{c, err}
		}()
	}
	if len(opts.Controllers) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := e.startComponent(ctx, "kube-controller-manager", []string{
				"--controllers=" + strings.Join(opts.Controllers, ","),
				"--use-service-account-credentials=false",
			}, opts.ControllerManagerArgs)
			results[1] = started{c, err}
		}()
	}
	wg.Wait()
	var errs []error
	for _, r := range results {
		if r.c != nil {
			e.components = append(e.components, r.c)
		}
		errs = append(errs, r.err)
	}
	return errors.Join(errs...)
}

// stopComponents stops the scheduler and controller manager, if running.
func (e *Env) stopComponents() error {
	var errs []error
	for _, c := range e.components {
		errs = append(errs, c.stop())
	}
	e.components = nil
	return errors.Join(errs...)
}

// ComponentLogTail is the end of the log of a component the harness runs
// ("kube-scheduler", "kube-controller-manager"), for failure messages.
func (e *Env) ComponentLogTail(name string) string {
	for _, c := range e.components {
		if c.name == name {
			return c.logTail()
		}
	}
	return "(" + name + " is not running)"
}
