package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/inzone-io/inzone/inject"
	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
)

// The large cluster of BenchmarkAuditLargeCluster.
const (
	benchServices  = 2000
	benchReplicas  = 5 // pods per Service: 10,000 pods
	benchNodes     = 60
	benchNamespace = "bench"
	benchWorkers   = 32
)

var benchZones = []string{"bench-1a", "bench-1b", "bench-1c"}

// BenchmarkAuditLargeCluster audits 10,000 pods and 2,000 Services (with
// their Deployments and EndpointSlices, on 60 nodes in 3 zones) in the test
// API server with the built kubectl-inzone binary, and reports its wall
// time and peak RSS (the child's rusage). It runs only with -bench:
//
//	make bench-audit   # go test -run '^$' -bench AuditLargeCluster -benchtime 1x ./test/audit
func BenchmarkAuditLargeCluster(b *testing.B) {
	env := envtest.For(b)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	start := time.Now()
	if populateLargeCluster(ctx, b, env, benchNamespace, benchServices, nil) {
		b.Logf("populated %d pods, %d Services, %d EndpointSlices, %d Deployments, %d nodes in %s",
			benchServices*benchReplicas, benchServices, benchServices, benchServices, benchNodes, time.Since(start).Round(time.Millisecond))
	}
	benchAudit(ctx, b, env, "-A")
}

// The injected cluster of BenchmarkAuditLargeClusterInjected: 9,000 pods.
const (
	benchInjectedServices  = 1800
	benchInjectedNamespace = "bench-injected"
)

// BenchmarkAuditLargeClusterInjected is BenchmarkAuditLargeCluster on
// 9,000 pods that carry the sidecar as the webhook makes them (each pod
// goes through the same mutate.Engine, by inzone inject), in a namespace of
// their own (1,800 Services and Deployments), audited with -n: sidecars
// make pods several times bigger, and the audit holds every pod.
func BenchmarkAuditLargeClusterInjected(b *testing.B) {
	env := envtest.For(b)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	e, err := mutate.NewEngine(mutate.DefaultConfig(), mutate.Options{NativeSidecarSupported: true})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if populateLargeCluster(ctx, b, env, benchInjectedNamespace, benchInjectedServices, e) {
		b.Logf("populated %d injected pods, %d Services in %s", benchInjectedServices*benchReplicas, benchInjectedServices, time.Since(start).Round(time.Millisecond))
	}
	benchAudit(ctx, b, env, "-n", benchInjectedNamespace)
}

// benchAudit runs the built kubectl-inzone audit b.N times with scope
// (-A, or -n NAMESPACE) and reports its wall time and peak RSS.
func benchAudit(ctx context.Context, b *testing.B, env *envtest.Env, scope ...string) {
	dir := b.TempDir()
	buildPlugin(b, dir)
	kubeconfig := dir + "/kubeconfig"
	if err := env.WriteKubeconfig(kubeconfig); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var wall time.Duration
	var peak int64
	for i := 0; i < b.N; i++ {
		args := append([]string{"audit"}, scope...)
		cmd := exec.CommandContext(ctx, dir+"/kubectl-inzone", append(args, "-o", "json", "--kubeconfig", kubeconfig, "--timeout", "5m")...)
		out, err := os.Create(dir + "/report.json")
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stdout = out
		var stderr stringsBuilder
		cmd.Stderr = &stderr
		t0 := time.Now()
		err = cmd.Run()
		d := time.Since(t0)
		_ = out.Close()
		if err != nil {
			b.Fatalf("kubectl-inzone audit: %v\n%s", err, stderr.String())
		}
		wall += d
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss*1024) // KiB on Linux
		}
	}
	b.StopTimer()
	if st, err := os.Stat(dir + "/report.json"); err == nil {
		b.Logf("report: %d bytes", st.Size())
	}
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/audit")
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")

	// For scale: kubectl reading the same objects as JSON, one resource
	// after the other, without auditing them.
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		args := append([]string{"get", "nodes,pods,services,endpointslices,configmaps,deployments,replicasets"}, scope...)
		cmd := exec.CommandContext(ctx, kubectl, append(args, "-o", "json", "--kubeconfig", kubeconfig)...)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		t0 := time.Now()
		if out, err := cmd.Output(); err != nil {
			b.Logf("kubectl get: %v", err)
		} else {
			b.ReportMetric(time.Since(t0).Seconds(), "s/kubectl-get")
			b.Logf("kubectl get -A -o json of the same resources: %d bytes", len(out))
		}
	}
}

type stringsBuilder struct {
	mu  sync.Mutex
	buf []byte
}

func (s *stringsBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	return len(p), nil
}

func (s *stringsBuilder) String() string { s.mu.Lock(); defer s.mu.Unlock(); return string(s.buf) }

