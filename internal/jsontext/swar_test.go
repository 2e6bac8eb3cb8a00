package jsontext

import (
	"bytes"
	"testing"
)

// naiveIndex is the byte-by-byte definition the word-at-a-time scanners must agree with.
func naiveIndex(b []byte, i int, stop func(byte) bool) int {
	for ; i < len(b); i++ {
		if stop(b[i]) {
			return i
		}
	}
	return len(b)
}

func isSpecial(c byte) bool          { return c == '"' || c == '\\' || c < 0x20 }
func isQuoteOrBackslash(c byte) bool { return c == '"' || c == '\\' }
func isControl(c byte) bool          { return c < 0x20 }

// TestScannersAgree places every byte value at every position of buffers around the word size, over
// backgrounds of plain ASCII and of bytes >= 0x80 (which must not pass for control characters, nor
// 0xfb/0xfd for brackets after the case-folding mask), and checks each scanner against its byte-by-byte
// definition from several starting points.
func TestScannersAgree(t *testing.T) {
	scanners := []struct {
		name string
		scan func([]byte, int) int
		stop func(byte) bool
	}{
		{"IndexSpecial", IndexSpecial, isSpecial},
		{"IndexQuoteOrBackslash", IndexQuoteOrBackslash, isQuoteOrBackslash},
		{"IndexStructural", IndexStructural, IsStructural},
	}
	for _, fill := range []byte{'x', 0x80, 0x9f, 0xa0, 0xfb, 0xfd, 0xff, '!', '#', ';', '='} {
		for n := 0; n <= 24; n++ {
			for pos := 0; pos < n; pos++ {
				for c := 0; c < 256; c++ {
					b := bytes.Repeat([]byte{fill}, n)
					b[pos] = byte(c)
					for start := 0; start <= min(n, 3); start++ {
						for _, s := range scanners {
							if got, want := s.scan(b, start), naiveIndex(b, start, s.stop); got != want {
								t.Fatalf("%s(%q, %d) = %d, want %d", s.name, b, start, got, want)
							}
						}
					}
					if got, want := HasControl(b), naiveIndex(b, 0, isControl) < n; got != want {
						t.Fatalf("HasControl(%q) = %v, want %v", b, got, want)
					}
				}
			}
		}
	}
}

// TestIndexSpecialLong covers the long-run path (bytes.IndexByte, then the control check) with the first
// special byte far into the run, before and after a later quote or backslash.
func TestIndexSpecialLong(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want int
	}{
		{"no special", string(bytes.Repeat([]byte("a"), 100)), 100},
		{"quote far", string(bytes.Repeat([]byte("a"), 70)) + `"`, 70},
		{"backslash before quote", string(bytes.Repeat([]byte("a"), 40)) + `\` + string(bytes.Repeat([]byte("a"), 30)) + `"`, 40},
		{"control before quote", string(bytes.Repeat([]byte("a"), 50)) + "\x1f" + `aa"`, 50},
		{"control after quote", string(bytes.Repeat([]byte("a"), 50)) + `"` + "\x01", 50},
		{"control in tail", string(bytes.Repeat([]byte("a"), 37)) + "\n", 37},
		{"high bytes", string(bytes.Repeat([]byte("\xe2\x80\xa8"), 30)) + `"`, 90},
	}
	for _, c := range cases {
		if got := IndexSpecial([]byte(c.in), 0); got != c.want {
			t.Errorf("IndexSpecial(%s) = %d, want %d", c.name, got, c.want)
		}
	}
}

func BenchmarkIndexSpecial1KB(b *testing.B) {
	s := append(bytes.Repeat([]byte("eyJhIjoxfQ=="), 86), '"')
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if IndexSpecial(s, 0) != len(s)-1 {
			b.Fatal("wrong index")
		}
	}
}
