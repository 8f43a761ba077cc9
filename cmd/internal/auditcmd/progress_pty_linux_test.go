package auditcmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/inzone-io/inzone/cmd/internal/cli"
)

// openPTY opens a pseudo-terminal pair; it skips where there is none.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("pseudo-terminal number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestProgressOnARealTerminal: with stderr on a terminal the audit shows
// what it reads and clears the line; the report still goes to stdout only.
func TestProgressOnARealTerminal(t *testing.T) {
	master, slave := openPTY(t)
	if !isTerminal(slave) {
		t.Fatal("a pseudo-terminal is not seen as a terminal")
	}
	var out bytes.Buffer
	o := &Options{Client: fake.NewClientset(auditObjects()...), AllNamespaces: true, Output: "json", streams: cli.Streams{Out: &out, Err: slave}}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(); err != nil {
		t.Fatal(err)
	}
	if err := o.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "reading") {
		t.Error("progress went to stdout")
	}
	_ = master.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 64<<10)
	var got []byte
	for !bytes.HasSuffix(got, []byte(clearLine)) || !bytes.Contains(got, []byte("auditing")) {
		n, err := master.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	for _, want := range []string{"reading nodes", "reading pods 6…", "auditing…"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("terminal got %q, lacks %q", got, want)
		}
	}
	if !bytes.HasSuffix(got, []byte(clearLine)) {
		t.Errorf("terminal got %q, which does not end by clearing the line", got)
	}
}
