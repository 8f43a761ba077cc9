package auditcmd

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/inzone-io/inzone/internal/regularfile"
)

// ConnectionFlags are kubectl's flags for reaching the API server
// (--kubeconfig, --context, -n, -s, --token, --as, ...), bound with
// client-go's clientcmd, the library cli-runtime's ConfigFlags wraps.
// ConfigFlags is not used: its package also holds the resource builder's
// flags, which link kustomize (for `kubectl -k`), and the plugin must not.
// Flag names, shorthands, defaults and meanings are ConfigFlags'; what
// differs is said in the README (kubectl inzone audit).
type ConnectionFlags struct {
	// Kubeconfig is --kubeconfig; "" reads $KUBECONFIG or ~/.kube/config.
	Kubeconfig string
	// Overrides are the other flags, as clientcmd applies them over the
	// kubeconfig.
	Overrides clientcmd.ConfigOverrides
	// UserExtra is --as-user-extra, key=value, repeatable.
	UserExtra []string
}

// MaxKubeconfigBytes bounds each kubeconfig and each file it names
// (certificate authority, client certificate and key, token file):
// client-go reads them whole.
const MaxKubeconfigBytes = 16 << 20

// flagAsUserExtra is kubectl's flag clientcmd does not bind.
const flagAsUserExtra = "as-user-extra"

// AddFlags registers the flags on fs.
func (c *ConnectionFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "Path to the kubeconfig file to use for CLI requests.")
	names := clientcmd.RecommendedConfigOverrideFlags("")
	// As kubectl: -s for --server, and no basic auth (kubectl registers
	// --username and --password only where a command opts in).
	names.ClusterOverrideFlags.APIServer.ShortName = "s"
	names.AuthOverrideFlags.Username.LongName = ""
	names.AuthOverrideFlags.Password.LongName = ""
	clientcmd.BindOverrideFlags(&c.Overrides, fs, names)
	fs.StringArrayVar(&c.UserExtra, flagAsUserExtra, nil, "User extras to impersonate for the operation, this flag can be repeated to specify multiple values for the same key.")
}

