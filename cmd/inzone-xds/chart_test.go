package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/credentials/insecure"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/inzone-io/inzone/test/envtest"
)

// TestChartRenderedClustersAreRead runs the command with the arguments the
// chart renders for xds.remoteClusters plus the local cluster, against files
// laid out as the kubelet projects the chart's volumes: the ConfigMap, and
// the remote cluster's kubeconfig Secret, whose kubeconfig names its CA as
// a file beside it. The pod's own cluster is one real API server (standing
// in for the service account), the remote one another; a sidecar gets the
// endpoints of both.
func TestChartRenderedClustersAreRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, objs, err := envtest.RenderChart(ctx, "xds.plaintext=true", "xds.readLocalCluster=true",
		"xds.remoteClusters[0].name=us-west-2", "xds.remoteClusters[0].secretName=kc-us-west-2", "xds.remoteClusters[0].key=config")
	if errors.Is(err, envtest.ErrNoHelm) && !envtest.Required() {
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	local := envtest.StartT(t, envtest.Options{WithoutInzoneWebhook: true})
	remote := envtest.StartT(t, envtest.Options{WithoutInzoneWebhook: true})
	populate(t, local, "node-local", "us-east-1a", "10.10.0.1")
	populate(t, remote, "node-remote", "us-west-2b", "10.11.0.1")
	restore := inClusterConfig
	inClusterConfig = func() (*rest.Config, error) { return rest.CopyConfig(local.Config), nil }
	t.Cleanup(func() { inClusterConfig = restore })

	// What the admin puts in the Secret: a kubeconfig whose CA is a file of
	// the same Secret, named relatively.
	kc := clientcmdapi.NewConfig()
	kc.Clusters["west"] = &clientcmdapi.Cluster{Server: remote.Config.Host, CertificateAuthority: "ca.crt"}
	kc.AuthInfos["west"] = &clientcmdapi.AuthInfo{ClientCertificateData: remote.Config.CertData, ClientKeyData: remote.Config.KeyData}
	kc.Contexts["west"] = &clientcmdapi.Context{Cluster: "west", AuthInfo: "west"}
	kc.CurrentContext = "west"
	kcBytes, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]map[string][]byte{"kc-us-west-2": {"config": kcBytes, "ca.crt": remote.Config.CAData}}

	root := t.TempDir()
	var cm *corev1.ConfigMap
	var pod corev1.PodTemplateSpec
	for _, o := range objs {
		switch {
		case o.GetKind() == "ConfigMap":
			cm = into[corev1.ConfigMap](t, o)
		case o.GetKind() == "Deployment" && strings.HasSuffix(o.GetName(), "-xds"):
			pod = into[appsv1.Deployment](t, o).Spec.Template
		}
	}
	if cm == nil || len(pod.Spec.Containers) != 1 {
		t.Fatal("the rendering has no ConfigMap or inzone-xds Deployment")
	}
	c := pod.Spec.Containers[0]
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			switch {
			case v.ConfigMap != nil:
				for k, data := range cm.Data {
					project(t, root, m.MountPath, k, []byte(data))
				}
			case v.Secret != nil && secrets[v.Secret.SecretName] != nil:
				for k, data := range secrets[v.Secret.SecretName] {
					project(t, root, m.MountPath, k, data)
				}
			}
		}
	}

	health, xdsAddr := freePort(t), freePort(t)
	var args []string
	for _, a := range c.Args {
		flag, value, _ := strings.Cut(a, "=")
		switch {
		case flag == "--health-probe-bind-address":
			a = flag + "=" + health
		case flag == "--xds-address":
			a = flag + "=" + xdsAddr
		case strings.HasSuffix(flag, "-address"):
			a = flag + "=0"
		case strings.HasPrefix(value, "/"):
			a = flag + "=" + filepath.Join(root, value)
		}
		args = append(args, a)
	}
	if !strings.Contains(strings.Join(args, " "), "--in-cluster --kubeconfig="+root+"/etc/inzone-clusters/us-west-2/config") {
		t.Fatalf("the chart renders %q", c.Args)
	}

	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(rctx, args, io.Discard) }()
	t.Cleanup(func() {
		rcancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d after cancel, want 0", code)
		}
	})
	waitHTTP(t, "http://"+health+"/readyz", "ok")
	got := deltaEndpoints(t, ctx, xdsAddr, insecure.NewCredentials(), "multi.service.prod.ddsd:80")
	if want := "us-east-1/us-east-1a=10.10.0.1 us-west-2/us-west-2b=10.11.0.1"; strings.Join(got, " ") != want {
		t.Errorf("endpoints %v, want %s", got, want)
	}
}

// project writes a volume's key as the kubelet would, under root.
func project(t *testing.T, root, mountPath, key string, data []byte) {
	t.Helper()
	p := filepath.Join(root, mountPath, key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o440); err != nil {
		t.Fatal(err)
	}
}

func into[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	v, err := envtest.Into[T](u)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
