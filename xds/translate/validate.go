package translate

import (
	"errors"
	"fmt"
	"slices"
)

// validator is what go-control-plane's generated messages implement
// (protoc-gen-validate): every field rule, including the typed configs
// inside Any.
type validator interface {
	ValidateAll() error
	GetName() string
}

// Validate runs ValidateAll on every resource, so a snapshot Envoy would
// reject is never served.
func (o *Output) Validate() error {
	var errs []error
	check := func(kind string, v validator) {
		if err := v.ValidateAll(); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", kind, v.GetName(), err))
		}
	}
	for _, c := range o.Clusters {
		check("cluster", c)
	}
	for _, e := range slices.Concat(o.Endpoints, o.Local) {
		if err := e.ValidateAll(); err != nil {
			errs = append(errs, fmt.Errorf("endpoints %s: %w", e.ClusterName, err))
		}
	}
	for _, l := range slices.Concat(o.Listeners, o.APIListeners) {
		check("listener", l)
	}
	for _, r := range o.Routes {
		check("route", r)
	}
	// A scope's clusters are the full view's, checked above; its route
	// table is its own.
	for _, sc := range o.Scopes {
		check("route of "+sc.Identity, sc.Route)
	}
	return errors.Join(errs...)
}
