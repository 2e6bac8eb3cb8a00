package transform

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// TestDecodeBase64 checks decodeBase64 against base64.StdEncoding.Decode on encodings of every length up to
// 200 bytes, and on each with one character replaced by every byte value (padding, line breaks and bytes
// outside the alphabet among them).
func TestDecodeBase64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(src []byte) {
		t.Helper()
		n := base64.StdEncoding.DecodedLen(len(src))
		want, got := make([]byte, n), make([]byte, n)
		wn, werr := base64.StdEncoding.Decode(want, src)
		gn, gerr := decodeBase64(got, src)
		if gn != wn || (gerr == nil) != (werr == nil) || (werr != nil && gerr.Error() != werr.Error()) ||
			!bytes.Equal(got[:gn], want[:wn]) {
			t.Fatalf("decodeBase64(%q) = %d, %v, %x; want %d, %v, %x", src, gn, gerr, got[:gn], wn, werr, want[:wn])
		}
	}
	for size := range 200 {
		raw := make([]byte, size)
		for i := range raw {
			raw[i] = byte(r.Uint32())
		}
		enc := []byte(base64.StdEncoding.EncodeToString(raw))
		check(enc)
		if len(enc) == 0 {
			continue
		}
		for c := range 256 {
			mut := bytes.Clone(enc)
			mut[r.IntN(len(mut))] = byte(c)
			check(mut)
		}
		check(append(bytes.Clone(enc), '\n'))
		check(enc[:len(enc)-1])
	}
}

func BenchmarkDecodeBase64(b *testing.B) {
	src := []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte(`{"orderId":"o-1","note":"xxxx"}`), 33)))
	dst := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			_, _ = base64.StdEncoding.Decode(dst, src)
		}
	})
	b.Run("sluice", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			_, _ = decodeBase64(dst, src)
		}
	})
}
