package transform

import (
	"encoding/binary"
	"math/bits"
)

// SWAR ("SIMD within a register") helpers: string bodies are by far the bulk of an event (a Kafka record's
// base64 value), and testing eight bytes per step for the few bytes that end a run of string content makes
// skipping them several times faster than a byte-by-byte switch.

const (
	lsb = 0x0101010101010101 // 0x01 in every byte
	msb = 0x8080808080808080 // 0x80 in every byte
)

// nextSpecial returns the index of the first byte at or after i that is '"', '\\' or below 0x20 (a control
// character, invalid in a JSON string), or len(b) when there is none. It may also stop on an ordinary byte
// lying above such a byte in the same eight-byte word (the borrow of the subtraction can flag it), never
// before the first real one, so callers re-check the byte it stops on.
func nextSpecial(b []byte, i int) int {
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ ('"' * lsb)
		s := x ^ ('\\' * lsb)
		// (v - lsb) & ^v & msb flags the zero bytes of v; (x - 0x20*lsb) & ^x & msb the bytes below 0x20.
		// The lowest flag of each term is exact.
		m := ((q-lsb) & ^q | (s-lsb) & ^s | (x-0x20*lsb) & ^x) & msb
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
		i++
	}
	return i
}
