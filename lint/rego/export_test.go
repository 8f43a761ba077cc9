package rego

import "context"

// PrepareKind prepares the query of kind, for the external benchmarks.
func (e *Engine) PrepareKind(ctx context.Context, kind string) error {
	_, err := e.kindQuery(ctx, kind)
	return err
}

// KindTerm is the key Eval reads an input's kind from.
var KindTerm = kindTerm
