package regularfile

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tests := []struct {
		name    string
		path    string
		limit   int64
		want    string
		wantErr string
	}{
		{"a file within the limit is read", small, 5, "12345", ""},
		{"a symlink to a regular file is followed", link, 5, "12345", ""},
		{"a file one byte over the limit is refused", small, 4, "", "larger than 4 bytes"},
		{"a device is refused, not read forever", "/dev/zero", 1 << 20, "", "not a regular file"},
		{"a directory is refused", dir, 1 << 20, "", "not a regular file"},
		{"a socket is refused", sock, 1 << 20, "", "no such device or address"},
		{"a missing file is an error", filepath.Join(dir, "absent"), 1, "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(tt.path, tt.limit)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	// A FIFO without a writer: refused at once, not a blocked open.
	if _, err := Read(fifo, 10); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("fifo: err %v", err)
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		mode fs.FileMode
		want string
	}{
		{fs.ModeNamedPipe, "a named pipe"},
		{fs.ModeSocket, "a socket"},
		{fs.ModeDevice | fs.ModeCharDevice, "a character device"},
		{fs.ModeDevice, "a device"},
		{fs.ModeDir | 0o755, "a directory"},
		{fs.ModeIrregular, "a special file (mode ?---------)"},
	} {
		if got := Kind(tc.mode); got != tc.want {
			t.Errorf("Kind(%v) = %q, want %q", tc.mode, got, tc.want)
		}
	}
}
