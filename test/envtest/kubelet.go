package envtest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

// PodCIDR is where the Kubelet takes pod IPs from: a private range, used
// only as data in the API (EndpointSlices); nothing connects to it.
var PodCIDR = netip.MustParsePrefix("10.200.0.0/16")

// KubeletSkipLabel, "true" on a pod, makes the Kubelet leave it alone:
// for benchmarks that measure placement only, without the Kubelet's own
// load on the API server.
const KubeletSkipLabel = "envtest.inzone.io/no-kubelet"

// kubeletWorkers is how many pods the Kubelet updates at once.
const kubeletWorkers = 4

// Kubelet plays the kubelet of every node, since none runs: it watches all
// pods and
//   - sets each pod bound to a node Running and Ready (conditions and
//     container statuses) with a pod IP from PodCIDR, unique among the pods
//     it has seen, and the node's name as host;
//   - deletes a bound pod marked for deletion at once (grace period 0), as
//     a kubelet does once the containers stopped; otherwise it would stay
//     Terminating forever.
//
// It leaves pods labelled KubeletSkipLabel=true alone.
//
// Start it with Options.Kubelet; Env.Stop stops it.
type Kubelet struct {
	cs     kubernetes.Interface
	queue  workqueue.TypedRateLimitingInterface[types.NamespacedName]
	lister cache.Indexer
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	ips  map[types.UID]netip.Addr
	next netip.Addr
}

// startKubelet starts the Kubelet and waits for its pod cache to fill.
func startKubelet(cfg *rest.Config) (*Kubelet, error) {
	cfg = rest.CopyConfig(cfg)
	// Thousands of status updates in a benchmark: client-go's default 5 QPS
	// would be the bottleneck, not the scheduler.
	cfg.QPS, cfg.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	k := &Kubelet{
		cs:     cs,
		queue:  workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName]()),
		cancel: cancel,
		ips:    map[types.UID]netip.Addr{},
		next:   PodCIDR.Addr().Next(),
	}
	factory := informers.NewSharedInformerFactory(cs, 0)
	inf := factory.Core().V1().Pods().Informer()
	enqueue := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok && k.needsWork(pod) {
			k.queue.Add(types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name})
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		cancel()
		return nil, err
	}
	k.lister = inf.GetIndexer()
	factory.Start(ctx.Done())
	syncCtx, syncCancel := context.WithTimeout(ctx, startTimeout)
	defer syncCancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		k.stop()
		factory.Shutdown()
		return nil, errors.New("kubelet: the pod cache did not sync")
	}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		<-ctx.Done()
		factory.Shutdown()
	}()
	for range kubeletWorkers {
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			for k.processNext(ctx) {
			}
		}()
	}
	return k, nil
}

// stop stops the workers and the informer and waits for them.
func (k *Kubelet) stop() {
	k.cancel()
	k.queue.ShutDown()
	k.wg.Wait()
}

// needsWork: bound, not skipped, and either marked for deletion or not yet
// Ready with an IP.
func (k *Kubelet) needsWork(pod *corev1.Pod) bool {
	if pod.Spec.NodeName == "" || pod.Labels[KubeletSkipLabel] == "true" {
		return false
	}
	return pod.DeletionTimestamp != nil || pod.Status.PodIP == "" || !IsPodReady(pod)
}

func (k *Kubelet) processNext(ctx context.Context) bool {
	key, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(key)
	if err := k.sync(ctx, key); err != nil && ctx.Err() == nil {
		k.queue.AddRateLimited(key)
		return true
	}
	k.queue.Forget(key)
	return true
}

// sync brings one pod to where a kubelet would.
func (k *Kubelet) sync(ctx context.Context, key types.NamespacedName) error {
	obj, ok, err := k.lister.GetByKey(key.Namespace + "/" + key.Name)
	if err != nil || !ok {
		return err
	}
	pod := obj.(*corev1.Pod)
	if !k.needsWork(pod) {
		return nil
	}
	pods := k.cs.CoreV1().Pods(pod.Namespace)
	if pod.DeletionTimestamp != nil {
		err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // gone, or another pod of the same name
		}
		return err
	}
	ip, err := k.ipFor(pod.UID)
	if err != nil {
		return err
	}
	running := pod.DeepCopy()
	setRunningReady(running, ip, metav1.Now())
	_, err = pods.UpdateStatus(ctx, running, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// ipFor is the pod's address, allocated once per pod UID.
func (k *Kubelet) ipFor(uid types.UID) (netip.Addr, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if ip, ok := k.ips[uid]; ok {
		return ip, nil
	}
	if !PodCIDR.Contains(k.next.Next()) { // the last address is the broadcast one
		return netip.Addr{}, fmt.Errorf("kubelet: %s has no address left for another pod", PodCIDR)
	}
	ip := k.next
	k.next = k.next.Next()
	k.ips[uid] = ip
	return ip, nil
}

// setRunningReady writes the status a kubelet reports for a pod whose
// containers all started and passed readiness.
func setRunningReady(pod *corev1.Pod, ip netip.Addr, now metav1.Time) {
	st := &pod.Status
	st.Phase = corev1.PodRunning
	st.PodIP = ip.String()
	st.PodIPs = []corev1.PodIP{{IP: ip.String()}}
	if st.StartTime == nil {
		st.StartTime = &now
	}
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		setCondition(st, t, now)
	}
	st.InitContainerStatuses = containerStatuses(pod.Spec.InitContainers, st.InitContainerStatuses, now, true)
	st.ContainerStatuses = containerStatuses(pod.Spec.Containers, st.ContainerStatuses, now, false)
}

func setCondition(st *corev1.PodStatus, t corev1.PodConditionType, now metav1.Time) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			if st.Conditions[i].Status != corev1.ConditionTrue {
				st.Conditions[i].Status = corev1.ConditionTrue
				st.Conditions[i].LastTransitionTime = now
			}
			return
		}
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
}

// containerStatuses: app containers and restartable (sidecar) init
// containers run and are ready; other init containers have completed.
func containerStatuses(cs []corev1.Container, old []corev1.ContainerStatus, now metav1.Time, init bool) []corev1.ContainerStatus {
	out := make([]corev1.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		s := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: "envtest://" + c.Name}
		for _, o := range old {
			if o.Name == c.Name {
				s.RestartCount = o.RestartCount
			}
		}
		if init && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
			s.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}
			s.Ready = true
		} else {
			s.State.Running = &corev1.ContainerStateRunning{StartedAt: now}
			s.Ready, s.Started = true, ptr.To(true)
		}
		out = append(out, s)
	}
	return out
}

// IsPodReady reports whether the pod's Ready condition is True.
func IsPodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
