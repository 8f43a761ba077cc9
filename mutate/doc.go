// Package mutate is inzone's pod mutation engine: the pure logic behind the
// admission webhook and `inzone inject`.
//
// Given a pod, a view of its namespace and a validated Config, an Engine
// decides which of the five zone-locality mutations apply (ELB-to-DDSD
// rewrite, zone env var, zone topology spread, Envoy sidecar with the pod's
// zone, traffic capture; MutationNames is their order) and
// returns them as a JSON patch built straight from what it adds, plus the
// changes, skips and warnings a user should see. It never diffs pods, never
// does I/O and never talks to a Kubernetes client, so the webhook, the CLI and
// the tests all run the same code.
//
// Every mutation is idempotent: each one recognises its own earlier work in
// the pod, so admitting an already-mutated pod yields an empty patch.
package mutate
