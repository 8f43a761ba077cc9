package webhook

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"

	"github.com/inzone-io/inzone/mutate"
)

// CAFile is the CA's name in the cert dir: a kubernetes.io/tls Secret
// written by cert-controller or cert-manager (CA issuer) holds it there.
const CAFile = "ca.crt"

// engineSlot is the Mutator the handler holds: the engine is built once the
// control plane's CA is known, which with self-managed certificates is when
// the rotator has written the Secret, after the manager is built.
type engineSlot struct {
	engine atomic.Pointer[mutate.Engine]
}

var errNoEngine = errors.New("inzone engine not built yet (waiting for the control plane's CA)")

func (s *engineSlot) Mutate(pod *corev1.Pod, ns mutate.Namespace) (*mutate.Result, error) {
	e := s.engine.Load()
	if e == nil {
		// Not reached in practice: the server starts after the engine is
		// built. The handler fails open on this error.
		return nil, errNoEngine
	}
	return e.Mutate(pod, ns)
}

// engineBuilder builds the engine from the config and the CA.
type engineBuilder struct {
	cfg    *mutate.Config
	opts   mutate.Options
	caFile string // read when opts.ControlPlaneCA is empty and the config is not plaintext
	slot   *engineSlot
}

// needsCAFile is whether the CA comes from a file that may appear later.
func (b *engineBuilder) needsCAFile() bool {
	return !b.cfg.Sidecar.ControlPlane.Plaintext && len(b.opts.ControlPlaneCA) == 0
}

// build reads the CA file when needed and installs the engine. A missing
// file builds an engine that injects no sidecar (each pod says why); a file
// that is not a CA bundle is an error.
func (b *engineBuilder) build() (missingCA bool, err error) {
	opts := b.opts
	if b.needsCAFile() {
		ca, err := readCAFile(b.caFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
			missingCA = true
		case err != nil:
			return false, err
		default:
			opts.ControlPlaneCA = ca
		}
	}
	e, err := mutate.NewEngine(b.cfg, opts)
	if err != nil {
		return false, err
	}
	b.slot.engine.Store(e)
	return missingCA, nil
}

// readCAFile reads a regular file of at most mutate.MaxControlPlaneCABytes.
func readCAFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("control-plane CA %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, mutate.MaxControlPlaneCABytes+1))
	if err != nil {
		return nil, fmt.Errorf("control-plane CA %s: %w", path, err)
	}
	if len(data) > mutate.MaxControlPlaneCABytes {
		return nil, fmt.Errorf("control-plane CA %s: larger than %d bytes", path, mutate.MaxControlPlaneCABytes)
	}
	if _, err := mutate.ParseControlPlaneCA(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

func defaultCAFile(certDir string) string { return filepath.Join(certDir, CAFile) }
