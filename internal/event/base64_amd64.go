//go:build amd64 && !purego

package event

import "golang.org/x/sys/cpu"

// hasAVX2 reports whether encodeAVX2 may run: the CPU has AVX2 and the OS saves the YMM registers.
var hasAVX2 = cpu.X86.HasAVX2

// encodeAVX2 is in base64_amd64.s.
//
//go:noescape
func encodeAVX2(dst, src *byte, blocks int)

// encodeBulk encodes the longest prefix of src it handles fast into out (which has room for all of src's
// encoding) and returns how many bytes of src and of out it used, multiples of 3 and 4.
func encodeBulk(out, src []byte) (i, j int) {
	// A block encodes 24 bytes but reads 28; the rest is left to the portable code.
	if !hasAVX2 || len(src) < 28 {
		return 0, 0
	}
	blocks := (len(src) - 4) / 24
	_ = out[blocks*32-1] // out holds 4*ceil(len(src)/3) ≥ blocks*32 bytes
	encodeAVX2(&out[0], &src[0], blocks)
	return blocks * 24, blocks * 32
}

// prefetch is in base64_amd64.s.
//
//go:noescape
func prefetch(p *byte, n int)

// prefetchValue starts loading up to 4 KB of v into cache; past that the CPU's own prefetcher has
// caught on to the sequential reads.
func prefetchValue(v []byte) {
	if len(v) > 0 {
		prefetch(&v[0], min(len(v), 4096))
	}
}
