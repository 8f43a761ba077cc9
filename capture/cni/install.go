package cni

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// PluginType is the plugin's binary name and its "type" in a conflist.
const PluginType = "inzone-cni"

// maxConflist bounds a conflist read from the node.
const maxConflist = 1 << 20

// InstallOptions say where the node keeps its CNI binaries and configs.
type InstallOptions struct {
	// Self is the plugin binary to copy (the running executable).
	Self string
	// BinDir and ConfDir are the node's CNI directories as mounted in the
	// install container; HostConfDir is ConfDir as the node (and so the
	// plugin, run by the runtime) sees it.
	BinDir, ConfDir, HostConfDir string
	// ServiceAccountDir holds the install pod's token and ca.crt; APIServer
	// is https://host:port of the API server.
	ServiceAccountDir, APIServer string
}

// Install copies the plugin into BinDir, writes the kubeconfig it reads
// pods with, and chains it into the node's first conflist. Every step is
// idempotent and writes through a rename, so the runtime never reads half
// a file; the install DaemonSet reruns it to follow token rotation and
// conflists rewritten by the primary plugin.
func Install(o InstallOptions) (changed []string, err error) {
	self, err := os.ReadFile(o.Self)
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(o.BinDir, PluginType)
	if c, err := writeIfChanged(bin, self, 0o755); err != nil {
		return nil, err
	} else if c {
		changed = append(changed, bin)
	}
	kc, err := kubeconfig(o)
	if err != nil {
		return changed, err
	}
	kcPath := filepath.Join(o.ConfDir, PluginType+".kubeconfig")
	if c, err := writeIfChanged(kcPath, kc, 0o600); err != nil {
		return changed, err
	} else if c {
		changed = append(changed, kcPath)
	}
	conflist, err := primaryConflist(o.ConfDir)
	if err != nil {
		return changed, err
	}
	data, err := readBounded(conflist)
	if err != nil {
		return changed, err
	}
	out, add, err := Chain(data, filepath.Join(o.HostConfDir, PluginType+".kubeconfig"))
	if err != nil {
		return changed, fmt.Errorf("%s: %w", conflist, err)
	}
	if add {
		if _, err := writeIfChanged(conflist, out, 0o644); err != nil {
			return changed, err
		}
		changed = append(changed, conflist)
	}
	return changed, nil
}

// Chain appends the plugin to a conflist's plugins, once: a conflist that
// already chains it comes back unchanged with false.
func Chain(conflist []byte, kubeconfigPath string) ([]byte, bool, error) {
	var doc map[string]any
	if err := json.Unmarshal(conflist, &doc); err != nil {
		return nil, false, fmt.Errorf("not a JSON conflist: %w", err)
	}
	plugins, ok := doc["plugins"].([]any)
	if !ok || len(plugins) == 0 {
		return nil, false, errors.New(`no "plugins" list: a chained plugin needs a primary plugin before it`)
	}
	for _, p := range plugins {
		if m, ok := p.(map[string]any); ok && m["type"] == PluginType {
			return conflist, false, nil
		}
	}
	doc["plugins"] = append(plugins, map[string]any{"type": PluginType, "kubeconfig": kubeconfigPath})
	out, err := json.MarshalIndent(doc, "", "  ")
	return append(out, '\n'), true, err
}

// primaryConflist is the conflist the runtime uses: the first *.conflist
// (or *.conf holding a plugins list) by name.
func primaryConflist(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	names := []string{}
	for _, e := range entries {
		if e.Type().IsRegular() && (strings.HasSuffix(e.Name(), ".conflist") || strings.HasSuffix(e.Name(), ".conf")) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "", fmt.Errorf("no CNI conflist in %s yet: the primary network plugin writes one first", dir)
	}
	return filepath.Join(dir, names[0]), nil
}

func kubeconfig(o InstallOptions) ([]byte, error) {
	token, err := os.ReadFile(filepath.Join(o.ServiceAccountDir, "token"))
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(filepath.Join(o.ServiceAccountDir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cluster"] = &clientcmdapi.Cluster{Server: o.APIServer, CertificateAuthorityData: ca}
	cfg.AuthInfos["inzone-cni"] = &clientcmdapi.AuthInfo{Token: strings.TrimSpace(string(token))}
	cfg.Contexts["inzone-cni"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "inzone-cni"}
	cfg.CurrentContext = "inzone-cni"
	return clientcmd.Write(*cfg)
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConflist+1))
	if err == nil && len(b) > maxConflist {
		err = fmt.Errorf("%s: larger than %d bytes", path, maxConflist)
	}
	return b, err
}

// writeIfChanged writes data to path through a temporary file and a
// rename, unless path already holds it.
func writeIfChanged(path string, data []byte, mode os.FileMode) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(tmp.Name(), path)
}
