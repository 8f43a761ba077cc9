package hostile

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/webhook"
)

// Figures of the memory test, as the chart sets them.
const (
	memoryLimit   = 256 << 20 // the chart's resources.limits.memory
	bigClients    = 100       // concurrent maximum-size reviews
	bigRounds     = 2         // reviews each big client sends
	trickleConns  = 30        // clients trickling a body a byte at a time
	normalReviews = 40        // ordinary reviews sent meanwhile
)

// TestMemoryBoundUnderHostileReviews runs the built webhook binary as the
// chart does (its config, its limits, GOMEMLIMIT from the memory limit) and
// sends it, at once: bigClients clients each posting maximum-size reviews
// whose every env var names a known ELB (the most work and the largest
// patch per byte), and trickleConns clients sending a body one byte at a
// time. Ordinary reviews sent meanwhile must be answered with a patch, the
// tricklers must be cut off, and the peak RSS (VmHWM) must stay under the
// memory limit.
func TestMemoryBoundUnderHostileReviews(t *testing.T) {
	if testing.Short() {
		t.Skip("sends some 800 MB of reviews")
	}
	env := envtest.For(t)
	c := ctx(t)
	bin, err := envtest.BuildBinary("./cmd/inzone-webhook")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}
	chartArgs, config := chartWebhook(t, c)
	configPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	// A known ELB, in the Service list the webhook reads at start.
	const elb = "internal-big-0123456789.us-east-1.elb.amazonaws.com"
	loadBalancer(t, namespace(t, "mem-", false), "big", elb, nil)

	_, _, certDir, caData := env.WebhookServing()
	addr, port := freeAddr(t)
	healthAddr, _ := freeAddr(t)
	args := envtest.OverrideFlags(chartArgs, map[string]string{
		"config": configPath, "cert-dir": certDir, "host": "127.0.0.1", "port": strconv.Itoa(port),
		"metrics-bind-address": "0", "health-probe-bind-address": healthAddr, "shutdown-delay": "0s",
	})
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "GOMEMLIMIT="+strconv.Itoa(memoryLimit))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed when the process has exited, so every waiter sees it.
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("webhook logs (tail):\n%s", tail(logs.String(), 4000))
		}
	})
	waitReady(t, healthAddr, exited, &exitErr)

	maxBody, _ := strconv.Atoi(envtest.FlagValue(args, "max-review-bytes"))
	big := reviewBody(t, bigPod(maxBody-4096, elb))
	if len(big) > maxBody || len(big) < maxBody-64<<10 {
		t.Fatalf("big review is %d bytes, want just under %d", len(big), maxBody)
	}
	normal := reviewBody(t, shellPod("shop", "web", "http://"+elb+"/v1"))
	client := reviewClient(caData)

	var answered, refused, failed atomic.Int64
	var wg sync.WaitGroup
	for range bigClients {
		wg.Go(func() {
			for range bigRounds {
				// As the API server's webhook client (client-go's rest
				// client) does: a 429 with Retry-After is retried, up to
				// 10 times.
				code, _, err := postReview(client, addr, big)
				for try := 0; try < 10 && err == nil && code == http.StatusTooManyRequests; try++ {
					time.Sleep(time.Second)
					code, _, err = postReview(client, addr, big)
				}
				switch {
				case err == nil && code == http.StatusOK:
					answered.Add(1)
				case code == http.StatusTooManyRequests:
					refused.Add(1)
				default:
					failed.Add(1)
				}
			}
		})
	}
	var cutOff atomic.Int64
	for range trickleConns {
		wg.Go(func() {
			if trickle(t, addr, caData, maxBody) {
				cutOff.Add(1)
			}
		})
	}
	var normalOK atomic.Int64
	var normalErrs []string
	var mu sync.Mutex
	for i := range normalReviews {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 50 * time.Millisecond) // spread over the attack
			code, resp, err := postReview(client, addr, normal)
			if err == nil && code == http.StatusOK && resp.Allowed && len(resp.Patch) > 0 {
				normalOK.Add(1)
				return
			}
			mu.Lock()
			normalErrs = append(normalErrs, fmt.Sprintf("HTTP %d: %v", code, err))
			mu.Unlock()
		})
	}
	wg.Wait()

	hwm := vmHWM(t, cmd.Process.Pid)
	t.Logf("peak RSS %.1f MiB (limit %d MiB); big reviews: %d answered, %d refused with 429, %d failed; %d/%d trickling clients cut off; %d/%d ordinary reviews answered",
		float64(hwm)/(1<<20), memoryLimit>>20, answered.Load(), refused.Load(), failed.Load(), cutOff.Load(), trickleConns, normalOK.Load(), normalReviews)
	if hwm >= memoryLimit {
		t.Errorf("peak RSS %d bytes, over the %d-byte memory limit", hwm, memoryLimit)
	}
	if answered.Load() == 0 {
		t.Error("no maximum-size review was answered: the bound refuses everything")
	}
	if n := normalOK.Load(); n != normalReviews {
		t.Errorf("%d of %d ordinary reviews answered during the attack: %q", n, normalReviews, normalErrs)
	}
	if n := cutOff.Load(); n != trickleConns {
		t.Errorf("%d of %d trickling clients cut off", n, trickleConns)
	}
	select {
	case err := <-exited:
		t.Fatalf("the webhook exited: %v", err)
	default:
	}
}

