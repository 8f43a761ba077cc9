package xds

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
)

// Sizes of BenchmarkXDS, after Istio's published load test; override with
// INZONE_BENCH_SERVICES, INZONE_BENCH_CLIENTS and INZONE_BENCH_IDENTITIES.
// INZONE_BENCH_CALLS=N makes each identity declare N callees
// (inzone.io/calls): identity k calls svc k*N to k*N+N-1 (modulo the
// Services), so with 100 identities and N=10 each Service has one caller
// identity. 0 (the default) declares nothing: every sidecar sees every
// Service.
const (
	benchServices   = 1000
	benchEndpoints  = 5
	benchClients    = 2000
	benchIdentities = 100 // the clients' service identities, round-robin
	benchRollout    = 100 // endpoints replaced in the rollout
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchShape is who calls what in BenchmarkXDS.
type benchShape struct {
	services, identities, calls int // calls: 0 for every Service
}

// calls reports whether identity k's sidecars see Service svc.
func (sh benchShape) callsSvc(k, svc int) bool {
	if sh.calls == 0 {
		return true
	}
	for j := range sh.calls {
		if (k*sh.calls+j)%sh.services == svc {
			return true
		}
	}
	return false
}

// callers are the clients whose identity calls svc (client i is identity
// i % identities).
func (sh benchShape) callers(cls []*benchClient, svc int) []*benchClient {
	var out []*benchClient
	for i, c := range cls {
		if sh.callsSvc(i%sh.identities, svc) {
			out = append(out, c)
		}
	}
	return out
}

func benchIdentity(k int) string { return fmt.Sprintf("bench-caller-%03d", k) }

// BenchmarkXDS runs the built inzone-xds as its own process against the
// test API server holding 1,000 Services of 5 endpoints, connects 2,000 ADS
// clients over loopback (one connection each, as sidecars), each
// subscribed to every cluster, and measures: the process's peak RSS and
// CPU, its RSS per connected stream, and the time from an EndpointSlice
// write to each client receiving it (p50, p99, last), for one endpoint and
// for a rollout replacing 100 endpoints. The clients run in the test
// process, on the same cores.
//
// INZONE_BENCH_BINARY runs another build of inzone-xds instead (to compare
// with an earlier commit); INZONE_BENCH_PROFILES names a folder where the
// server's heap and goroutine profiles near its peak are written, per
// protocol (the build must have --pprof-address); INZONE_BENCH_GOMEMLIMIT
// sets the server's GOMEMLIMIT. INZONE_BENCH_BARE=1 runs
// hack/bench/barexds instead, go-control-plane alone serving resources of
// the same shapes with no Kubernetes (every Service to every stream, changes
// asked for on its control address): the floor under inzone-xds.
func BenchmarkXDS(b *testing.B) {
	for _, protocol := range []string{"sotw", "delta"} {
		b.Run(protocol, func(b *testing.B) { benchXDS(b, protocol) })
	}
}

func benchXDS(b *testing.B, protocol string) {
	services, clients := envInt("INZONE_BENCH_SERVICES", benchServices), envInt("INZONE_BENCH_CLIENTS", benchClients)
	calls, _ := strconv.Atoi(os.Getenv("INZONE_BENCH_CALLS"))
	sh := benchShape{services: services, identities: envInt("INZONE_BENCH_IDENTITIES", benchIdentities), calls: max(calls, 0)}
	bare := os.Getenv("INZONE_BENCH_BARE") != ""
	if bare && sh.calls > 0 {
		b.Fatal("INZONE_BENCH_BARE serves every Service to every stream: INZONE_BENCH_CALLS does not apply")
	}
	xdsAddr, healthAddr := loopbackPort(b), loopbackPort(b)
	profileDir := os.Getenv("INZONE_BENCH_PROFILES")
	pprofAddr := loopbackPort(b)
	var (
		args         []string
		bin          = os.Getenv("INZONE_BENCH_BINARY") // another build, to compare
		ns           = "bare"
		setEndpoints func(svc int, ips []string)
	)
	if bare {
		if bin == "" {
			bin = buildBinary(b, "./hack/bench/barexds")
		}
		args = []string{"--xds-address", xdsAddr, "--health-probe-bind-address", healthAddr,
			"--services", strconv.Itoa(sh.services), "--endpoints", strconv.Itoa(benchEndpoints), "--identities", strconv.Itoa(sh.identities)}
		setEndpoints = func(svc int, ips []string) { bareSetEndpoints(b, healthAddr, svc, ips) }
	} else {
		env := envtest.For(b)
		ns = benchNamespace(b, env, sh)
		if bin == "" {
			bin = buildBinary(b, "./cmd/inzone-xds")
		}
		kc := filepath.Join(b.TempDir(), "kubeconfig")
		if err := env.WriteKubeconfig(kc); err != nil {
			b.Fatal(err)
		}
		args = []string{"--plaintext", "--dns-address=0", "--metrics-bind-address=0", "--kubeconfig", kc,
			"--xds-address", xdsAddr, "--health-probe-bind-address", healthAddr, "--zap-log-level=error"}
		setEndpoints = func(svc int, ips []string) { benchSetEndpoints(b, env, ns, svc, ips) }
	}
	if profileDir != "" {
		args = append(args, "--pprof-address", pprofAddr)
	}
	cmd := exec.Command(bin, args...)
	if limit := os.Getenv("INZONE_BENCH_GOMEMLIMIT"); limit != "" {
		// The server's alone: the clients in this process keep theirs.
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+limit)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	waitReady(b, "http://"+healthAddr+"/readyz")
	pid := cmd.Process.Pid
	rssIdle := procStatus(b, pid, "VmRSS")
	if profileDir != "" {
		stop := profileAtPeaks(b, pid, "http://"+pprofAddr, filepath.Join(profileDir, protocol))
		defer stop()
	}

	marker := &atomic.Pointer[change]{}
	var cls []*benchClient
	for i := range clients {
		c, err := newBenchClient(xdsAddr, protocol, fmt.Sprintf("caller-%d.%s", i, ns), benchIdentity(i%sh.identities)+".service.prod.ddsd", marker)
		if err != nil {
			b.Fatal(err)
		}
		defer c.close()
		cls = append(cls, c)
	}
	for _, c := range cls {
		if err := c.waitInitial(); err != nil {
			b.Fatal(err)
		}
	}
	if sh.calls > 0 {
		// Each sidecar sees its identity's callees (one cluster each) and
		// its local cluster; more means the views are not in effect, and
		// the figures would be the full view's.
		for i, c := range cls {
			if n := c.edsSubs.Load(); n > int64(sh.calls+1) {
				b.Fatalf("client %d subscribed to %d endpoint resources with %d declared callees: scoped views are not in effect", i, n, sh.calls)
			}
		}
	}
	rssConnected := procStatus(b, pid, "VmRSS")
	// Before any change: where bare go-control-plane and inzone-xds are
	// the same measurement (with scoped views a change reaches fewer streams).
	peakConnected := procStatus(b, pid, "VmHWM")
	fileConnected, anonConnected := procStatus(b, pid, "RssFile"), procStatus(b, pid, "RssAnon")
	perStream := float64(rssConnected-rssIdle) / float64(clients)

	var one, rollout []time.Duration
	seq := 0
	var cpuProfiled chan struct{}
	if profileDir != "" {
		// The server's CPU while the changes below are pushed.
		cpuProfiled = make(chan struct{})
		go func() {
			defer close(cpuProfiled)
			if resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/profile?seconds=3"); err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				_ = os.WriteFile(filepath.Join(profileDir, protocol, "cpu.pb.gz"), body, 0o644)
			}
		}()
	}
	b.ResetTimer()
	for range b.N {
		seq++
		one = append(one, measure(b, sh.callers(cls, seq%services), marker, func(ip func(int) string) string {
			setEndpoints(seq%services, []string{ip(0)})
			return ip(0)
		})...)
	}
	seq++
	// The rollout's last Service's callers: they wait for its last write.
	lastSvc := (seq + benchRollout/benchEndpoints - 1) % services
	rollout = measure(b, sh.callers(cls, lastSvc), marker, func(ip func(int) string) string {
		last := ""
		for i := range benchRollout / benchEndpoints {
			eps := make([]string, benchEndpoints)
			for j := range eps {
				eps[j] = ip(i*benchEndpoints + j)
			}
			setEndpoints((seq+i)%services, eps)
			last = eps[len(eps)-1]
		}
		return last
	})
	b.StopTimer()
	if cpuProfiled != nil {
		<-cpuProfiled
	}

	cpu := procCPU(b, pid)
	peak := procStatus(b, pid, "VmHWM")
	p := func(d []time.Duration, q float64) float64 {
		slices.Sort(d)
		return float64(d[min(len(d)-1, int(q*float64(len(d))))]) / 1e6
	}
	b.ReportMetric(p(one, 0.5), "one-p50-ms")
	b.ReportMetric(p(one, 0.99), "one-p99-ms")
	b.ReportMetric(p(one, 1), "one-last-ms")
	b.ReportMetric(p(rollout, 0.5), "rollout-p50-ms")
	b.ReportMetric(p(rollout, 0.99), "rollout-p99-ms")
	b.ReportMetric(p(rollout, 1), "rollout-last-ms")
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
	b.ReportMetric(float64(rssIdle)/1024, "idle-RSS-MB")
	b.ReportMetric(perStream, "RSS-KB/stream")
	b.ReportMetric(float64(peakConnected)/1024, "connected-peak-RSS-MB")
	b.ReportMetric(float64(fileConnected)/1024, "connected-RssFile-MB")
	b.ReportMetric(float64(anonConnected)/1024, "connected-RssAnon-MB")
	b.ReportMetric(cpu.Seconds(), "server-CPU-s")
	b.ReportMetric(float64(len(sh.callers(cls, lastSvc))), "rollout-clients")
}

