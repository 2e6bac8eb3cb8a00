package transform

import (
	"encoding/binary"
	"math/bits"

	"github.com/sluicehq/sluice/internal/jsontext"
)

// This file is a small JSON scanner that finds the raw span of a value without decoding anything. Rendering walks
// the event once per needed path with it, so a template never unmarshals the event into Go values. Every span it
// returns has been validated (strings, numbers, literals and nesting), so copying a span into the output cannot
// produce malformed JSON even when the parts of the event that were not visited are.

// maxDepth bounds nesting so that a hostile event cannot exhaust the stack (encoding/json uses the same limit).
const maxDepth = 10000

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue validates the JSON value starting at b[i] and returns the index just past it.
func skipValue(b []byte, i int) (int, bool) {
	return skipValueDepth(b, i, 0)
}

func skipValueDepth(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; c {
	case '"':
		end, _, ok := skipString(b, i)
		return end, ok
	case '{':
		if depth >= maxDepth {
			return i, false
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		for {
			var ok bool
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			if i, _, ok = skipString(b, i); !ok {
				return i, false
			}
			i = skipWS(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			if i, ok = skipValueDepth(b, skipWS(b, i+1), depth+1); !ok {
				return i, false
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, false
			}
			if b[i] == '}' {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = skipWS(b, i+1)
		}
	case '[':
		if depth >= maxDepth {
			return i, false
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = skipValueDepth(b, i, depth+1); !ok {
				return i, false
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, false
			}
			if b[i] == ']' {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = skipWS(b, i+1)
		}
	case 't':
		return skipLiteral(b, i, "true")
	case 'f':
		return skipLiteral(b, i, "false")
	case 'n':
		return skipLiteral(b, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return skipNumber(b, i)
		}
		return i, false
	}
}

func skipLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// skipString validates the string starting at b[i] (a quote) and reports whether its content holds escapes.
// Runs of ordinary bytes are skipped eight at a time (jsontext.IndexSpecial); only quotes, backslashes and control
// characters stop the scan, so the ~1.4 KB base64 "value" of a Kafka event costs a few hundred cycles.
func skipString(b []byte, i int) (end int, escaped, ok bool) {
	j := i + 1
	if j+8 <= len(b) {
		// Short strings (member names, small values) end within the first word: no call, no loop.
		if m := jsontext.SpecialMask(binary.LittleEndian.Uint64(b[j:])); m != 0 {
			k := j + bits.TrailingZeros64(m)>>3
			if b[k] == '"' {
				return k + 1, false, true
			}
			j = k
		} else {
			j += 8
		}
	}
	for {
		j = jsontext.IndexSpecial(b, j)
		if j >= len(b) {
			return len(b), escaped, false
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1, escaped, true
		case c == '\\':
			escaped = true
			j++
			if j >= len(b) {
				return j, escaped, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-j < 5 || !isHex(b[j+1]) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) {
					return j, escaped, false
				}
				j += 4
			default:
				return j, escaped, false
			}
			j++
		case c < 0x20:
			return j, escaped, false
		default:
			j++ // IndexSpecial may stop on an ordinary byte above a real hit's borrow; never past one
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipNumber validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? starting at b[i].
func skipNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && isDigit(b[i]):
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, true
}

// validJSON reports whether b is exactly one JSON value, optionally surrounded by whitespace, and returns that
// value without the whitespace.
func validJSON(b []byte) ([]byte, bool) {
	i := skipWS(b, 0)
	end, ok := skipValue(b, i)
	if !ok || skipWS(b, end) != len(b) {
		return nil, false
	}
	return b[i:end], true
}

// member finds key in the object starting at b[i] (which must be '{') and returns the span of its value. When an
// object repeats a key the first occurrence wins, which lets the walk stop early. ok is false when the object is
// malformed before the key was found.
func member(b []byte, i int, key string) (vs, ve int, found, ok bool) {
	vs, found, ok = memberStart(b, i, key)
	if !found || !ok {
		return 0, 0, found, ok
	}
	if ve, ok = skipValue(b, vs); !ok || !memberEnds(b, ve) {
		return 0, 0, false, false // checked before returning a match too: "01" must not yield 0
	}
	return vs, ve, true, true
}

// memberEnds reports whether the member value ending at b[i] is followed by what must follow it in an object.
func memberEnds(b []byte, i int) bool {
	i = skipWS(b, i)
	return i < len(b) && (b[i] == '}' || b[i] == ',')
}

// memberStart is member without the validation of the found value: it returns where that value starts, having
// validated every member before it, so that a caller with a faster way to validate the value (kafka.go) can use
// it. The caller must validate the value and check memberEnds.
func memberStart(b []byte, i int, key string) (vs int, found, ok bool) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return 0, false, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false, false
		}
		ks := i
		end, esc, sok := skipString(b, i)
		if !sok {
			return 0, false, false
		}
		match := stringEquals(b[ks+1:end-1], esc, key)
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, false, false
		}
		i = skipWS(b, i+1)
		if match {
			return i, true, true
		}
		if i, ok = skipValue(b, i); !ok {
			return 0, false, false
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, false, false
		}
		if b[i] == '}' {
			return 0, false, true
		}
		if b[i] != ',' {
			return 0, false, false
		}
		i = skipWS(b, i+1)
	}
}

// element finds the n-th element of the array starting at b[i] (which must be '[').
func element(b []byte, i, n int) (vs, ve int, found, ok bool) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return 0, 0, false, true
	}
	for k := 0; ; k++ {
		vs = i
		if i, ok = skipValue(b, i); !ok {
			return 0, 0, false, false
		}
		ve = i
		i = skipWS(b, i)
		if i >= len(b) || (b[i] != ']' && b[i] != ',') {
			return 0, 0, false, false
		}
		if k == n {
			return vs, ve, true, true
		}
		if b[i] == ']' {
			return 0, 0, false, true
		}
		if b[i] != ',' {
			return 0, 0, false, false
		}
		i = skipWS(b, i+1)
	}
}

// stringEquals compares the raw content of a JSON string (between its quotes) with s. Keys with escapes are rare,
// so they take the slower decoding comparison.
func stringEquals(raw []byte, escaped bool, s string) bool {
	if !escaped {
		return string(raw) == s
	}
	if len(raw) > 6*len(s) {
		return false // an escape takes at most six raw bytes per decoded byte of an ASCII key
	}
	var buf [64]byte
	dec := jsontext.AppendUnescaped(buf[:0], raw)
	return string(dec) == s
}
