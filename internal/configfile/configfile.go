// Package configfile loads inzone's config file (mutate.Config) for every
// binary that takes --config: the webhook, inzone-xds and the CLI's inject,
// lint and audit, so all of them accept and refuse the same files.
package configfile

import (
	"github.com/inzone-io/inzone/internal/regularfile"
	"github.com/inzone-io/inzone/mutate"
)

// MaxBytes bounds the config file: the real one is a few KiB, and a large
// ddsd.elbs map stays far below this.
const MaxBytes = 1 << 20

// Load reads, defaults and validates the config at path; the built-in
// default when path is empty. Errors name the file, and for a bad field
// its line.
func Load(path string) (*mutate.Config, error) {
	if path == "" {
		return mutate.DefaultConfig(), nil
	}
	data, err := regularfile.Read(path, MaxBytes)
	if err != nil {
		return nil, err
	}
	return mutate.LoadConfig(data, path)
}