// change is the address the last write introduced, and when it was made.
type change struct {
	ip    []byte
	start time.Time
	got   []time.Duration
	mu    sync.Mutex
	left  int
	done  chan struct{}
}

// measure makes a change (write returns the address whose arrival marks
// it) and returns the delay from the first write to each client of cls
// receiving it: the clients that see the changed Service.
func measure(b *testing.B, cls []*benchClient, marker *atomic.Pointer[change], write func(ip func(int) string) string) []time.Duration {
	b.Helper()
	base := time.Now().UnixNano()
	ip := func(i int) string {
		return fmt.Sprintf("10.%d.%d.%d", 100+int(base/1000%100), (int(base/100000)+i)/250%250, i%250+1)
	}
	ch := &change{left: len(cls), done: make(chan struct{})}
	ch.start = time.Now()
	for _, c := range cls {
		c.seen.Store(false)
	}
	marker.Store(nil)
	last := write(ip)
	// The address, then port_value's tag: no longer address matches.
	ch.ip = append([]byte(last), 0x18)
	marker.Store(ch)
	// The clients check responses received before the marker was set too.
	for _, c := range cls {
		c.recheck(ch)
	}
	select {
	case <-ch.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("%d of %d clients never received the change", ch.left, len(cls))
	}
	return ch.got
}

