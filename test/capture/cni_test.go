package capture_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
)

// TestCNIPluginBinaryWithTheWebhook is cni mode end to end short of a
// kubelet: the webhook (config capture.mode cni) admits a pod on a real API
// server; the built inzone-cni binary, run as a container runtime runs it
// (CNI_* variables, the conflist entry on stdin), reads the pod's
// annotation through a kubeconfig and installs the rules in a network
// namespace the test created.
func TestCNIPluginBinaryWithTheWebhook(t *testing.T) {
	requireRootAndIptables(t)
	env := envtest.StartT(t, envtest.Options{})
	cfg := mutate.DefaultConfig()
	cfg.Sidecar.Capture.Mode = mutate.CaptureCNI
	if err := env.StartWebhook(envtest.WebhookOptions{Config: cfg}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns, err := env.CreateNamespace(ctx, "cni-", true)
	if err != nil {
		t.Fatal(err)
	}
	pod, _, err := env.CreatePod(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns.Name, Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{mutate.AnnotationExcludeOutboundPorts: "5432"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/web:1"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pod.Annotations[mutate.AnnotationCaptureCNI]; !ok {
		t.Fatalf("the webhook did not mark the pod for the plugin: %v", pod.Annotations)
	}

	bin, err := envtest.BuildBinary("./cmd/inzone-cni")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "inzone-cni.kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}
	tp := newTopology(t)
	conf := `{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"inzone-cni","kubeconfig":"` + kubeconfig +
		`","prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],"ips":[{"address":"192.0.2.1/24","interface":0}]}}`
	cni := func(command string) (string, error) {
		cmd := exec.Command(bin)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "CNI_COMMAND=" + command, "CNI_CONTAINERID=c0ffee",
			"CNI_NETNS=/run/netns/" + tp.app, "CNI_IFNAME=eth0", "CNI_PATH=" + dir,
			"CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=" + ns.Name + ";K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=c0ffee"}
		cmd.Stdin = strings.NewReader(conf)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}

	out, err := cni("ADD")
	if err != nil {
		t.Fatalf("ADD: %v\n%s", err, out)
	}
	var res struct {
		IPs []struct{ Address string } `json:"ips"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.IPs) != 1 || res.IPs[0].Address != "192.0.2.1/24" {
		t.Errorf("ADD did not pass the previous result on: %v\n%s", err, out)
	}
	rules := saved(t, tp.app)
	for _, want := range []string{"-A INZONE_OUTPUT -p tcp -m tcp --dport 5432 -j RETURN", "-A OUTPUT -p tcp -j INZONE_OUTPUT", "--to-ports 15001"} {
		if !strings.Contains(rules, want) {
			t.Errorf("rules lack %q:\n%s", want, rules)
		}
	}
	if out, err := cni("CHECK"); err != nil {
		t.Errorf("CHECK: %v\n%s", err, out)
	}
	if out, err := cni("ADD"); err != nil || saved(t, tp.app) != rules {
		t.Errorf("a second ADD: %v, or changed the rules\n%s", err, out)
	}
	if out, err := cni("DEL"); err != nil {
		t.Errorf("DEL: %v\n%s", err, out)
	}
	if out, err := cni("VERSION"); err != nil || !strings.Contains(out, `"1.0.0"`) {
		t.Errorf("VERSION: %v\n%s", err, out)
	}
}
