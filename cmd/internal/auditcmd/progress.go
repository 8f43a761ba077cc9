package auditcmd

import (
	"fmt"
	"io"
	"strconv"
	"sync"

	"golang.org/x/term"
)

// progress is the line `kubectl inzone audit` keeps on stderr while it
// reads ("reading pods 12,500…"), rewritten in place and cleared when done.
// It writes only to a terminal: piped or redirected stderr gets nothing, so
// logs and CI output stay clean.
type progress struct {
	mu    sync.Mutex
	w     io.Writer // nil: off
	shown bool
}

// newProgress shows progress on w when w is a terminal.
func newProgress(w io.Writer) *progress {
	if !isTerminal(w) {
		return &progress{}
	}
	return &progress{w: w}
}

// isTerminal is whether w is a file open on a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// reading shows how many objects of resource were read so far.
func (p *progress) reading(resource string, n int) { p.show(progressLine(resource, n)) }

// show replaces the line with text.
func (p *progress) show(text string) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, clearLine+text)
	p.shown = true
}

// done clears the line.
func (p *progress) done() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, clearLine)
		p.shown = false
	}
}

// progressLine is "reading pods 12,500…".
func progressLine(resource string, n int) string {
	return "reading " + resource + " " + thousands(n) + "…"
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return neg + s
	}
	b := make([]byte, 0, len(s)+len(s)/3)
	pre := len(s) % 3
	if pre > 0 {
		b = append(b, s[:pre]...)
	}
	for i := pre; i < len(s); i += 3 {
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, s[i:i+3]...)
	}
	return neg + string(b)
}