func (ch *change) arrived() {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.got = append(ch.got, time.Since(ch.start))
	if ch.left--; ch.left == 0 {
		close(ch.done)
	}
}

// benchClient is an ADS client that keeps no resources: it ACKs, and looks
// for the marker address in endpoint responses.
type benchClient struct {
	conn    *grpc.ClientConn
	cancel  context.CancelFunc
	initial chan error
	seen    atomic.Bool
	mu      sync.Mutex
	lastEDS [][]byte // raw endpoint resources of the last response (the changed ones, SotW and delta alike)
	marker  *atomic.Pointer[change]
	edsSubs atomic.Int64 // endpoint resources subscribed to after the first CDS response
}

func newBenchClient(addr, protocol, nodeID, local string, marker *atomic.Pointer[change]) (*benchClient, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &benchClient{conn: conn, cancel: cancel, initial: make(chan error, 1), marker: marker}
	node := &corev3.Node{Id: nodeID, Cluster: local, Locality: &corev3.Locality{Zone: zoneA}}
	ads := discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
	if protocol == "delta" {
		s, err := ads.DeltaAggregatedResources(ctx)
		if err != nil {
			return nil, err
		}
		if err := s.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node, TypeUrl: resourcev3.ClusterType}); err != nil {
			return nil, err
		}
		go func() {
			first := true
			for {
				resp, err := s.Recv()
				if err != nil {
					c.fail(err)
					return
				}
				if resp.TypeUrl == resourcev3.ClusterType && first {
					// As Envoy: endpoints of every EDS cluster CDS sent, and
					// of the local cluster. (Clusters do not change here.)
					anys := make([]*anypb.Any, len(resp.Resources))
					for i, r := range resp.Resources {
						anys[i] = r.GetResource()
					}
					names := edsNames(local, anys)
					c.edsSubs.Store(int64(len(names)))
					if err := s.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node, TypeUrl: resourcev3.EndpointType, ResourceNamesSubscribe: names}); err != nil {
						c.fail(err)
						return
					}
				}
				if resp.TypeUrl == resourcev3.EndpointType {
					raw := make([][]byte, len(resp.Resources))
					for i, r := range resp.Resources {
						raw[i] = r.GetResource().GetValue()
					}
					c.got(raw)
					if first {
						first = false
						c.initial <- nil
					}
				}
				if err := s.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node, TypeUrl: resp.TypeUrl, ResponseNonce: resp.Nonce}); err != nil {
					c.fail(err)
					return
				}
			}
		}()
		return c, nil
	}
	s, err := ads.StreamAggregatedResources(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.ClusterType}); err != nil {
		return nil, err
	}
	go func() {
		first := true
		var names []string
		for {
			resp, err := s.Recv()
			if err != nil {
				c.fail(err)
				return
			}
			if resp.TypeUrl == resourcev3.ClusterType && names == nil {
				names = edsNames(local, resp.Resources)
				c.edsSubs.Store(int64(len(names)))
				if err := s.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.EndpointType, ResourceNames: names}); err != nil {
					c.fail(err)
					return
				}
			}
			var ack []string
			if resp.TypeUrl == resourcev3.EndpointType {
				ack = names
				raw := make([][]byte, len(resp.Resources))
				for i, r := range resp.Resources {
					raw[i] = r.GetValue()
				}
				c.got(raw)
				if first {
					first = false
					c.initial <- nil
				}
			}
			if err := s.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resp.TypeUrl, ResourceNames: ack,
				VersionInfo: resp.VersionInfo, ResponseNonce: resp.Nonce}); err != nil {
				c.fail(err)
				return
			}
		}
	}()
	return c, nil
}

