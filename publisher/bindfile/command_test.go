package bindfile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLastLines(t *testing.T) {
	var many []string
	for i := 1; i <= 50; i++ {
		many = append(many, fmt.Sprintf("line %d", i))
	}
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"blank", " \n\n", ""},
		{"trimmed", "\n  one\ntwo\n\n", "one\ntwo"},
		{"exactly 20", strings.Join(many[:20], "\n") + "\n", strings.Join(many[:20], "\n")},
		{"the last 20 of 50", strings.Join(many, "\n") + "\n", "[earlier lines left out]\n" + strings.Join(many[30:], "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, lastLines(tt.in, maxOutputLines)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	var b tailBuffer
	line := strings.Repeat("x", 99) + "\n"
	for range 2 * maxOutput / len(line) {
		b.Write([]byte(line))
	}
	b.Write([]byte("last\n"))
	got := b.String()
	if len(got) > maxOutput || !strings.HasSuffix(got, "\nlast\n") || !strings.HasPrefix(got, line) {
		t.Errorf("kept %d bytes, starting %q, ending %q; want at most %d bytes of whole lines ending in last", len(got), got[:10], got[len(got)-10:], maxOutput)
	}
}