// populateLargeCluster creates the nodes (once), then in namespace
// benchNamespace services Services, EndpointSlices, Deployments and their
// pods bound by nodeName, with benchWorkers concurrent creates through a
// client with raised QPS and Burst. With an engine, each pod is created as
// the webhook would store it: through inzone inject with that engine. It
// is idempotent within one API server (a second run finds the namespace
// and returns).
func populateLargeCluster(ctx context.Context, b *testing.B, env *envtest.Env, benchNamespace string, benchServices int, engine *mutate.Engine) (created bool) {
	b.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = 5000, 10000
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, benchNamespace, metav1.GetOptions{}); err == nil {
		return false
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	nodes := make([]string, benchNodes)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("bench-node-%02d", i)
		if _, err := cs.CoreV1().Nodes().Get(ctx, nodes[i], metav1.GetOptions{}); err == nil {
			continue // made by the other benchmark
		}
		if _, err := env.CreateNode(ctx, envtest.NodeSpec{Name: nodes[i], Zone: benchZones[i%len(benchZones)], Pods: 250}); err != nil {
			b.Fatal(err)
		}
	}

	var (
		mu     sync.Mutex
		failed error
	)
	jobs := make(chan func() error, benchWorkers)
	var wg sync.WaitGroup
	for w := 0; w < benchWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				if err := job(); err != nil {
					mu.Lock()
					if failed == nil {
						failed = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for s := 0; s < benchServices; s++ {
		name := fmt.Sprintf("svc-%04d", s)
		hash := fmt.Sprintf("%05x", s)
		labels := map[string]string{"app": name}
		jobs <- func() error {
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: name},
				// Headless: envtest's service IP range has 254 addresses.
				Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: labels, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
			}
			if _, err := cs.CoreV1().Services(benchNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
				return err
			}
			tmpl := corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "registry.example/" + name + ":1",
					Env: []corev1.EnvVar{{Name: "UPSTREAM", Value: fmt.Sprintf("http://svc-%04d.%s.svc:80", (s+1)%benchServices, benchNamespace)}},
				}}},
			}
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: name},
				Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](benchReplicas), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
			}
			if _, err := cs.AppsV1().Deployments(benchNamespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
				return err
			}
			es := &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: name + "-x",
					Labels: map[string]string{discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "inzone-bench"}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
			}
			for r := 0; r < benchReplicas; r++ {
				node := nodes[(s*benchReplicas+r)%benchNodes]
				es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
					Addresses:  []string{fmt.Sprintf("10.%d.%d.%d", 100+s/250, s%250, r+1)},
					Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
					NodeName:   ptr.To(node),
					Zone:       ptr.To(benchZones[((s*benchReplicas+r)%benchNodes)%len(benchZones)]),
					TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: benchNamespace, Name: fmt.Sprintf("%s-%s-%d", name, hash, r)},
				})
			}
			_, err := cs.DiscoveryV1().EndpointSlices(benchNamespace).Create(ctx, es, metav1.CreateOptions{})
			return err
		}
		for r := 0; r < benchReplicas; r++ {
			jobs <- func() error {
				pl := map[string]string{"app": name, "pod-template-hash": hash}
				p := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{
						Namespace: benchNamespace, Name: fmt.Sprintf("%s-%s-%d", name, hash, r), Labels: pl,
						OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name + "-" + hash,
							UID: types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012d", s)), Controller: ptr.To(true)}},
					},
					Spec: corev1.PodSpec{
						NodeName: nodes[(s*benchReplicas+r)%benchNodes],
						Containers: []corev1.Container{{Name: "app", Image: "registry.example/" + name + ":1",
							Env: []corev1.EnvVar{{Name: "UPSTREAM", Value: fmt.Sprintf("http://svc-%04d.%s.svc:80", (s+1)%benchServices, benchNamespace)}}}},
					},
				}
				if engine != nil {
					var err error
					if p, err = injected(p, engine); err != nil {
						return err
					}
				}
				_, err := cs.CoreV1().Pods(benchNamespace).Create(ctx, p, metav1.CreateOptions{})
				return err
			}
		}
	}
	close(jobs)
	wg.Wait()
	if failed != nil {
		b.Fatalf("populating: %v", failed)
	}
	return true
}

// injected is pod as inzone inject (the webhook's engine, offline) writes it.
func injected(pod *corev1.Pod, e *mutate.Engine) (*corev1.Pod, error) {
	pod.APIVersion, pod.Kind = "v1", "Pod"
	in, err := json.Marshal(pod)
	if err != nil {
		return nil, err
	}
	out, _, err := inject.Manifests(in, e)
	if err != nil {
		return nil, err
	}
	var p corev1.Pod
	if err := json.Unmarshal(out, &p); err != nil {
		return nil, err
	}
	if !mutate.HasSidecar(&p) {
		return nil, fmt.Errorf("pod %s: no sidecar after inject", p.Name)
	}
	return &p, nil
}
