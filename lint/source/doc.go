// Package source finds the files lint reads, and does the I/O for it:
// it walks directories for YAML and JSON manifests, renders Helm charts
// with the Helm SDK and builds kustomizations with the kustomize API, all
// from an fs.FS, and hands each result on as a file.File that package lint
// parses and checks.
//
// Everything it reads is bounded: regular files only (never a pipe, a
// device or a socket), each up to a size cap; symlinks only within the tree
// they were found in unless asked; a Helm render within a timeout; a
// kustomization's files checked for alias bombs before kustomize parses
// them, and no remote resource fetched unless asked.
//
// It is the only package that links Helm and kustomize. It does not lint:
// it neither cuts files into documents nor links the policy engine, which
// are package lint's, and lint does not import it.
package source
