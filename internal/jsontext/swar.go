package jsontext

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// The scanners below test eight bytes at a time for the few bytes that matter ("SIMD within a register"),
// or let the assembly of bytes.IndexByte find them: string bodies are by far the bulk of an event (a Kafka
// record's base64 value, long text fields of its payload), and skipping them this way is several times
// faster than a byte-by-byte loop.
//
// (v - lsb) &^ v & msb flags the zero bytes of v, and (x - 0x20*lsb) &^ x & msb the bytes of x below 0x20.
// A borrow only propagates upward from a flagged byte, so the lowest flag of a word is exact; higher ones
// may not be, and every scanner returns the lowest.

const (
	lsb = 0x0101010101010101 // 0x01 in every byte
	msb = 0x8080808080808080 // 0x80 in every byte
)

// zeroBytes flags (high bit) the zero bytes of x; only the lowest flag is exact.
func zeroBytes(x uint64) uint64 { return (x - lsb) & ^x & msb }

// SpecialMask flags (high bit) the bytes of x, eight bytes read little-endian, that are '"', '\\' or below
// 0x20: the bytes that end a run of JSON string content. The lowest flag is exact (higher ones may not be),
// so the first such byte is at bits.TrailingZeros64(m)>>3. It is small enough to inline, for callers that
// test the first word of a string before calling IndexSpecial.
func SpecialMask(x uint64) uint64 {
	q := x ^ ('"' * lsb)
	s := x ^ ('\\' * lsb)
	return ((q-lsb)&^q | (s-lsb)&^s | (x-0x20*lsb)&^x) & msb
}

// IndexSpecial returns the index of the first byte of b at or after i that is '"', '\\' or below 0x20 (a
// control character, invalid in a JSON string), or len(b) when there is none.
func IndexSpecial(b []byte, i int) int {
	// Most strings are short (member names, ids): two words cover them without a call.
	for k := 0; k < 2 && i+8 <= len(b); k++ {
		if m := SpecialMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	if len(b)-i < 8 {
		return indexSpecialTail(b, i)
	}
	// A long run: let bytes.IndexByte find the quote and the first backslash before it, then check the run up
	// to there for control characters, a word at a time without a branch per word.
	end := len(b)
	if q := bytes.IndexByte(b[i:], '"'); q >= 0 {
		end = i + q
	}
	if k := bytes.IndexByte(b[i:end], '\\'); k >= 0 {
		end = i + k
	}
	if HasControl(b[i:end]) {
		// A control character before end: find the first one (the run holds no quote or backslash before it).
		for ; i+8 <= end; i += 8 {
			if m := SpecialMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				return i + bits.TrailingZeros64(m)>>3
			}
		}
		return indexSpecialTail(b, i)
	}
	return end
}

func indexSpecialTail(b []byte, i int) int {
	for i < len(b) {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
		i++
	}
	return i
}

// HasControl reports whether b holds a byte below 0x20, testing 32 bytes per step without a branch per
// word: (x - 0x20*lsb) &^ x & msb is nonzero exactly for a word holding such a byte.
func HasControl(b []byte) bool {
	var acc uint64
	for len(b) >= 32 {
		x0 := binary.LittleEndian.Uint64(b)
		x1 := binary.LittleEndian.Uint64(b[8:])
		x2 := binary.LittleEndian.Uint64(b[16:])
		x3 := binary.LittleEndian.Uint64(b[24:])
		acc |= (x0-0x20*lsb)&^x0 | (x1-0x20*lsb)&^x1 | (x2-0x20*lsb)&^x2 | (x3-0x20*lsb)&^x3
		b = b[32:]
	}
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		acc |= (x - 0x20*lsb) &^ x
		b = b[8:]
	}
	if acc&msb != 0 {
		return true
	}
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// IndexQuoteOrBackslash returns the index of the first '"' or '\\' of b at or after i, or len(b): the end
// of a string's content when it need not be validated, only skipped.
func IndexQuoteOrBackslash(b []byte, i int) int {
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		m := zeroBytes(x^('"'*lsb)) | zeroBytes(x^('\\'*lsb))
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) && b[i] != '"' && b[i] != '\\' {
		i++
	}
	return i
}

// structural marks the bytes IsStructural reports.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// IsStructural reports whether c is '"', '{', '}', '[' or ']': the bytes that matter when a value is skipped
// without being read, because only strings and brackets decide where it ends.
func IsStructural(c byte) bool { return structural[c] }

// IndexStructural returns the index of the first byte of b at or after i for which IsStructural holds, or
// len(b).
func IndexStructural(b []byte, i int) int {
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		y := x & 0xDFDFDFDFDFDFDFDF // folds '{' (0x7B) onto '[' (0x5B) and '}' (0x7D) onto ']' (0x5D)
		m := zeroBytes(y^('['*lsb)) | zeroBytes(y^(']'*lsb)) | zeroBytes(x^('"'*lsb))
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) && !structural[b[i]] {
		i++
	}
	return i
}
