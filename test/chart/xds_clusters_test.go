package chart

import (
	"path"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/inzone-io/inzone/test/envtest"
)

// remoteSets are two remote clusters, the second with its own key.
var remoteSets = []string{
	"xds.remoteClusters[0].name=us-west-2", "xds.remoteClusters[0].secretName=inzone-us-west-2",
	"xds.remoteClusters[1].name=eu-central-1", "xds.remoteClusters[1].secretName=kubeconfigs", "xds.remoteClusters[1].key=eu.yaml",
}

var xdsClusterToggles = []toggle{
	{name: "inzone-xds reads two remote clusters and its own", sets: remoteSets, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			want := []string{"--in-cluster",
				"--kubeconfig=/etc/inzone-clusters/us-west-2/kubeconfig",
				"--kubeconfig=/etc/inzone-clusters/eu-central-1/eu.yaml"}
			if got := clusterArgs(xdsPod(t, objs)); !slices.Equal(got, want) {
				t.Errorf("cluster args %q, want %q", got, want)
			}
			wantSecrets := map[string]string{
				"/etc/inzone-clusters/us-west-2/kubeconfig": "inzone-us-west-2",
				"/etc/inzone-clusters/eu-central-1/eu.yaml": "kubeconfigs",
			}
			for file, secret := range wantSecrets {
				if got := kubeconfigSecret(t, xdsPod(t, objs), file); got != secret {
					t.Errorf("%s comes from Secret %q, want %q", file, got, secret)
				}
			}
		}},
	{name: "inzone-xds reads only a remote cluster", sets: append(slices.Clone(remoteSets[:2]), "xds.readLocalCluster=false"),
		kinds: withoutOne(withoutOne(selfManagedKinds, "ClusterRole"), "ClusterRoleBinding"),
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			want := []string{"--kubeconfig=/etc/inzone-clusters/us-west-2/kubeconfig"}
			if got := clusterArgs(xdsPod(t, objs)); !slices.Equal(got, want) {
				t.Errorf("cluster args %q, want %q", got, want)
			}
		}},
	{name: "readLocalCluster alone changes nothing", sets: []string{"xds.readLocalCluster=true"}, kinds: selfManagedKinds,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if got := clusterArgs(xdsPod(t, objs)); len(got) != 0 {
				t.Errorf("cluster args %q, want none: the default is the in-cluster config", got)
			}
		}},
}

func xdsPod(t testing.TB, objs []*unstructured.Unstructured) corev1.PodTemplateSpec {
	t.Helper()
	return into[appsv1.Deployment](t, find(t, objs, "Deployment", xdsName)).Spec.Template
}

// clusterArgs are inzone-xds's --in-cluster and --kubeconfig arguments.
func clusterArgs(pod corev1.PodTemplateSpec) []string {
	var out []string
	for _, a := range pod.Spec.Containers[0].Args {
		if a == "--in-cluster" || strings.HasPrefix(a, "--kubeconfig") {
			out = append(out, a)
		}
	}
	return out
}

// kubeconfigSecret is the Secret the kubelet projects file from: the
// read-only mount of the file's folder, of a Secret volume holding the
// file's name as a key (the whole Secret, no items: files the kubeconfig
// names relatively are beside it). Empty when there is none.
func kubeconfigSecret(t testing.TB, pod corev1.PodTemplateSpec, file string) string {
	t.Helper()
	dir, key := path.Split(file)
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		if m.MountPath+"/" != dir {
			continue
		}
		if !m.ReadOnly || m.SubPath != "" {
			t.Errorf("mount %s of %s: readOnly %v, subPath %q", m.Name, m.MountPath, m.ReadOnly, m.SubPath)
		}
		for _, v := range pod.Spec.Volumes {
			if v.Name == m.Name && v.Secret != nil && len(v.Secret.Items) == 0 && key != "" {
				if v.Secret.Optional != nil && *v.Secret.Optional {
					t.Errorf("Secret %s is optional: inzone-xds would start without the cluster", v.Secret.SecretName)
				}
				return v.Secret.SecretName
			}
		}
	}
	return ""
}

