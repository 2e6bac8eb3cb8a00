package pattern

import (
	"unicode"
	"unicode/utf8"
)

// fullFolds are the case foldings that map one code point to several (Unicode CaseFolding.txt status F). They make
// equals-ignore-case treat "ß" like "SS" and "ΰ" like "Ϋ́", as event-ruler's Java case mapping does.
var fullFolds = map[rune]string{
	0x00DF: "ss", 0x1E9E: "ss", 0x0130: "i\u0307", 0x0149: "\u02BCn", 0x01F0: "j\u030C",
	0x0390: "\u03B9\u0308\u0301", 0x03B0: "\u03C5\u0308\u0301", 0x0587: "\u0565\u0582",
	0x1E96: "h\u0331", 0x1E97: "t\u0308", 0x1E98: "w\u030A", 0x1E99: "y\u030A", 0x1E9A: "a\u02BE",
	0x1F50: "\u03C5\u0313", 0x1F52: "\u03C5\u0313\u0300", 0x1F54: "\u03C5\u0313\u0301", 0x1F56: "\u03C5\u0313\u0342",
	0x1FB6: "\u03B1\u0342", 0x1FC6: "\u03B7\u0342", 0x1FD2: "\u03B9\u0308\u0300", 0x1FD3: "\u03B9\u0308\u0301",
	0x1FD6: "\u03B9\u0342", 0x1FD7: "\u03B9\u0308\u0342", 0x1FE2: "\u03C5\u0308\u0300", 0x1FE3: "\u03C5\u0308\u0301",
	0x1FE4: "\u03C1\u0313", 0x1FE6: "\u03C5\u0342", 0x1FE7: "\u03C5\u0308\u0342", 0x1FF6: "\u03C9\u0342",
	0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "st", 0xFB06: "st",
	0xFB13: "\u0574\u0576", 0xFB14: "\u0574\u0565", 0xFB15: "\u0574\u056B", 0xFB16: "\u057E\u0576", 0xFB17: "\u0574\u056D",
}

// foldCase appends the case-folded form of s to dst: ASCII letters are lowered, other code points are mapped through
// the full foldings above or else to the lower case of their upper case, which joins every simple case-folding orbit
// (k, K and the Kelvin sign K; ſ, s and S; ς, σ and Σ) whatever the UTF-8 lengths of its members. Invalid UTF-8 bytes
// are copied unchanged so that folding never merges them with U+FFFD.
func foldCase(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, c)
			i++
			continue
		}
		i += n
		if f, ok := fullFolds[r]; ok {
			dst = append(dst, f...)
			continue
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(unicode.ToUpper(r)))
	}
	return dst
}

// isASCIIFoldFree reports whether s is ASCII without upper-case letters, so that it is its own folded form.
func isASCIIFoldFree(s []byte) bool {
	for _, c := range s {
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
