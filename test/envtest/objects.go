package envtest

import (
	"context"
	"fmt"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/inzone-io/inzone/mutate"
)

func metaType(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: kind}
}

func objectMeta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }

func matchLabels(k, v string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{k: v}}
}

// CreateNamespace creates a namespace named generateName plus a random
// suffix, labelled for injection when inject is true.
func (e *Env) CreateNamespace(ctx context.Context, generateName string, inject bool) (*corev1.Namespace, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: generateName}}
	if inject {
		ns.Labels = map[string]string{mutate.LabelInject: mutate.InjectEnabled}
	}
	if err := e.Client.Create(ctx, ns); err != nil {
		return nil, fmt.Errorf("creating namespace %s*: %w", generateName, err)
	}
	return ns, nil
}

// CreatePod creates pod and reads it back from the API server, so callers
// assert on what was stored, not on what Create returned. pod is not
// modified. The warnings are the API server's for the create.
func (e *Env) CreatePod(ctx context.Context, pod *corev1.Pod, opts ...client.CreateOption) (*corev1.Pod, []string, error) {
	obj := pod.DeepCopy()
	ctx, w := WithWarnings(ctx)
	if err := e.Client.Create(ctx, obj, opts...); err != nil {
		return nil, w.List(), err
	}
	stored := &corev1.Pod{}
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(obj), stored); err != nil {
		return nil, w.List(), fmt.Errorf("reading back pod %s/%s: %w", obj.Namespace, obj.Name, err)
	}
	return stored, w.List(), nil
}

// DryRunPod dry-run creates pod and returns what the API server would store.
func (e *Env) DryRunPod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, []string, error) {
	obj := pod.DeepCopy()
	ctx, w := WithWarnings(ctx)
	err := e.Client.Create(ctx, obj, client.DryRunAll)
	return obj, w.List(), err
}

// NodeSpec describes a Node for CreateNode. Zero fields get defaults.
type NodeSpec struct {
	Name string
	// Zone is topology.kubernetes.io/zone. Region defaults to the zone
	// without its last letter (us-east-1a -> us-east-1).
	Zone, Region string
	// Capacity defaults to cpu 8, memory 32Gi, pods 110.
	CPU, Memory string
	Pods        int
	// Labels are added to the topology and hostname labels.
	Labels map[string]string
}

// CreateNode creates a schedulable Node: zone, region and hostname labels,
// Ready with capacity and allocatable set through the status subresource,
// and without the node.kubernetes.io/not-ready taint the API server's
// TaintNodesByCondition admission puts on every new node (no node lifecycle
// controller runs to remove it).
func (e *Env) CreateNode(ctx context.Context, spec NodeSpec) (*corev1.Node, error) {
	if spec.Region == "" && len(spec.Zone) > 1 {
		spec.Region = strings.TrimRight(spec.Zone, "abcdefghijklmnopqrstuvwxyz")
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Labels: map[string]string{
		corev1.LabelHostname: spec.Name,
	}}}
	if spec.Zone != "" {
		node.Labels[corev1.LabelTopologyZone] = spec.Zone
	}
	if spec.Region != "" {
		node.Labels[corev1.LabelTopologyRegion] = spec.Region
	}
	for k, v := range spec.Labels {
		node.Labels[k] = v
	}
	if err := e.Client.Create(ctx, node); err != nil {
		return nil, fmt.Errorf("creating node %s: %w", spec.Name, err)
	}
	pods := spec.Pods
	if pods <= 0 {
		pods = 110
	}
	cpu, err := resource.ParseQuantity(or(spec.CPU, "8"))
	if err != nil {
		return nil, fmt.Errorf("node %s cpu: %w", spec.Name, err)
	}
	mem, err := resource.ParseQuantity(or(spec.Memory, "32Gi"))
	if err != nil {
		return nil, fmt.Errorf("node %s memory: %w", spec.Name, err)
	}
	res := corev1.ResourceList{
		corev1.ResourceCPU:    cpu,
		corev1.ResourceMemory: mem,
		corev1.ResourcePods:   *resource.NewQuantity(int64(pods), resource.DecimalSI),
	}
	now := metav1.NewTime(time.Now())
	node.Status = corev1.NodeStatus{
		Capacity:    res,
		Allocatable: res.DeepCopy(),
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "envtest node", LastHeartbeatTime: now, LastTransitionTime: now,
		}},
	}
	if err := e.Client.Status().Update(ctx, node); err != nil {
		return nil, fmt.Errorf("setting node %s Ready: %w", spec.Name, err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(node), node); err != nil {
			return err
		}
		kept := node.Spec.Taints[:0]
		for _, t := range node.Spec.Taints {
			if t.Key != corev1.TaintNodeNotReady {
				kept = append(kept, t)
			}
		}
		node.Spec.Taints = kept
		return e.Client.Update(ctx, node)
	})
	if err != nil {
		return nil, fmt.Errorf("removing the not-ready taint from node %s: %w", spec.Name, err)
	}
	return node, nil
}

// Warnings collects the API server's warnings for the requests made with a
// context from WithWarnings.
type Warnings struct {
	mu   sync.Mutex
	list []string
}

// List returns the warnings so far.
func (w *Warnings) List() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.list...)
}

type warningsKey struct{}

// WithWarnings returns a context whose requests through Env.Config (and
// Env.Client) record their warnings in the returned Warnings.
func WithWarnings(ctx context.Context) (context.Context, *Warnings) {
	w := &Warnings{}
	return context.WithValue(ctx, warningsKey{}, w), w
}

// warningRecorder is a rest.WarningHandlerWithContext that appends to the
// Warnings in the request's context and drops the others.
type warningRecorder struct{}

func (warningRecorder) HandleWarningHeaderWithContext(ctx context.Context, code int, _ string, text string) {
	if code != 299 {
		return
	}
	if w, ok := ctx.Value(warningsKey{}).(*Warnings); ok {
		w.mu.Lock()
		w.list = append(w.list, text)
		w.mu.Unlock()
	}
}

func newStderrLogger() logr.Logger {
	return zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true))
}

func discardLogger() logr.Logger { return logr.Discard() }

// RawGet GETs an API server path (e.g. /version) and returns the body.
func (e *Env) RawGet(ctx context.Context, path string) ([]byte, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(e.Config)
	if err != nil {
		return nil, err
	}
	return dc.RESTClient().Get().AbsPath(path).DoRaw(ctx)
}

// WriteKubeconfig writes a kubeconfig for the API server with the admin
// client certificate, for kubectl and plugins run against it.
func (e *Env) WriteKubeconfig(path string) error {
	return e.writeKubeconfig(path, "")
}

// writeKubeconfig writes a kubeconfig with the admin client certificate
// that, when impersonate is not empty, acts as that user, so requests are
// authorized as it.
func (e *Env) writeKubeconfig(path, impersonate string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: e.Config.Host, CertificateAuthorityData: e.Config.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: e.Config.CertData, ClientKeyData: e.Config.KeyData, Impersonate: impersonate}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	return clientcmd.WriteToFile(*kc, path)
}
