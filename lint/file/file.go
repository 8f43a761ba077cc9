// Package file defines File, one input to the linter: a path and its
// content, or the means to read it when its turn comes.
//
// It is the type package source produces and package lint consumes, kept
// apart from both so that lint takes Files without linking how they are
// found (Helm, kustomize) and source makes them without linking the
// linter (OPA). It does no I/O and imports nothing.
package file

// File is one input file: a path (repo-relative, slash-separated) and its
// content, or a Load that reads it when its turn comes, so a large tree is
// never held in memory whole.
type File struct {
	Path string
	Data []byte
	Load func() ([]byte, error)
	// Size is Load's size when known, a hint for scheduling.
	Size int64
	// ReadInto, when set, is Load into a buffer the caller reuses: what it
	// returns may share buf's array.
	ReadInto func(buf []byte) ([]byte, error)
}

// SizeHint is the file's size, as far as known before reading it.
func (f *File) SizeHint() int64 {
	if f.Data != nil {
		return int64(len(f.Data))
	}
	return f.Size
}
