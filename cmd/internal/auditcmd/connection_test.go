package auditcmd

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/inzone-io/inzone/cmd/internal/cli"
)

// kubeconfigFixture writes a kubeconfig with three contexts into a new
// directory and returns the directory and the file:
//   - a (current): cluster a, CA ca.crt (relative), user a with a token,
//     namespace team-a;
//   - b: cluster b, insecure, user b with a client certificate and key;
//   - z: cluster a, user z whose tokenFile is /dev/zero.
func kubeconfigFixture(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	for _, name := range []string{"ca.crt", "b.crt", "b.key", "other.crt", "c.crt", "c.key"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not read before a request\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["a"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:6443", CertificateAuthority: "ca.crt"}
	kc.Clusters["b"] = &clientcmdapi.Cluster{Server: "https://127.0.0.2:6443", InsecureSkipTLSVerify: true}
	kc.AuthInfos["a"] = &clientcmdapi.AuthInfo{Token: "token-a"}
	kc.AuthInfos["b"] = &clientcmdapi.AuthInfo{ClientCertificate: "b.crt", ClientKey: "b.key"}
	kc.AuthInfos["z"] = &clientcmdapi.AuthInfo{TokenFile: "/dev/zero"}
	kc.Contexts["a"] = &clientcmdapi.Context{Cluster: "a", AuthInfo: "a", Namespace: "team-a"}
	kc.Contexts["b"] = &clientcmdapi.Context{Cluster: "b", AuthInfo: "b"}
	kc.Contexts["z"] = &clientcmdapi.Context{Cluster: "a", AuthInfo: "z"}
	kc.CurrentContext = "a"
	path = filepath.Join(dir, "config")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

// parseConnection binds ConnectionFlags on a fresh flag set and parses
// args, with $KUBECONFIG set to kubeconfig.
func parseConnection(t *testing.T, kubeconfig string, args ...string) *ConnectionFlags {
	t.Helper()
	t.Setenv(clientcmd.RecommendedConfigPathEnvVar, kubeconfig)
	t.Setenv("KUBERNETES_MASTER", "")
	c := &ConnectionFlags{}
	fs := pflag.NewFlagSet("audit", pflag.ContinueOnError)
	c.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	return c
}

// TestConnectionFlags: each kubectl flag lands in the rest.Config field
// or namespace kubectl puts it in, over the kubeconfig's value.
func TestConnectionFlags(t *testing.T) {
	dir, kubeconfig := kubeconfigFixture(t)
	in := func(name string) string { return filepath.Join(dir, name) }
	other := filepath.Join(t.TempDir(), "other-config")
	otherKC := clientcmdapi.NewConfig()
	otherKC.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://127.0.0.3:6443", InsecureSkipTLSVerify: true}
	otherKC.AuthInfos["c"] = &clientcmdapi.AuthInfo{Token: "token-c"}
	otherKC.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "c", Namespace: "team-c"}
	otherKC.CurrentContext = "c"
	if err := clientcmd.WriteToFile(*otherKC, other); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		kubeconfig string // $KUBECONFIG; "" is the fixture
		args       []string
		namespace  string
		check      func(*rest.Config) string // "" when right, else what is wrong
	}{
		{"the current context", "", nil, "team-a", func(c *rest.Config) string {
			return want(c.Host == "https://127.0.0.1:6443" && c.BearerToken == "token-a" && c.CAFile == in("ca.crt"), c)
		}},
		{"--context", "", []string{"--context", "b"}, "default", func(c *rest.Config) string {
			return want(c.Host == "https://127.0.0.2:6443" && c.Insecure && c.CertFile == in("b.crt") && c.KeyFile == in("b.key") && c.BearerToken == "", c)
		}},
		{"-n", "", []string{"-n", "shop"}, "shop", nil},
		{"--namespace over another context", "", []string{"--namespace=shop", "--context=b"}, "shop", nil},
		{"-n strips kubectl's ns/ prefix (clientcmd's binding)", "", []string{"-n", "ns/shop"}, "shop", nil},
		{"--cluster", "", []string{"--cluster", "b"}, "team-a", func(c *rest.Config) string {
			return want(c.Host == "https://127.0.0.2:6443" && c.Insecure && c.BearerToken == "token-a", c)
		}},
		{"--user", "", []string{"--user", "b"}, "team-a", func(c *rest.Config) string {
			return want(c.BearerToken == "" && c.CertFile == in("b.crt") && c.KeyFile == in("b.key"), c)
		}},
		{"-s", "", []string{"-s", "https://127.0.0.9:8443"}, "team-a", func(c *rest.Config) string {
			return want(c.Host == "https://127.0.0.9:8443", c)
		}},
		{"--server", "", []string{"--server=https://127.0.0.9:8443"}, "team-a", func(c *rest.Config) string {
			return want(c.Host == "https://127.0.0.9:8443", c)
		}},
		{"--token", "", []string{"--token", "t0k3n"}, "team-a", func(c *rest.Config) string {
			return want(c.BearerToken == "t0k3n", c)
		}},
		{"impersonation", "", []string{"--as", "alice", "--as-group", "g1", "--as-group", "g2", "--as-uid", "42",
			"--as-user-extra", "scopes=view", "--as-user-extra", "scopes=edit", "--as-user-extra", "empty="}, "team-a", func(c *rest.Config) string {
			return want(reflect.DeepEqual(c.Impersonate, rest.ImpersonationConfig{
				UserName: "alice", UID: "42", Groups: []string{"g1", "g2"},
				Extra: map[string][]string{"scopes": {"view", "edit"}, "empty": {""}},
			}), c.Impersonate)
		}},
		{"--insecure-skip-tls-verify drops the kubeconfig's CA", "", []string{"--insecure-skip-tls-verify"}, "team-a", func(c *rest.Config) string {
			return want(c.Insecure && c.CAFile == "", c)
		}},
		{"--tls-server-name", "", []string{"--tls-server-name", "api.internal"}, "team-a", func(c *rest.Config) string {
			return want(c.ServerName == "api.internal", c)
		}},
		{"--certificate-authority", "", []string{"--certificate-authority", in("other.crt")}, "team-a", func(c *rest.Config) string {
			return want(c.CAFile == in("other.crt"), c)
		}},
		{"--client-certificate and --client-key", "", []string{"--client-certificate", in("c.crt"), "--client-key", in("c.key")}, "team-a", func(c *rest.Config) string {
			return want(c.CertFile == in("c.crt") && c.KeyFile == in("c.key"), c)
		}},
		{"--request-timeout with a unit", "", []string{"--request-timeout", "5s"}, "team-a", func(c *rest.Config) string {
			return want(c.Timeout == 5*time.Second, c.Timeout)
		}},
		{"--request-timeout in seconds", "", []string{"--request-timeout", "7"}, "team-a", func(c *rest.Config) string {
			return want(c.Timeout == 7*time.Second, c.Timeout)
		}},
		{"no --request-timeout: none", "", nil, "team-a", func(c *rest.Config) string {
			return want(c.Timeout == 0, c.Timeout)
		}},
		{"--disable-compression", "", []string{"--disable-compression"}, "team-a", func(c *rest.Config) string {
			return want(c.DisableCompression, c)
		}},
		{"--proxy-url", "", []string{"--proxy-url", "http://127.0.0.1:3128"}, "team-a", func(c *rest.Config) string {
			if c.Proxy == nil {
				return "no proxy"
			}
			u, err := c.Proxy(&http.Request{})
			return want(err == nil && u != nil && u.String() == "http://127.0.0.1:3128", u)
		}},
		{"--kubeconfig over $KUBECONFIG", "", []string{"--kubeconfig", other}, "team-c", func(c *rest.Config) string {
			return want(c.Host == "https://127.0.0.3:6443" && c.BearerToken == "token-c", c)
		}},
		{"$KUBECONFIG skips a missing file and merges", "/nonexistent/config" + string(filepath.ListSeparator) + "FIXTURE" + string(filepath.ListSeparator) + other,
			[]string{"--context", "c"}, "team-c", func(c *rest.Config) string {
				return want(c.Host == "https://127.0.0.3:6443", c)
			}},
		{"no kubeconfig: kubectl's default server", "/nonexistent/config", nil, "default", func(c *rest.Config) string {
			return want(c.Host == "http://localhost:8080", c.Host)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := strings.ReplaceAll(tt.kubeconfig, "FIXTURE", kubeconfig)
			if env == "" {
				env = kubeconfig
			}
			c := parseConnection(t, env, tt.args...)
			ns, err := c.Namespace()
			if err != nil {
				t.Fatalf("namespace: %v", err)
			}
			if ns != tt.namespace {
				t.Errorf("namespace %q, want %q", ns, tt.namespace)
			}
			cfg, err := c.RESTConfig()
			if err != nil {
				t.Fatalf("rest config: %v", err)
			}
			if tt.check != nil {
				if msg := tt.check(cfg); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
}

// want is "" when ok, else what was got, for the table's checks.
func want(ok bool, got any) string {
	if ok {
		return ""
	}
	return fmt.Sprintf("got %v", got)
}

// TestConnectionHostileInputs: a kubeconfig or a file it names that is a
// directory, a device, a named pipe or too large is refused, by name,
// before client-go reads it (a read of /dev/zero would not end); bad flag
// values are errors naming the flag.
func TestConnectionHostileInputs(t *testing.T) {
	dir, kubeconfig := kubeconfigFixture(t)
	huge := filepath.Join(t.TempDir(), "huge")
	if err := os.WriteFile(huge, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, MaxKubeconfigBytes+1); err != nil { // sparse: no disk
		t.Fatal(err)
	}
	garbage := writeFile(t, "garbage", "apiVersion: v1\nkind: Config\nclusters: {{{\n")
	devZero := "/dev/zero"
	if _, err := os.Stat(devZero); err != nil {
		t.Skipf("no %s: %v", devZero, err)
	}
	linkToZero := filepath.Join(t.TempDir(), "config")
	if err := os.Symlink(devZero, linkToZero); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		kubeconfig string // $KUBECONFIG; "" is the fixture
		args       []string
		want       string
	}{
		{"--kubeconfig a directory", "", []string{"--kubeconfig", dir}, "--kubeconfig " + dir + ": is a directory"},
		{"--kubeconfig /dev/zero", "", []string{"--kubeconfig", devZero}, "--kubeconfig /dev/zero: not a regular file (a character device)"},
		{"--kubeconfig a symlink to /dev/zero", "", []string{"--kubeconfig", linkToZero}, "not a regular file (a character device)"},
		{"--kubeconfig too large", "", []string{"--kubeconfig", huge}, "16777217 bytes, over the limit of 16777216"},
		{"--kubeconfig missing", "", []string{"--kubeconfig", "/nonexistent/config"}, "--kubeconfig: stat /nonexistent/config: no such file"},
		{"--kubeconfig not YAML", "", []string{"--kubeconfig", garbage}, "loading the kubeconfig: error loading config file"},
		{"$KUBECONFIG /dev/zero", devZero, nil, "kubeconfig from $KUBECONFIG /dev/zero: not a regular file"},
		{"$KUBECONFIG with a directory", kubeconfig + string(filepath.ListSeparator) + dir, nil, "kubeconfig from $KUBECONFIG " + dir + ": is a directory"},
		{"--certificate-authority /dev/zero", "", []string{"--certificate-authority", devZero}, "--certificate-authority /dev/zero: not a regular file"},
		{"--client-certificate a directory", "", []string{"--client-certificate", dir}, "--client-certificate " + dir + ": is a directory"},
		{"--client-key too large", "", []string{"--client-key", huge}, "--client-key " + huge + ": 16777217 bytes"},
		{"the kubeconfig's tokenFile /dev/zero", "", []string{"--context", "z"}, `tokenFile of user "z" /dev/zero: not a regular file`},
		{"--user with tokenFile /dev/zero", "", []string{"--user", "z"}, `tokenFile of user "z" /dev/zero: not a regular file`},
		{"--as-user-extra without =", "", []string{"--as-user-extra", "scopes"}, `--as-user-extra "scopes": want key=value`},
		{"--as-user-extra without a key", "", []string{"--as-user-extra", "=v"}, `--as-user-extra "=v": want key=value`},
		{"-n a path", "", []string{"-n", "../nodes"}, `namespace "../nodes" (-n or the kubeconfig's context)`},
		{"-n shell metacharacters", "", []string{"-n", "$(rm -rf /);`id`"}, `namespace "$(rm -rf /);`},
		{"-n too long", "", []string{"-n", strings.Repeat("a", 64)}, "must be no more than 63 characters"},
		{"--context unknown", "", []string{"--context", "nope"}, `context was not found for specified context: nope`},
		{"--request-timeout not a duration", "", []string{"--request-timeout", "soon"}, `--request-timeout "soon": Invalid timeout value`},
		{"--request-timeout negative", "", []string{"--request-timeout", "-5s"}, `--request-timeout "-5s": out of range`},
		{"--request-timeout past time.Duration", "", []string{"--request-timeout", "9223372037"}, `--request-timeout "9223372037": out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.kubeconfig
			if env == "" {
				env = kubeconfig
			}
			c := parseConnection(t, env, tt.args...)
			_, nsErr := c.Namespace()
			_, cfgErr := c.RESTConfig()
			err := nsErr
			if err == nil {
				err = cfgErr
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestConnectionFlagSet: the audit registers every flag cli-runtime's
// ConfigFlags registered for kubectl plugins, with the same shorthand and
// default, but --cache-dir (its discovery cache was never used).
func TestConnectionFlagSet(t *testing.T) {
	fs := NewCommand(cli.Streams{}).Flags()
	for _, tt := range []struct{ name, shorthand, def string }{
		{"kubeconfig", "", ""},
		{"context", "", ""},
		{"cluster", "", ""},
		{"user", "", ""},
		{"namespace", "n", ""},
		{"server", "s", ""},
		{"token", "", ""},
		{"as", "", ""},
		{"as-group", "", "[]"},
		{"as-uid", "", ""},
		{"as-user-extra", "", "[]"},
		{"certificate-authority", "", ""},
		{"client-certificate", "", ""},
		{"client-key", "", ""},
		{"insecure-skip-tls-verify", "", "false"},
		{"tls-server-name", "", ""},
		{"request-timeout", "", "0"},
		{"disable-compression", "", "false"},
		{"proxy-url", "", ""},
	} {
		f := fs.Lookup(tt.name)
		if f == nil {
			t.Errorf("--%s is not registered", tt.name)
			continue
		}
		if f.Shorthand != tt.shorthand || f.DefValue != tt.def {
			t.Errorf("--%s: shorthand %q default %q, want %q %q", tt.name, f.Shorthand, f.DefValue, tt.shorthand, tt.def)
		}
	}
	for _, name := range []string{"username", "password", "cache-dir"} {
		if fs.Lookup(name) != nil {
			t.Errorf("--%s is registered", name)
		}
	}
}

// TestCompleteNamespace: the audit's namespace is -n, else the kubeconfig
// context's; -A reads all, and --from still defaults to the context's.
func TestCompleteNamespace(t *testing.T) {
	_, kubeconfig := kubeconfigFixture(t)
	for _, tt := range []struct {
		name          string
		args          []string
		all           bool
		wantNamespace string // "" is all namespaces
		wantDefault   string
	}{
		{"the context's", nil, false, "team-a", "team-a"},
		{"-n over the context's", []string{"-n", "shop"}, false, "shop", "shop"},
		{"a context without one: default", []string{"--context", "b"}, false, "default", "default"},
		{"-A", nil, true, "", "team-a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := &Options{Connection: parseConnection(t, kubeconfig, tt.args...), AllNamespaces: tt.all,
				Client: fake.NewClientset(), Output: "json", From: "app/web"}
			if err := o.Complete(); err != nil {
				t.Fatal(err)
			}
			if o.namespace != tt.wantNamespace || o.defaultNamespace != tt.wantDefault || o.from.Namespace != tt.wantDefault {
				t.Errorf("namespace %q, default %q, --from in %q; want %q, %q", o.namespace, o.defaultNamespace, o.from.Namespace, tt.wantNamespace, tt.wantDefault)
			}
		})
	}
}
