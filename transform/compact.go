package transform

// AppendCompact appends src, which must be exactly one JSON value optionally surrounded by whitespace, to dst
// without the whitespace outside its strings, and reports whether src was valid JSON. When it was not, dst is
// returned with its length unchanged. It is encoding/json's Valid and Compact in one pass with this package's
// scanner, which skips string content eight bytes at a time: a target that must frame untrusted events (a
// rendered template, an enrichment's output) as one JSON line pays a fraction of what the two passes cost.
// Like encoding/json, it does not check that strings are valid UTF-8.
func AppendCompact(dst, src []byte) ([]byte, bool) {
	c := compactor{dst: dst, src: src}
	i := skipWS(src, 0)
	c.run = i
	i, ok := c.value(i, 0)
	if !ok || skipWS(src, i) != len(src) {
		return dst, false
	}
	return append(c.dst, src[c.run:i]...), true
}

// compactor validates src like skipValueDepth and copies it to dst in runs: whitespace outside strings is
// rare in what targets frame (a template's own spacing), so most of a value goes over in one append
// instead of one per token.
type compactor struct {
	dst, src []byte
	run      int  // start of the bytes validated but not yet copied
	flushed  bool // whitespace was found (and dst written)
}

// ws skips whitespace at src[i], flushing the run before it.
func (c *compactor) ws(i int) int {
	j := skipWS(c.src, i)
	if j > i {
		c.dst = append(c.dst, c.src[c.run:i]...)
		c.run, c.flushed = j, true
	}
	return j
}

// value validates the value at src[i] and returns where it ends.
func (c *compactor) value(i, depth int) (int, bool) {
	b := c.src
	if i >= len(b) {
		return i, false
	}
	switch ch := b[i]; ch {
	case '"':
		end, _, ok := skipString(b, i)
		return end, ok
	case '{', '[':
		if depth >= maxDepth {
			return i, false
		}
		return c.container(i, depth)
	case 't':
		return skipLiteral(b, i, "true")
	case 'f':
		return skipLiteral(b, i, "false")
	case 'n':
		return skipLiteral(b, i, "null")
	default:
		if ch != '-' && (ch < '0' || ch > '9') {
			return i, false
		}
		return skipNumber(b, i)
	}
}

// container validates the object or array starting at src[i].
func (c *compactor) container(i, depth int) (int, bool) {
	b := c.src
	object := b[i] == '{'
	closer := byte(']')
	if object {
		closer = '}'
	}
	i = c.ws(i + 1)
	if i < len(b) && b[i] == closer {
		return i + 1, true
	}
	for {
		var ok bool
		if object {
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			if i, _, ok = skipString(b, i); !ok {
				return i, false
			}
			i = c.ws(i)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			i = c.ws(i + 1)
		}
		if i, ok = c.value(i, depth+1); !ok {
			return i, false
		}
		i = c.ws(i)
		if i >= len(b) {
			return i, false
		}
		if b[i] == closer {
			return i + 1, true
		}
		if b[i] != ',' {
			return i, false
		}
		i = c.ws(i + 1)
	}
}