// edsNames are the local cluster and every EDS cluster of a CDS response.
func edsNames(local string, clusters []*anypb.Any) []string {
	names := []string{local}
	for _, a := range clusters {
		cl := &clusterv3.Cluster{}
		if a.UnmarshalTo(cl) == nil && cl.GetType() == clusterv3.Cluster_EDS {
			names = append(names, cl.Name)
		}
	}
	slices.Sort(names)
	return names
}

func (c *benchClient) got(raw [][]byte) {
	c.mu.Lock()
	c.lastEDS = raw
	c.mu.Unlock()
	if ch := c.marker.Load(); ch != nil {
		c.recheck(ch)
	}
}

// recheck reports the change once if the last endpoint response holds it.
func (c *benchClient) recheck(ch *change) {
	c.mu.Lock()
	raw := c.lastEDS
	c.mu.Unlock()
	for _, r := range raw {
		if bytes.Contains(r, ch.ip) {
			if c.seen.CompareAndSwap(false, true) {
				ch.arrived()
			}
			return
		}
	}
}

func (c *benchClient) fail(err error) {
	select {
	case c.initial <- err:
	default:
	}
}

func (c *benchClient) waitInitial() error {
	select {
	case err := <-c.initial:
		return err
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("no initial endpoints")
	}
}

func (c *benchClient) close() { c.cancel(); c.conn.Close() }

var benchState struct {
	sync.Mutex
	ns    string
	shape benchShape
}

// benchNamespace creates the benchmark's objects once per process: DDSD
// names do not include the namespace, so a second set would merge with it.
func benchNamespace(b *testing.B, env *envtest.Env, sh benchShape) string {
	benchState.Lock()
	defer benchState.Unlock()
	if benchState.ns == "" {
		benchState.ns, benchState.shape = benchObjects(b, env, sh), sh
	}
	if benchState.shape != sh {
		b.Fatal("one size per process")
	}
	return benchState.ns
}

