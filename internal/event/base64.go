package event

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
)

// Record values dominate the cost of building an event, so base64 has a fast path. On amd64 with AVX2,
// encodeBulk (base64_amd64.s) encodes 24 bytes per step with vector shuffles and multiplies (the
// published Muła–Lemire method: split each 3-byte group into four sextets, then add a per-class offset
// chosen by a byte shuffle); it is about five times as fast as the portable code on 1 KB values. The
// portable code, used for the tail and elsewhere, looks up two characters per 12 bits, about twice as
// fast as encoding/base64. FuzzAppendBase64 checks both against encoding/base64.

// b64Pairs maps every 12-bit value to its two standard-alphabet base64 characters, big endian, so that
// encoding takes two table loads per three input bytes.
var b64Pairs = func() (t [4096]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = uint16(alphabet[i>>6])<<8 | uint16(alphabet[i&63])
	}
	return t
}()

// appendBase64 appends the standard, padded base64 encoding of src to dst.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	i, j := encodeBulk(out, src)
	encodePortable(out[j:], src[i:])
	return dst[:len(dst)+n]
}

// appendBase64Portable is appendBase64 without the architecture's fast path, for tests.
func appendBase64Portable(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	dst = slices.Grow(dst, n)
	encodePortable(dst[len(dst):len(dst)+n], src)
	return dst[:len(dst)+n]
}

// encodePortable writes the padded encoding of src to out, which is exactly its length.
func encodePortable(out, src []byte) {
	i, j := 0, 0
	// Six input bytes make eight output bytes: one 64-bit store.
	for ; len(src)-i >= 8 && len(out)-j >= 8; i, j = i+6, j+8 {
		v := binary.BigEndian.Uint64(src[i:]) // reads 8, uses the first 6
		w := uint64(b64Pairs[v>>52])<<48 | uint64(b64Pairs[(v>>40)&0xfff])<<32 |
			uint64(b64Pairs[(v>>28)&0xfff])<<16 | uint64(b64Pairs[(v>>16)&0xfff])
		binary.BigEndian.PutUint64(out[j:], w)
	}
	for ; len(src)-i >= 3; i, j = i+3, j+4 {
		v := uint(src[i])<<16 | uint(src[i+1])<<8 | uint(src[i+2])
		binary.BigEndian.PutUint16(out[j:], b64Pairs[v>>12])
		binary.BigEndian.PutUint16(out[j+2:], b64Pairs[v&0xfff])
	}
	if i < len(src) {
		base64.StdEncoding.Encode(out[j:], src[i:])
	}
}
