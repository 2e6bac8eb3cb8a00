package pattern

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// This file holds a deliberately simple reference matcher used by the differential tests and FuzzMatch: it
// decodes the event with encoding/json and walks each alternative of a compiled pattern recursively. It shares
// only the value-level primitives (canonical numbers, case folding, wildcard matching) with the fast matcher,
// which have their own table tests.

// refMatch reports whether the decoded event matches any alternative of the compiled pattern.
func refMatch(c *compiled, event any) bool {
	for _, a := range c.alts {
		root := &tnode{kids: map[string]*tnode{}}
		for i := range a.clauses {
			cl := &a.clauses[i]
			t := root
			for _, k := range cl.path {
				nt, ok := t.kids[k]
				if !ok {
					nt = &tnode{kids: map[string]*tnode{}}
					t.kids[k] = nt
					t.order = append(t.order, k)
				}
				t = nt
			}
			t.leaf = cl
		}
		if refObject(root, event, true) {
			return true
		}
	}
	return false
}

// refObject: do all of t's children hold within the value v (present tells absent from null)?
func refObject(t *tnode, v any, present bool) bool {
	if arr, ok := v.([]any); ok && present {
		if len(arr) == 0 {
			return refObject(t, nil, false)
		}
		for _, e := range arr {
			if refObject(t, e, true) {
				return true
			}
		}
		return false
	}
	m, isObj := v.(map[string]any)
	for _, k := range t.order {
		kid := t.kids[k]
		var cv any
		var ok bool
		if isObj && present {
			cv, ok = m[k]
		}
		if kid.leaf != nil && !refLeaf(kid.leaf, cv, ok) {
			return false
		}
		if len(kid.kids) > 0 && !refObject(kid, cv, ok) {
			return false
		}
	}
	return true
}

func hasNotExists(cl *clause) bool {
	for _, t := range cl.tests {
		if t.kind == opNotExists {
			return true
		}
	}
	return false
}

func refLeaf(cl *clause, v any, present bool) bool {
	if !present {
		return hasNotExists(cl)
	}
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return hasNotExists(cl)
		}
		for _, e := range x {
			if refLeaf(cl, e, true) {
				return true
			}
		}
		return false
	case map[string]any:
		return hasNotExists(cl)
	}
	for _, t := range cl.tests {
		if refTest(&t, v) {
			return true
		}
	}
	return false
}

func refTest(t *valueTest, v any) bool {
	s, isStr := v.(string)
	n, isNum := v.(json.Number)
	canon := ""
	if isNum {
		canon = string(appendCanonicalNumber(nil, []byte(n)))
	}
	fold := func(x string) string { return string(foldCase(nil, []byte(x))) }
	switch t.kind {
	case opExactString:
		return isStr && s == t.s
	case opIPExact:
		if !isStr {
			return false
		}
		if s == t.s {
			return true
		}
		a, err := netip.ParseAddr(s)
		return err == nil && a.Zone() == "" && a == t.addr
	case opExactNumber:
		return isNum && canon == t.s
	case opTrue:
		return v == true
	case opFalse:
		return v == false
	case opNull:
		return v == nil
	case opPrefix:
		return isStr && strings.HasPrefix(s, t.s)
	case opSuffix:
		return isStr && strings.HasSuffix(s, t.s)
	case opEIC:
		return isStr && fold(s) == t.s
	case opPrefixEIC:
		return isStr && strings.HasPrefix(fold(s), t.s)
	case opSuffixEIC:
		return isStr && strings.HasSuffix(fold(s), t.s)
	case opWildcard:
		return isStr && t.wc.match([]byte(s))
	case opCIDR:
		if !isStr {
			return false
		}
		a, err := netip.ParseAddr(s)
		return err == nil && a.Zone() == "" && t.pfx.Contains(a)
	case opNumeric:
		if !isNum {
			return false
		}
		return t.rng.contains(parseNumber([]byte(n)))
	case opExists:
		return true
	case opNotExists:
		return false
	case opAnythingBut:
		ab := t.ab
		if isNum {
			for _, x := range ab.nums {
				if x == canon {
					return false
				}
			}
			return true
		}
		if !isStr {
			return true
		}
		for i, x := range ab.strs {
			switch ab.kind {
			case abValues:
				if s == x {
					return false
				}
			case abPrefix:
				if strings.HasPrefix(s, x) {
					return false
				}
			case abSuffix:
				if strings.HasSuffix(s, x) {
					return false
				}
			case abEIC:
				if fold(s) == x {
					return false
				}
			case abWildcard:
				if ab.wcs[i].match([]byte(s)) {
					return false
				}
			}
		}
		return true
	}
	return false
}

// refDecode decodes an event for the reference matcher. ok is false for events the two matchers legitimately
// treat differently: invalid JSON or UTF-8, or duplicate member names (first wins in the fast matcher, last in
// encoding/json).
func refDecode(event []byte) (any, bool) {
	if !utf8.Valid(event) || !json.Valid(event) || hasDuplicateKeys(event) {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(event))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

func hasDuplicateKeys(event []byte) bool {
	d := json.NewDecoder(bytes.NewReader(event))
	type frame struct {
		keys      map[string]bool // nil for arrays
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return true
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{':
				stack = append(stack, &frame{keys: map[string]bool{}, expectKey: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].keys != nil {
					stack[len(stack)-1].expectKey = true
				}
			}
		case string:
			if top != nil && top.keys != nil {
				if top.expectKey {
					if top.keys[x] {
						return true
					}
					top.keys[x] = true
					top.expectKey = false
				} else {
					top.expectKey = true
				}
			}
		default:
			if top != nil && top.keys != nil {
				top.expectKey = true
			}
		}
	}
}
