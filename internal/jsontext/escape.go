package jsontext

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// appendEscapedByte appends the escape of c, a quote, a backslash or a control character: \n, \r and \t in
// their short forms, \b and \f too when shortBF is set (else \u0008 and \u000c, as encoding/json wrote them
// before Go 1.22; the Kafka event keeps that form so that its bytes do not change), any other control
// character as \u00XX.
func appendEscapedByte(dst []byte, c byte, shortBF bool) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		if shortBF {
			return append(dst, '\\', 'b')
		}
	case '\f':
		if shortBF {
			return append(dst, '\\', 'f')
		}
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// AppendEscaped appends s escaped as the content of a JSON string, without the surrounding quotes. Only
// what JSON requires is escaped: quotes, backslashes and control characters (\n, \r, \t, \b and \f in
// their short forms, the others as \u00XX). '<', '>' and '&' stay as they are because the output is not
// HTML, and bytes from 0x80 up, valid UTF-8 or not, are copied unchanged.
func AppendEscaped[T string | []byte](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendEscapedByte(dst, c, true)
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// AppendQuoted appends s as a JSON string escaped by AppendEscaped.
func AppendQuoted[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, s)
	return append(dst, '"')
}

// AppendEscapedUTF8 appends s escaped as the content of a JSON string, without the surrounding quotes, so
// that the result is valid UTF-8 and safe to embed in JavaScript whatever s holds: quotes and backslashes
// are escaped, \n, \r and \t in their short forms, the other control characters as \u00XX (\b and \f
// included), each byte of invalid UTF-8 becomes \ufffd, and U+2028 and U+2029, valid JSON that breaks
// JavaScript, are escaped. This is encoding/json's escaping without its HTML escapes.
func AppendEscapedUTF8(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedByte(dst, c, false)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// AppendQuotedUTF8 appends s as a JSON string escaped by AppendEscapedUTF8.
func AppendQuotedUTF8(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendEscapedUTF8(dst, s)
	return append(dst, '"')
}