// benchObjects creates the Services, their slices, three zoned nodes and
// the callers' identities (one injected pod each, declaring its callees
// when sh.calls is set) in a new namespace.
func benchObjects(b *testing.B, env *envtest.Env, sh benchShape) string {
	services := sh.services
	b.Helper()
	nsObj, err := env.CreateNamespace(context.Background(), "bench-", false)
	if err != nil {
		b.Fatal(err)
	}
	ns := nsObj.Name
	for _, z := range []string{zoneA, zoneB, zoneC} {
		if _, err := env.CreateNode(context.Background(), envtest.NodeSpec{Name: ns + "-" + z, Zone: z}); err != nil {
			b.Fatal(err)
		}
	}
	work := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				// Headless: envtest's Service range has too few IPs for 1,000.
				svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%04d", i), Namespace: ns},
					Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
				if err := env.Client.Create(context.Background(), svc); err != nil {
					errs <- err
					return
				}
				eps := make([]string, benchEndpoints)
				for j := range eps {
					eps[j] = fmt.Sprintf("10.%d.%d.%d", 1+i/250, i%250, j+1)
				}
				if err := env.Client.Create(context.Background(), benchSlice(ns, i, eps)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range services {
		select {
		case work <- i:
		case err := <-errs:
			b.Fatal(err)
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	for k := range sh.identities {
		// On a node: an identity's pods count (and claim its name, and
		// declare its calls) once they are placed.
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: benchIdentity(k), Namespace: ns, Labels: map[string]string{"app": benchIdentity(k)}},
			Spec: corev1.PodSpec{NodeName: ns + "-" + zoneA, Containers: []corev1.Container{{Name: "app", Image: "app"}, {Name: mutate.SidecarName, Image: "envoy",
				Args: []string{mutate.ServiceClusterFlag, benchIdentity(k) + ".service.prod.ddsd"}}}}}
		if sh.calls > 0 {
			var callees []string
			for svc := range services {
				if sh.callsSvc(k, svc) {
					callees = append(callees, fmt.Sprintf("svc-%04d", svc))
				}
			}
			pod.Annotations = map[string]string{mutate.AnnotationCalls: strings.Join(callees, ",")}
		}
		if err := env.Client.Create(context.Background(), pod); err != nil {
			b.Fatal(err)
		}
	}
	return ns
}

func benchSlice(ns string, svc int, eps []string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: fmt.Sprintf("svc-%04d-1", svc), Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: fmt.Sprintf("svc-%04d", svc)}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
	}
	zones := []string{zoneA, zoneB, zoneC}
	for j, ip := range eps {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Zone: ptr.To(zones[j%3]),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return s
}

// benchSetEndpoints replaces the first len(ips) endpoints of a Service's
// slice.
func benchSetEndpoints(b *testing.B, env *envtest.Env, ns string, svc int, ips []string) {
	b.Helper()
	s := &discoveryv1.EndpointSlice{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("svc-%04d-1", svc)}, s); err != nil {
		b.Fatal(err)
	}
	for j, ip := range ips {
		s.Endpoints[j].Addresses = []string{ip}
	}
	if err := env.Client.Update(context.Background(), s); err != nil {
		b.Fatal(err)
	}
}

// buildBinary builds a command of this module as the image does
// (CGO_ENABLED=0).
func buildBinary(b *testing.B, pkg string) string {
	b.Helper()
	root, err := envtest.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// bareSetEndpoints asks hack/bench/barexds to change a Service's first
// endpoints, as benchSetEndpoints writes its EndpointSlice.
func bareSetEndpoints(b *testing.B, control string, svc int, ips []string) {
	b.Helper()
	resp, err := http.Post(fmt.Sprintf("http://%s/endpoints?service=%d&ips=%s", control, svc, strings.Join(ips, ",")), "", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		b.Fatalf("barexds: %s: %s", resp.Status, msg)
	}
}

func loopbackPort(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitReady(b *testing.B, url string) {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("%s never ready", url)
}

// profileAtPeaks takes a heap profile (in use and allocated) and the
// goroutine profile of the server each time its RSS exceeds by a fifth the
// RSS at the last one taken, so the files left in dir are from near the
// peak. The stop function waits for the sampler to end.
func profileAtPeaks(b *testing.B, pid int, base, dir string) (stop func()) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		var last int64
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				return
			}
			var rss int64
			for _, line := range strings.Split(string(data), "\n") {
				if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
					rss, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
				}
			}
			if rss <= last*6/5 {
				continue
			}
			last = rss
			for name, path := range map[string]string{
				"heap.pb.gz": "/debug/pprof/heap", "memstats.txt": "/debug/pprof/heap?debug=1", "goroutine.txt": "/debug/pprof/goroutine?debug=1",
			} {
				resp, err := http.Get(base + path)
				if err != nil {
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				_ = os.WriteFile(filepath.Join(dir, name), body, 0o644)
			}
			_ = os.WriteFile(filepath.Join(dir, "rss.txt"), []byte(fmt.Sprintf("%d kB at %s\n", rss, time.Now().Format(time.RFC3339))), 0o644)
		}
	}()
	return func() { close(done); <-ended }
}

// procStatus reads a kB field of /proc/<pid>/status.
func procStatus(b *testing.B, pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	b.Fatalf("no %s", field)
	return 0
}

// procCPU is the process's user plus system time (clock ticks of 10ms).
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
