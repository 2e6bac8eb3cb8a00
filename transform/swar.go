package transform

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// SWAR ("SIMD within a register") helpers: string bodies are by far the bulk of an event (a Kafka record's
// base64 value, long text fields of its payload), and finding the few bytes that end a run of string content
// a word at a time, or with the assembly of bytes.IndexByte, makes skipping them several times faster than a
// byte-by-byte switch.

const (
	lsb = 0x0101010101010101 // 0x01 in every byte
	msb = 0x8080808080808080 // 0x80 in every byte
)

// special flags (high bit) the bytes of x that are '"', '\\' or below 0x20. (v - lsb) &^ v flags the zero
// bytes of v, and (x - 0x20*lsb) &^ x the bytes below 0x20; a borrow only propagates upward from a flagged
// byte, so the lowest flag is exact (higher ones may not be).
func special(x uint64) uint64 {
	q := x ^ ('"' * lsb)
	s := x ^ ('\\' * lsb)
	return ((q-lsb)&^q | (s-lsb)&^s | (x-0x20*lsb)&^x) & msb
}

// nextSpecial returns the index of the first byte at or after i that is '"', '\\' or below 0x20 (a control
// character, invalid in a JSON string), or len(b) when there is none.
func nextSpecial(b []byte, i int) int {
	// Most strings are short (member names, ids): two words cover them without a call.
	for k := 0; k < 2 && i+8 <= len(b); k++ {
		if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	if len(b)-i < 8 {
		return nextSpecialTail(b, i)
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
	if hasControl(b[i:end]) {
		// A control character before end: find the first one (the run holds no quote or backslash before it).
		for ; i+8 <= end; i += 8 {
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				return i + bits.TrailingZeros64(m)>>3
			}
		}
		return nextSpecialTail(b, i)
	}
	return end
}

// hasControl reports whether b holds a byte below 0x20, testing 32 bytes per step without a branch per word:
// (x - 0x20*lsb) &^ x & msb is nonzero exactly for a word holding such a byte.
func hasControl(b []byte) bool {
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

func nextSpecialTail(b []byte, i int) int {
	for i < len(b) {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
		i++
	}
	return i
}
