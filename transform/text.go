package transform

import (
	"unicode/utf16"
	"unicode/utf8"
)

// This file converts raw JSON values into the three textual forms a placeholder can take: a JSON value (raw), the
// content of a JSON string (escaped), and plain text (unescaped). Every function appends to dst and allocates only
// when dst must grow.

const hexDigits = "0123456789abcdef"

// appendEscaped appends s escaped as the content of a JSON string (without the surrounding quotes). Only what JSON
// requires is escaped: quotes, backslashes and control characters; '<', '>' and '&' stay as they are because the
// output is not HTML.
func appendEscaped[T string | []byte](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendQuoted appends s as a JSON string.
func appendQuoted[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendUnescaped appends the decoded text of raw, the content of a valid JSON string between its quotes. A lone
// UTF-16 surrogate becomes U+FFFD, as in encoding/json.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			// Copy the run up to the next escape in one go.
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j - 1
			continue
		}
		if i+1 >= len(raw) {
			return dst
		}
		i++
		switch raw[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(raw, i+1)
			if !ok {
				return dst
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(0), false
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					r2, ok2 = hex4(raw, i+3)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, raw[i])
		}
	}
	return dst
}

func hex4(b []byte, i int) (rune, bool) {
	if len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendStripped appends the valid JSON value v with the quotes that delimit its strings removed, the Pipes rule
// for an object or array placed in a string ({"key": "value"} becomes {key: value}). With unescape (plain text)
// the strings' contents are decoded; without it (inside a JSON string) they stay escaped and the whitespace
// between tokens is escaped too, so that the result is valid JSON string content.
func appendStripped(dst, v []byte, unescape bool) []byte {
	start := 0
	flush := func(end int) {
		if unescape {
			dst = append(dst, v[start:end]...)
		} else {
			dst = appendEscaped(dst, v[start:end])
		}
	}
	for i := 0; i < len(v); i++ {
		if v[i] != '"' {
			continue
		}
		flush(i)
		end, _, ok := skipString(v, i)
		if !ok {
			start = i // unreachable for validated spans; keep the bytes rather than lose them
			break
		}
		if unescape {
			dst = appendUnescaped(dst, v[i+1:end-1])
		} else {
			dst = append(dst, v[i+1:end-1]...)
		}
		i = end - 1
		start = end
	}
	flush(len(v))
	return dst
}
