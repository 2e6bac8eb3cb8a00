package event

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
)

// b64Pairs maps every 12-bit value to its two standard-alphabet base64 characters, big endian, so that
// encoding takes two table loads per three input bytes. Record values dominate the cost of building an
// event, and this is about twice as fast as encoding/base64 on 1 KB values; FuzzAppendBase64 checks it
// against encoding/base64.
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
	return dst[:len(dst)+n]
}
