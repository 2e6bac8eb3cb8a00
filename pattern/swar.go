package pattern

import (
	"bytes"
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
// or len(d): the bytes that end a run of ordinary string content. Short runs are tested eight bytes at a time
// (the lowest flagged byte of each test is exact: a borrow only propagates upward from a real hit); a long one
// is searched with bytes.IndexByte for the quote and a backslash, then checked for control characters 32
// bytes per step.
func nextStringSpecial(d []byte, i int) int {
	for k := 0; k < 2 && i+8 <= len(d); k++ {
		if m := stringSpecial(binary.LittleEndian.Uint64(d[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	if len(d)-i >= 8 {
		end := len(d)
		if q := bytes.IndexByte(d[i:], '"'); q >= 0 {
			end = i + q
		}
		if k := bytes.IndexByte(d[i:end], '\\'); k >= 0 {
			end = i + k
		}
		if !hasControl(d[i:end]) {
			return end
		}
		for ; i+8 <= end; i += 8 { // a control character before end: find the first
			if m := stringSpecial(binary.LittleEndian.Uint64(d[i:])); m != 0 {
				return i + bits.TrailingZeros64(m)>>3
			}
		}
	}
	for i < len(d) {
		if c := d[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
		i++
	}
	return i
}

// stringSpecial flags (high bit) the bytes of x that are '"', '\\' or below 0x20; the lowest flag is exact.
// (zeroBytes(x - 0x20) would also flag bytes >= 0xa0; (x - 0x20*ones) &^ x & highs flags only bytes < 0x20.)
func stringSpecial(x uint64) uint64 {
	return zeroBytes(x^(0x22*ones)) | zeroBytes(x^(0x5C*ones)) | (x-0x20*ones)&^x&highs
}

// hasControl reports whether b holds a byte below 0x20, testing 32 bytes per step without a branch per word:
// (x - 0x20*ones) &^ x & highs is nonzero exactly for a word holding such a byte.
func hasControl(b []byte) bool {
	var acc uint64
	for len(b) >= 32 {
		x0 := binary.LittleEndian.Uint64(b)
		x1 := binary.LittleEndian.Uint64(b[8:])
		x2 := binary.LittleEndian.Uint64(b[16:])
		x3 := binary.LittleEndian.Uint64(b[24:])
		acc |= (x0-0x20*ones)&^x0 | (x1-0x20*ones)&^x1 | (x2-0x20*ones)&^x2 | (x3-0x20*ones)&^x3
		b = b[32:]
	}
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		acc |= (x - 0x20*ones) &^ x
		b = b[8:]
	}
	if acc&highs != 0 {
		return true
	}
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}
