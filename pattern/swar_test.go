package pattern

import (
	"bytes"
	"testing"
)

// TestNextStringSpecial places every byte value at every position of buffers around the word size, over
// backgrounds of plain ASCII and of bytes >= 0x80 (which must not pass for control characters), and checks
// nextStringSpecial against the byte-by-byte definition.
func TestNextStringSpecial(t *testing.T) {
	naive := func(b []byte, i int) int {
		for ; i < len(b); i++ {
			if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
				return i
			}
		}
		return len(b)
	}
	for _, fill := range []byte{'x', 0x80, 0x9f, 0xa0, 0xff, '!', '#'} {
		for n := 0; n <= 24; n++ {
			for pos := 0; pos < n; pos++ {
				for c := 0; c < 256; c++ {
					b := bytes.Repeat([]byte{fill}, n)
					b[pos] = byte(c)
					for start := 0; start <= min(n, 3); start++ {
						if got, want := nextStringSpecial(b, start), naive(b, start); got != want {
							t.Fatalf("nextStringSpecial(%q, %d) = %d, want %d", b, start, got, want)
						}
					}
				}
			}
		}
	}
}