// chartWebhook renders the chart's webhook container args and config.
func chartWebhook(t *testing.T, c context.Context) (args []string, config string) {
	t.Helper()
	_, objs, err := envtest.RenderChart(c)
	if err != nil {
		t.Skipf("rendering the chart: %v", err)
	}
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			if o.GetName() != envtest.ChartRelease+"-webhook" {
				continue // inzone-xds's
			}
			d, err := envtest.Into[appsv1.Deployment](o)
			if err != nil {
				t.Fatal(err)
			}
			ctr := d.Spec.Template.Spec.Containers[0]
			if !slicesContainsEnv(ctr.Env, "GOMEMLIMIT") {
				t.Error("the chart does not set GOMEMLIMIT")
			}
			// Self-managed certificates need a Secret: the test serves
			// envtest's certificate instead.
			for _, a := range ctr.Args {
				if !strings.HasPrefix(a, "--cert-") && !strings.HasPrefix(a, "--webhook-configuration") {
					args = append(args, a)
				}
			}
		case "ConfigMap":
			data, _, _ := unstructured.NestedString(o.Object, "data", "config.yaml")
			config = data
		}
	}
	if len(args) == 0 || config == "" {
		t.Fatal("the chart renders no webhook Deployment or config")
	}
	return args, config
}

func slicesContainsEnv(env []corev1.EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name {
			return true
		}
	}
	return false
}

// bigPod is a pod of about size bytes of JSON whose every env var calls elb.
func bigPod(size int, elb string) *corev1.Pod {
	pod := shellPod("shop", "big", "http://"+elb)
	value := "http://" + elb + "/" + strings.Repeat("a", 4000)
	for n := 0; n+len(value)+64 < size; n += len(value) + 40 {
		pod.Spec.Containers[0].Env = append(pod.Spec.Containers[0].Env, corev1.EnvVar{Name: "E" + strconv.Itoa(len(pod.Spec.Containers[0].Env)), Value: value})
	}
	return pod
}

// trickle declares a maximum-size body and sends it a byte every 200 ms; it
// reports whether the server cut the connection off within a minute.
func trickle(t *testing.T, addr string, ca []byte, size int) bool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Logf("trickler: %v", err)
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", webhook.Path, addr, size); err != nil {
		return false
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_, _ = io.Copy(io.Discard, bufio.NewReader(conn))
	}()
	for {
		select {
		case <-closed:
			return true
		case <-time.After(200 * time.Millisecond):
		}
		if _, err := conn.Write([]byte("{")); err != nil {
			<-closed
			return true
		}
	}
}

// waitReady waits, bounded, for the webhook's /readyz.
func waitReady(t *testing.T, healthAddr string, exited <-chan struct{}, exitErr *error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + healthAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("the webhook exited before it was ready: %v", *exitErr)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook was not ready within 60s")
		}
	}
}

// vmHWM is a process's peak resident set size, from /proc.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/pid/status")
	return 0
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
