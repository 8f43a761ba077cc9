package webhook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/inzone-io/inzone/internal/regularfile"
	"github.com/inzone-io/inzone/mutate"
)

// CAFile is the CA's name in the cert dir: a kubernetes.io/tls Secret
// written by cert-controller or cert-manager (CA issuer) holds it there.
const CAFile = "ca.crt"

var errNoEngine = errors.New("inzone engine not built yet")

// engineBuilder builds the engine from what the webhook knows, and installs
// it in the switch the handler calls. Two things can arrive after the
// manager is built: the control plane's CA (with self-managed certificates,
// when the rotator has written the Secret) and whether the API server has
// native sidecars (when it was unreachable at start). Each arrival rebuilds
// the engine from everything known by then.
type engineBuilder struct {
	cfg    *mutate.Config
	opts   mutate.Options // NativeSidecarSupported is the current answer
	caFile string         // read when opts.ControlPlaneCA is empty and the config is not plaintext
	wrap   func(Mutator) Mutator
	sw     *mutatorSwitch

	mu sync.Mutex // serializes builds, so the last one installed saw the latest inputs
}

// needsCAFile is whether the CA comes from a file that may appear later.
func (b *engineBuilder) needsCAFile() bool {
	return !b.cfg.Sidecar.ControlPlane.Plaintext && len(b.opts.ControlPlaneCA) == 0
}

// build reads the CA file when needed and installs the engine. A missing
// file builds an engine that injects no sidecar (each pod says why); a file
// that is not a CA bundle is an error.
func (b *engineBuilder) build() (missingCA bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buildLocked()
}

// setNative records whether the API server has native sidecars and
// rebuilds the engine.
func (b *engineBuilder) setNative(native bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opts.NativeSidecarSupported = native
	_, err := b.buildLocked()
	return err
}

func (b *engineBuilder) buildLocked() (missingCA bool, err error) {
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
	var m Mutator = e
	if b.wrap != nil {
		m = b.wrap(m)
	}
	b.sw.set(m)
	return missingCA, nil
}

// readCAFile reads the CA bundle: a regular file of at most
// mutate.MaxControlPlaneCABytes that parses as CA certificates.
func readCAFile(path string) ([]byte, error) {
	data, err := regularfile.Read(path, mutate.MaxControlPlaneCABytes)
	if err != nil {
		return nil, fmt.Errorf("control-plane CA: %w", err)
	}
	if _, err := mutate.ParseControlPlaneCA(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

func defaultCAFile(certDir string) string { return filepath.Join(certDir, CAFile) }
