package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/inzone-io/inzone/internal/regularfile"
)

// maxKubeconfigBytes bounds a kubeconfig and each file it names (a CA, a
// client certificate or key, a token file), as the audit does.
const maxKubeconfigBytes = 16 << 20

// loadKubeconfig reads the kubeconfig at path as clientcmd.LoadFromFile
// does, but only a regular file of at most maxKubeconfigBytes: a FIFO,
// /dev/zero or a directory is refused instead of read forever.
func loadKubeconfig(path string) (*clientcmdapi.Config, error) {
	data, err := regularfile.Read(path, maxKubeconfigBytes)
	if err != nil {
		return nil, err
	}
	c, err := clientcmd.Load(data)
	if err != nil {
		return nil, err
	}
	// What LoadFromFile adds, so that ResolveLocalPaths makes the files
	// it names relative to it.
	for _, a := range c.AuthInfos {
		a.LocationOfOrigin = path
	}
	for _, cl := range c.Clusters {
		cl.LocationOfOrigin = path
	}
	for _, ctx := range c.Contexts {
		ctx.LocationOfOrigin = path
	}
	return c, nil
}

// checkNamedFiles reads each file the current context names (its
// cluster's CA, its user's client certificate and key and token file)
// through the same bound, so that a FIFO or a device named there fails at
// start rather than hanging: clientcmd opens the CA and the client
// certificate to validate the config, and client-go reads them all. Call
// it after ResolveLocalPaths, before ClientConfig. The files stay named,
// not inlined: client-go re-reads the client certificate and the token
// file when they rotate.
func checkNamedFiles(c *clientcmdapi.Config) error {
	ctx := c.Contexts[c.CurrentContext]
	if ctx == nil {
		return nil // ClientConfig says what is missing
	}
	var files []struct{ what, path string }
	if cl := c.Clusters[ctx.Cluster]; cl != nil {
		files = append(files, struct{ what, path string }{"certificate-authority", cl.CertificateAuthority})
	}
	if u := c.AuthInfos[ctx.AuthInfo]; u != nil {
		files = append(files, []struct{ what, path string }{
			{"client-certificate", u.ClientCertificate},
			{"client-key", u.ClientKey},
			{"tokenFile", u.TokenFile},
		}...)
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if _, err := regularfile.Read(f.path, maxKubeconfigBytes); err != nil {
			return fmt.Errorf("%s: %w", f.what, err)
		}
	}
	return nil
}

// checkEnvKubeconfig checks, when $KUBECONFIG is set (and no --kubeconfig
// given: controller-runtime then reads it), each file of its path list
// and the files its merged current context names, as for --kubeconfig. A
// missing file on the list is skipped, as clientcmd skips it.
func checkEnvKubeconfig() error {
	env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar)
	if env == "" {
		return nil
	}
	var paths []string
	for _, p := range filepath.SplitList(env) {
		if p == "" {
			continue
		}
		if _, err := regularfile.Read(p, maxKubeconfigBytes); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("$KUBECONFIG %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	raw, err := (&clientcmd.ClientConfigLoadingRules{Precedence: paths}).Load()
	if err != nil {
		return fmt.Errorf("$KUBECONFIG %s: %w", env, err)
	}
	if err := checkNamedFiles(raw); err != nil {
		return fmt.Errorf("$KUBECONFIG %s: %w", env, err)
	}
	return nil
}