// checkXDSClusters: what no value may break in the clusters inzone-xds
// reads. Every --kubeconfig is a file of a Secret mounted read-only; the
// local cluster is read (so RBAC and a token are there) exactly when the
// arguments say so, and never through a path another mount could shadow.
func checkXDSClusters(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	pod := xdsPod(t, objs)
	args := clusterArgs(pod)
	readsLocal := len(args) == 0 || slices.Contains(args, "--in-cluster")
	dirs := map[string]bool{}
	for _, a := range args {
		file, ok := strings.CutPrefix(a, "--kubeconfig=")
		if !ok {
			continue
		}
		if kubeconfigSecret(t, pod, file) == "" {
			t.Errorf("%s: no Secret is mounted there", a)
		}
		if !strings.HasPrefix(file, "/etc/inzone-clusters/") || dirs[path.Dir(file)] {
			t.Errorf("%s: not in a folder of its own under /etc/inzone-clusters", a)
		}
		dirs[path.Dir(file)] = true
	}
	hasRBAC := findNamed(objs, "ClusterRole", xdsName) != nil && findNamed(objs, "ClusterRoleBinding", xdsName) != nil
	automount := pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken
	if readsLocal != hasRBAC || readsLocal != automount {
		t.Errorf("reads this cluster %v, yet its ClusterRole and binding rendered %v, token mounted %v", readsLocal, hasRBAC, automount)
	}
}

// TestRemoteClustersRefuseBadValues checks each bad remote cluster fails at
// helm time, naming the entry and field, before anything is applied.
func TestRemoteClustersRefuseBadValues(t *testing.T) {
	one := func(sets ...string) []string {
		return append([]string{"xds.remoteClusters[0].name=west", "xds.remoteClusters[0].secretName=kc-west"}, sets...)
	}
	tests := []struct {
		name string
		sets []string
		want string
	}{
		{"a name with capitals", one("xds.remoteClusters[0].name=West"), `xds.remoteClusters[0].name "West": not a DNS label`},
		{"a name that climbs out of its folder", one("xds.remoteClusters[0].name=../certs"), `xds.remoteClusters[0].name "../certs": not a DNS label`},
		{"a name with a slash", one("xds.remoteClusters[0].name=a/b"), `xds.remoteClusters[0].name "a/b": not a DNS label`},
		{"a name of 64 characters", one("xds.remoteClusters[0].name=" + strings.Repeat("a", 64)), "xds.remoteClusters[0].name"},
		{"a name with YAML in it", one(`string:xds.remoteClusters[0].name=a: b`), `xds.remoteClusters[0].name "a: b"`},
		{"two clusters of one name", one("xds.remoteClusters[1].name=west", "xds.remoteClusters[1].secretName=other"),
			`xds.remoteClusters[1].name "west": also the name of xds.remoteClusters[0]`},
		{"a Secret name with an underscore", one("xds.remoteClusters[0].secretName=kc_west"), `xds.remoteClusters[0].secretName "kc_west": not a Secret name`},
		{"a key the kubelet reserves", one("xds.remoteClusters[0].key=..data"), `xds.remoteClusters[0].key "..data": not a Secret key`},
		{"a key with a slash", one("xds.remoteClusters[0].key=a/kubeconfig"), `xds.remoteClusters[0].key "a/kubeconfig": not a Secret key`},
		{"no cluster at all", []string{"xds.readLocalCluster=false"}, "xds.readLocalCluster: false with no xds.remoteClusters"},
		{"an entry without a Secret", []string{"xds.remoteClusters[0].name=west"}, "/xds/remoteClusters/0"},
		{"an unknown field", one("xds.remoteClusters[0].secret=kc"), "secret"},
		{"a local switch that is not a boolean", []string{"string:xds.readLocalCluster=yes"}, "/xds/readLocalCluster"},
		{"no stream allowed", []string{"xds.maxStreams=0"}, "/xds/maxStreams"},
		{"a stream cap that is not a number", []string{"string:xds.maxStreams=lots"}, "/xds/maxStreams"},
		{"a sync timeout with a shell command", []string{"xds.clusterSyncTimeout=1m;reboot"}, "/xds/clusterSyncTimeout"},
		{"a sync timeout over an hour", []string{"xds.clusterSyncTimeout=2h"}, "/xds/clusterSyncTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helm(t, append([]string{"template", release, chartDir(t), "--namespace", namespace}, envtest.SetArgs(tt.sets)...)...)
			if err == nil {
				t.Fatalf("helm template accepted %q", tt.sets)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not name %s:\n%v", tt.want, err)
			}
		})
	}
}
