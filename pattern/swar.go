package pattern

import (
	"encoding/binary"
	"math/bits"
)

// SWAR helpers: test eight bytes at a time for the bytes that matter while skipping, which makes skipping the
// unaddressed parts of an event (most of it, usually) several times faster than a byte-by-byte loop.

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// zeroBytes flags (high bit) the zero bytes of x; only the lowest flag is exact, which is all the callers use.
func zeroBytes(x uint64) uint64 { return (x - ones) & ^x & highs }

// nextStructural returns the index of the first '"', '{', '}', '[' or ']' at or after i (or a byte that merely
// resembles one after masking, which the caller re-checks), or len(d).
func nextStructural(d []byte, i int) int {
	for i+8 <= len(d) {
		x := binary.LittleEndian.Uint64(d[i:])
		y := x & 0xDFDFDFDFDFDFDFDF // folds '{' onto '[' and '}' onto ']'
		m := zeroBytes(y^(0x5B*ones)) | zeroBytes(y^(0x5D*ones)) | zeroBytes(x^(0x22*ones))
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(d) && !skipClass[d[i]] {
		i++
	}
	return i
}

// nextQuoteOrBackslash returns the index of the first '"' or '\\' at or after i, or len(d).
func nextQuoteOrBackslash(d []byte, i int) int {
	for i+8 <= len(d) {
		x := binary.LittleEndian.Uint64(d[i:])
		m := zeroBytes(x^(0x22*ones)) | zeroBytes(x^(0x5C*ones))
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(d) && d[i] != '"' && d[i] != '\\' {
		i++
	}
	return i
}

// nextStringSpecial returns the index of the first '"', '\\' or control character (below 0x20) at or after i,
// or len(d): the bytes that end a run of ordinary string content, found eight at a time. The lowest flagged
// byte of each test is exact (a borrow only propagates upward from a real hit), so the result is too.
func nextStringSpecial(d []byte, i int) int {
	for i+8 <= len(d) {
		x := binary.LittleEndian.Uint64(d[i:])
		// zeroBytes(x - 0x20) would also flag bytes >= 0xa0; (x - 0x20*ones) & ^x & highs flags only bytes < 0x20.
		m := zeroBytes(x^(0x22*ones)) | zeroBytes(x^(0x5C*ones)) | (x-0x20*ones)&^x&highs
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(d) {
		if c := d[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
		i++
	}
	return i
}
