package source

import (
	"io/fs"
	"path"

	"sigs.k8s.io/kustomize/api/krusty"

	"github.com/inzone-io/inzone/lint/file"
)

// renderKustomize builds a kustomization with the kustomize API, which
// reads from the fs.FS only the files the kustomization reaches (see
// kustomizeFS); the output is one File named after the kustomization file.
func (c *collector) renderKustomize(dir, tree string) {
	kfs := kustomizeFS{fsys: c.fsys, rule: &c.rule, tree: tree}
	if !c.opts.AllowRemote {
		if err := checkNoRemote(kfs, dir); err != nil {
			c.errs = append(c.errs, Error{File: path.Join(dir, kustomizationFile(c.fsys, dir)), Message: "kustomize build: " + err.Error()})
			return
		}
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(kfs, "/"+dir)
	if err != nil {
		c.errs = append(c.errs, Error{File: path.Join(dir, kustomizationFile(c.fsys, dir)), Message: "kustomize build: " + err.Error()})
		return
	}
	out, err := rm.AsYaml()
	if err != nil {
		c.errs = append(c.errs, Error{File: dir, Message: "kustomize output: " + err.Error()})
		return
	}
	c.files = append(c.files, file.File{Path: path.Join(dir, kustomizationFile(c.fsys, dir)), Data: out})
}

// kustomizationFile is the name of the kustomization file in dir, or "".
func kustomizationFile(fsys fs.FS, dir string) string {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if isFile(fsys, path.Join(dir, n)) {
			return n
		}
	}
	return ""
}
