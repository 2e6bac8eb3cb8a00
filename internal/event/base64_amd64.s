//go:build amd64 && !purego

#include "textflag.h"

// Constants of encodeAVX2, 32 bytes each (the same 16 bytes in both 128-bit lanes where a shuffle reads
// them per lane).

// Shuffle: within each lane, input bytes b0 b1 b2 of group k (lane bytes 3k..3k+2) to b1 b0 b2 b1.
DATA b64shuf<>+0(SB)/8, $0x0405030401020001
DATA b64shuf<>+8(SB)/8, $0x0a0b090a07080607
DATA b64shuf<>+16(SB)/8, $0x0405030401020001
DATA b64shuf<>+24(SB)/8, $0x0a0b090a07080607
GLOBL b64shuf<>(SB), RODATA|NOPTR, $32

// Sextets 1 and 3 of each group, moved into place by an unsigned high multiply.
DATA b64mask1<>+0(SB)/8, $0x0fc0fc000fc0fc00
DATA b64mask1<>+8(SB)/8, $0x0fc0fc000fc0fc00
DATA b64mask1<>+16(SB)/8, $0x0fc0fc000fc0fc00
DATA b64mask1<>+24(SB)/8, $0x0fc0fc000fc0fc00
GLOBL b64mask1<>(SB), RODATA|NOPTR, $32

DATA b64mul1<>+0(SB)/8, $0x0400004004000040
DATA b64mul1<>+8(SB)/8, $0x0400004004000040
DATA b64mul1<>+16(SB)/8, $0x0400004004000040
DATA b64mul1<>+24(SB)/8, $0x0400004004000040
GLOBL b64mul1<>(SB), RODATA|NOPTR, $32

// Sextets 2 and 4, moved into place by a low multiply.
DATA b64mask2<>+0(SB)/8, $0x003f03f0003f03f0
DATA b64mask2<>+8(SB)/8, $0x003f03f0003f03f0
DATA b64mask2<>+16(SB)/8, $0x003f03f0003f03f0
DATA b64mask2<>+24(SB)/8, $0x003f03f0003f03f0
GLOBL b64mask2<>(SB), RODATA|NOPTR, $32

DATA b64mul2<>+0(SB)/8, $0x0100001001000010
DATA b64mul2<>+8(SB)/8, $0x0100001001000010
DATA b64mul2<>+16(SB)/8, $0x0100001001000010
DATA b64mul2<>+24(SB)/8, $0x0100001001000010
GLOBL b64mul2<>(SB), RODATA|NOPTR, $32

DATA b64c51<>+0(SB)/8, $0x3333333333333333
DATA b64c51<>+8(SB)/8, $0x3333333333333333
DATA b64c51<>+16(SB)/8, $0x3333333333333333
DATA b64c51<>+24(SB)/8, $0x3333333333333333
GLOBL b64c51<>(SB), RODATA|NOPTR, $32

DATA b64c26<>+0(SB)/8, $0x1a1a1a1a1a1a1a1a
DATA b64c26<>+8(SB)/8, $0x1a1a1a1a1a1a1a1a
DATA b64c26<>+16(SB)/8, $0x1a1a1a1a1a1a1a1a
DATA b64c26<>+24(SB)/8, $0x1a1a1a1a1a1a1a1a
GLOBL b64c26<>(SB), RODATA|NOPTR, $32

DATA b64c13<>+0(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA b64c13<>+8(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA b64c13<>+16(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA b64c13<>+24(SB)/8, $0x0d0d0d0d0d0d0d0d
GLOBL b64c13<>(SB), RODATA|NOPTR, $32

// Offset from a sextet to its character, by class: 0 for 26..51 ('a'-26), 1..10 for 52..61 ('0'-52),
// 11 for 62 ('+'-62), 12 for 63 ('/'-63), 13 for 0..25 ('A').
DATA b64lut<>+0(SB)/8, $0xfcfcfcfcfcfcfc47
DATA b64lut<>+8(SB)/8, $0x000041f0edfcfcfc
DATA b64lut<>+16(SB)/8, $0xfcfcfcfcfcfcfc47
DATA b64lut<>+24(SB)/8, $0x000041f0edfcfcfc
GLOBL b64lut<>(SB), RODATA|NOPTR, $32

// func encodeAVX2(dst, src *byte, blocks int)
//
// Encodes blocks×24 bytes of src into blocks×32 bytes of dst. Each block reads 28 bytes of src (two
// 16-byte loads at 0 and 12), so the caller leaves 4 readable bytes past the last block. blocks > 0.
TEXT ·encodeAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ blocks+16(FP), CX
	VMOVDQU b64shuf<>(SB), Y8
	VMOVDQU b64mask1<>(SB), Y9
	VMOVDQU b64mul1<>(SB), Y10
	VMOVDQU b64mask2<>(SB), Y11
	VMOVDQU b64mul2<>(SB), Y12
	VMOVDQU b64c51<>(SB), Y13
	VMOVDQU b64c26<>(SB), Y14
	VMOVDQU b64lut<>(SB), Y15
	VMOVDQU b64c13<>(SB), Y7

loop:
	// Lane 0 takes input bytes 0..11, lane 1 bytes 12..23.
	VMOVDQU     (SI), X0
	VINSERTI128 $1, 12(SI), Y0, Y0
	VPSHUFB     Y8, Y0, Y0

	// Split each 3-byte group into four sextets, one per byte.
	VPAND    Y9, Y0, Y1
	VPMULHUW Y10, Y1, Y1
	VPAND    Y11, Y0, Y2
	VPMULLW  Y12, Y2, Y2
	VPOR     Y1, Y2, Y0

	// Classify each sextet and add its class's offset.
	VPSUBUSB Y13, Y0, Y1
	VPCMPGTB Y0, Y14, Y2
	VPAND    Y7, Y2, Y2
	VPOR     Y2, Y1, Y1
	VPSHUFB  Y1, Y15, Y1
	VPADDB   Y1, Y0, Y0

	VMOVDQU Y0, (DI)
	ADDQ    $24, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop

	VZEROUPPER
	RET

// func prefetch(p *byte, n int)
//
// Hints the CPU to load the cache lines of p[:n] (n > 0).
TEXT ·prefetch(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX

pf:
	PREFETCHT0 (SI)
	ADDQ       $64, SI
	SUBQ       $64, CX
	JGT        pf
	RET
