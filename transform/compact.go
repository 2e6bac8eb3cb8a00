package transform

// AppendCompact appends src, which must be exactly one JSON value optionally surrounded by whitespace, to dst
// without the whitespace outside its strings, and reports whether src was valid JSON. When it was not, dst is
// returned with its length unchanged. It is encoding/json's Valid and Compact in one pass with this package's
// scanner, which skips string content eight bytes at a time: a target that must frame untrusted events (a
// rendered template, an enrichment's output) as one JSON line pays a fraction of what the two passes cost.
// Like encoding/json, it does not check that strings are valid UTF-8.
func AppendCompact(dst, src []byte) ([]byte, bool) {
	base := len(dst)
	dst, i, ok := compactValue(dst, src, skipWS(src, 0), 0)
	if !ok || skipWS(src, i) != len(src) {
		return dst[:base], false
	}
	return dst, true
}

// compactValue is skipValueDepth copying what it validates, except whitespace, to dst.
func compactValue(dst, b []byte, i, depth int) ([]byte, int, bool) {
	if i >= len(b) {
		return dst, i, false
	}
	var end int
	var ok bool
	switch c := b[i]; c {
	case '"':
		end, _, ok = skipString(b, i)
	case '{', '[':
		if depth >= maxDepth {
			return dst, i, false
		}
		return compactContainer(dst, b, i, depth)
	case 't':
		end, ok = skipLiteral(b, i, "true")
	case 'f':
		end, ok = skipLiteral(b, i, "false")
	case 'n':
		end, ok = skipLiteral(b, i, "null")
	default:
		if c != '-' && (c < '0' || c > '9') {
			return dst, i, false
		}
		end, ok = skipNumber(b, i)
	}
	if !ok {
		return dst, end, false
	}
	return append(dst, b[i:end]...), end, true
}

// compactContainer copies the object or array starting at b[i].
func compactContainer(dst, b []byte, i, depth int) ([]byte, int, bool) {
	object := b[i] == '{'
	closer := byte(']')
	if object {
		closer = '}'
	}
	dst = append(dst, b[i])
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == closer {
		return append(dst, closer), i + 1, true
	}
	for {
		var ok bool
		if object {
			if i >= len(b) || b[i] != '"' {
				return dst, i, false
			}
			end, _, ok := skipString(b, i)
			if !ok {
				return dst, end, false
			}
			dst = append(dst, b[i:end]...)
			i = skipWS(b, end)
			if i >= len(b) || b[i] != ':' {
				return dst, i, false
			}
			dst = append(dst, ':')
			i = skipWS(b, i+1)
		}
		if dst, i, ok = compactValue(dst, b, i, depth+1); !ok {
			return dst, i, false
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return dst, i, false
		}
		if b[i] == closer {
			return append(dst, closer), i + 1, true
		}
		if b[i] != ',' {
			return dst, i, false
		}
		dst = append(dst, ',')
		i = skipWS(b, i+1)
	}
}
