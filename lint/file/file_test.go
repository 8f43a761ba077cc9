package file

import "testing"

func TestSizeHint(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    File
		want int64
	}{
		{"content held: its length", File{Data: []byte("abc"), Size: 99}, 3},
		{"content held, empty: zero, not Size", File{Data: []byte{}, Size: 99}, 0},
		{"to be read: Size", File{Size: 42}, 42},
		{"to be read, size unknown", File{}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.SizeHint(); got != tt.want {
				t.Errorf("SizeHint() = %d, want %d", got, tt.want)
			}
		})
	}
}
