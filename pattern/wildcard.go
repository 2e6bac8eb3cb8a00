package pattern

import (
	"bytes"
	"errors"
)

// wildcard is a compiled wildcard value: literal segments separated by "*" (any run of characters, possibly empty).
type wildcard struct {
	src      string
	segs     [][]byte
	leading  bool // starts with "*"
	trailing bool // ends with "*"
	stars    int
}

// parseWildcard compiles a wildcard value (already JSON-unescaped). "\*" is a literal star and "\\" a literal
// backslash; any other backslash escape and two consecutive unescaped stars are invalid, as in EventBridge.
func parseWildcard(s string) (*wildcard, error) {
	w := &wildcard{src: s}
	var cur []byte
	prevStar := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return nil, errors.New(`invalid escape in wildcard: only \* and \\ are allowed`)
			}
			i++
			cur = append(cur, s[i])
			prevStar = false
		case '*':
			if prevStar {
				return nil, errors.New("consecutive wildcard characters (**) are not allowed")
			}
			if w.stars == 0 && len(w.segs) == 0 && len(cur) == 0 {
				w.leading = true
			} else {
				w.segs = append(w.segs, cur)
			}
			cur = nil
			w.stars++
			prevStar = true
		default:
			cur = append(cur, c)
			prevStar = false
		}
	}
	if prevStar {
		w.trailing = true
	} else {
		w.segs = append(w.segs, cur)
	}
	return w, nil
}

// match reports whether s matches. Leftmost placement of each middle segment is optimal for "*"-only globs, so
// this is linear in len(s) per segment and never backtracks.
func (w *wildcard) match(s []byte) bool {
	segs := w.segs
	if w.stars == 0 {
		return bytes.Equal(s, segs[0])
	}
	if !w.leading {
		if !bytes.HasPrefix(s, segs[0]) {
			return false
		}
		s = s[len(segs[0]):]
		segs = segs[1:]
	}
	if !w.trailing {
		last := segs[len(segs)-1]
		if !bytes.HasSuffix(s, last) {
			return false
		}
		s = s[:len(s)-len(last)]
		segs = segs[:len(segs)-1]
	}
	for _, g := range segs {
		i := bytes.Index(s, g)
		if i < 0 {
			return false
		}
		s = s[i+len(g):]
	}
	return true
}
