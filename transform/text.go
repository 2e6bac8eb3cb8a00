package transform

import "github.com/sluicehq/sluice/internal/jsontext"

// This file converts raw JSON values into the three textual forms a placeholder can take: a JSON value (raw), the
// content of a JSON string (escaped), and plain text (unescaped), with the escaping primitives of internal/jsontext
// (the minimal escaping: only what JSON requires, other bytes copied as they are). Every function appends to dst
// and allocates only when dst must grow.

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
			dst = jsontext.AppendEscaped(dst, v[start:end])
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
			dst = jsontext.AppendUnescaped(dst, v[i+1:end-1])
		} else {
			dst = append(dst, v[i+1:end-1]...)
		}
		i = end - 1
		start = end
	}
	flush(len(v))
	return dst
}