// ClientConfig is the kubeconfig with the flags over it. It first checks
// that every kubeconfig it reads, and every file the chosen context's
// cluster and user name (and the flags), is a regular file of at most
// MaxKubeconfigBytes: client-go reads or opens them whole, so a directory,
// a device (/dev/zero) or a named pipe is a clear error, not a hang.
func (c *ConnectionFlags) ClientConfig() (clientcmd.ClientConfig, error) {
	// Built here, not in AddFlags: $KUBECONFIG is read now.
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.Kubeconfig
	// The audit is read-only: no copying of a pre-1.0 ~/.kube/.kubeconfig
	// to ~/.kube/config.
	rules.MigrationRules = nil
	// As kubectl: with no kubeconfig, the server is $KUBERNETES_MASTER or
	// http://localhost:8080, and in a pod the in-cluster config is used.
	rules.DefaultClientConfig = &clientcmd.DefaultClientConfig
	if c.Kubeconfig != "" {
		if err := checkFile("--kubeconfig", c.Kubeconfig, true); err != nil {
			return nil, err
		}
	} else {
		source := "~/.kube/config"
		if os.Getenv(clientcmd.RecommendedConfigPathEnvVar) != "" {
			source = "$" + clientcmd.RecommendedConfigPathEnvVar
		}
		for _, p := range rules.Precedence {
			if p == "" {
				continue
			}
			if err := checkFile("kubeconfig from "+source, p, false); err != nil {
				return nil, err
			}
		}
	}
	if err := checkRequestTimeout(c.Overrides.Timeout); err != nil {
		return nil, err
	}
	overrides := c.Overrides
	overrides.ClusterDefaults = clientcmd.ClusterDefaults
	if len(c.UserExtra) > 0 {
		extra, err := parseUserExtra(c.UserExtra)
		if err != nil {
			return nil, err
		}
		overrides.AuthInfo.ImpersonateUserExtra = extra
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	if err := checkReferencedFiles(raw, &overrides); err != nil {
		return nil, err
	}
	return cc, nil
}

// checkReferencedFiles checks, as ClientConfig checks the kubeconfigs,
// the files the flags name and those of the cluster and user the context
// chooses (after --context, --cluster and --user), before client-go opens
// them. A missing file is left to client-go's own error.
func checkReferencedFiles(raw clientcmdapi.Config, ov *clientcmd.ConfigOverrides) error {
	contextName := cmp.Or(ov.CurrentContext, raw.CurrentContext)
	var clusterName, userName string
	if ctx := raw.Contexts[contextName]; ctx != nil {
		clusterName, userName = ctx.Cluster, ctx.AuthInfo
	}
	clusterName = cmp.Or(ov.Context.Cluster, clusterName)
	userName = cmp.Or(ov.Context.AuthInfo, userName)
	cluster := raw.Clusters[clusterName]
	if cluster == nil {
		cluster = &clientcmdapi.Cluster{}
	}
	user := raw.AuthInfos[userName]
	if user == nil {
		user = &clientcmdapi.AuthInfo{}
	}
	for _, f := range []struct{ what, path string }{
		{"--certificate-authority", ov.ClusterInfo.CertificateAuthority},
		{"--client-certificate", ov.AuthInfo.ClientCertificate},
		{"--client-key", ov.AuthInfo.ClientKey},
		{fmt.Sprintf("certificate-authority of cluster %q", clusterName), cluster.CertificateAuthority},
		{fmt.Sprintf("client-certificate of user %q", userName), user.ClientCertificate},
		{fmt.Sprintf("client-key of user %q", userName), user.ClientKey},
		{fmt.Sprintf("tokenFile of user %q", userName), user.TokenFile},
	} {
		if f.path == "" {
			continue
		}
		if err := checkFile(f.what, f.path, false); err != nil {
			return err
		}
	}
	return nil
}

// Namespace is -n, or the kubeconfig context's namespace, or "default".
func (c *ConnectionFlags) Namespace() (string, error) {
	cc, err := c.ClientConfig()
	if err != nil {
		return "", err
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return "", fmt.Errorf("resolving the namespace: %w", err)
	}
	if msgs := validation.ValidateNamespaceName(ns, false); ns != "" && len(msgs) > 0 {
		return "", fmt.Errorf("namespace %q (-n or the kubeconfig's context): %s", ns, strings.Join(msgs, "; "))
	}
	return ns, nil
}

// RESTConfig is the client configuration.
func (c *ConnectionFlags) RESTConfig() (*rest.Config, error) {
	cc, err := c.ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	return cfg, nil
}

// checkRequestTimeout refuses a --request-timeout clientcmd would take
// as negative, or as a number of seconds past time.Duration's range.
func checkRequestTimeout(s string) error {
	if s == "" {
		return nil
	}
	d, err := clientcmd.ParseTimeout(s)
	if n, nerr := strconv.ParseInt(s, 10, 64); err == nil && (d < 0 || nerr == nil && n > math.MaxInt64/int64(time.Second)) {
		err = errors.New("out of range")
	}
	if err != nil {
		return fmt.Errorf("--request-timeout %q: %w", s, err)
	}
	return nil
}

// parseUserExtra turns --as-user-extra key=value flags into a map of
// values per key. Unlike ConfigFlags, which skips it, a flag without "="
// or with an empty key is an error.
func parseUserExtra(flags []string) (map[string][]string, error) {
	extra := map[string][]string{}
	for _, f := range flags {
		key, value, ok := strings.Cut(f, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("--%s %q: want key=value", flagAsUserExtra, f)
		}
		extra[key] = append(extra[key], value)
	}
	return extra, nil
}

// checkFile fails unless path is a regular file (after symlinks) of at
// most MaxKubeconfigBytes. A missing file is an error only if mustExist
// (clientcmd skips a missing file on $KUBECONFIG's list). The check is at
// stat: a file swapped afterwards is read by client-go unchecked.
func checkFile(what, path string, mustExist bool) error {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !mustExist:
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case info.IsDir():
		return fmt.Errorf("%s %s: is a directory, want a file", what, path)
	case !info.Mode().IsRegular():
		return fmt.Errorf("%s %s: not a regular file (%s), refused: it could be read forever", what, path, regularfile.Kind(info.Mode()))
	case info.Size() > MaxKubeconfigBytes:
		return fmt.Errorf("%s %s: %d bytes, over the limit of %d", what, path, info.Size(), MaxKubeconfigBytes)
	}
	return nil
}
