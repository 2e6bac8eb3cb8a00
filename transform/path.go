package transform

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
)

// Path is a compiled JSON path of the Pipes subset: $, then any number of .name steps, each followed by any number
// of [index] or [*] steps. A Path is safe for concurrent use.
type Path struct {
	src   string
	steps []step
	wild  bool // some step is [*]: the result is an array assembled from the matches
	body  bool // the first step is .key or .value: Kafka implicit body parsing may apply
	pool  sync.Pool
}

type stepKind uint8

const (
	stepName stepKind = iota
	stepIndex
	stepWild
)

type step struct {
	kind  stepKind
	name  string
	index int
}

// ParsePath compiles a whole-value JSON path such as "$.value.orderId" or "$.items[0].sku" (the form dynamic target
// and enrichment parameters take). Errors are *Error values naming the column.
func ParsePath(p string) (*Path, error) {
	path, err := parsePath(p, p, 0, "json path")
	if err != nil {
		return nil, err
	}
	return path, nil
}

// IsPath reports whether s is, as a whole, a JSON path of the Pipes grammar. Parameters whose value is a path are
// evaluated per event; any other value is used literally.
func IsPath(s string) bool {
	_, err := parsePath(s, s, 0, "json path")
	return err == nil
}

// String returns the path as written.
func (p *Path) String() string { return p.src }

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '/' || isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// parsePath compiles p, which starts at byte offset base of src (the enclosing template, for error positions).
func parsePath(p, src string, base int, input string) (*Path, error) {
	fail := func(i int, format string, args ...any) (*Path, error) {
		return nil, newError(input, src, base+i, format, args...)
	}
	if p == "" || p[0] != '$' {
		return fail(0, "a json path starts with $")
	}
	path := &Path{src: p}
	for i := 1; i < len(p); {
		if p[i] != '.' {
			if p[i] == '[' && len(path.steps) == 0 {
				return fail(i, "an index must follow a name (write $.name[0]); $[...] is outside the pipes path grammar")
			}
			return fail(i, "unexpected %q in json path %q: expected '.' followed by a name", p[i], p)
		}
		i++
		start := i
		for i < len(p) && isNameByte(p[i]) {
			i++
		}
		if i == start {
			if i < len(p) {
				return fail(i, "unexpected %q in json path %q: names may hold letters, digits, '_', '-' and '/'", p[i], p)
			}
			return fail(i, "json path %q ends with '.': a name must follow", p)
		}
		path.steps = append(path.steps, step{kind: stepName, name: p[start:i]})
		for i < len(p) && p[i] == '[' {
			i++
			switch {
			case i < len(p) && p[i] == '*':
				path.steps = append(path.steps, step{kind: stepWild})
				path.wild = true
				i++
			case i < len(p) && isDigit(p[i]):
				start := i
				for i < len(p) && isDigit(p[i]) {
					i++
				}
				n, err := strconv.Atoi(p[start:i])
				if err != nil {
					return fail(start, "array index %s in json path %q is too large", p[start:i], p)
				}
				path.steps = append(path.steps, step{kind: stepIndex, index: n})
			default:
				return fail(i, "json path %q: expected an array index or * after '['", p)
			}
			if i >= len(p) || p[i] != ']' {
				return fail(i, "json path %q: expected ']'", p)
			}
			i++
		}
	}
	if len(path.steps) > 0 && (path.steps[0].name == "key" || path.steps[0].name == "value") {
		path.body = true
	}
	path.pool.New = func() any { return new(state) }
	return path, nil
}

// Lookup evaluates the path against one event and returns the raw JSON of the value, reporting whether the path
// exists. For a Pipes Kafka record (eventSource "SelfManagedKafka") a path into $.key or $.value reads the
// base64-decoded payload when it is valid JSON, as Pipes does. A [*] step yields a JSON array of the matches. The
// result is a fresh copy. The error is non-nil (wrapping ErrMalformedEvent) only when the walk meets malformed JSON.
func (p *Path) Lookup(event []byte) (json.RawMessage, bool, error) {
	st := p.pool.Get().(*state)
	defer p.pool.Put(st)
	st.reset()
	v, found, err := st.lookup(p, event)
	if err != nil || !found {
		return nil, false, err
	}
	return append(json.RawMessage(nil), v...), true, nil
}

// AppendLookup is Lookup appending the raw JSON of the value to dst instead of returning a fresh copy, so that a
// caller evaluating the path for every event (a Kafka target's key) allocates only when dst must grow. When the
// path is missing, dst is returned unchanged with false.
func (p *Path) AppendLookup(dst, event []byte) ([]byte, bool, error) {
	st := p.pool.Get().(*state)
	defer p.pool.Put(st)
	st.reset()
	v, found, err := st.lookup(p, event)
	if err != nil || !found {
		return dst, false, err
	}
	return append(dst, v...), true, nil
}

// AppendLookupScope is AppendLookup on the event of s, reusing what earlier evaluations of s decoded.
func (p *Path) AppendLookupScope(dst []byte, s *Scope) ([]byte, bool, error) {
	v, found, err := s.st.lookup(p, s.event)
	if err != nil || !found {
		return dst, false, err
	}
	return append(dst, v...), true, nil
}

// Scope is one event prepared for several evaluations: a Pipes Kafka record's key and value are decoded (and
// checked for being JSON) at most once across a template's RenderScope and any number of AppendLookupScope
// calls. The zero Scope is ready for Reset. A Scope is not safe for concurrent use; reuse one for event after
// event, so that its decoding buffers are reused too.
type Scope struct {
	event []byte
	st    state
}

// Reset makes s evaluate event, forgetting what it decoded for the previous one.
func (s *Scope) Reset(event []byte) {
	s.event = event
	s.st.reset()
}

// ResetKafka is Reset for the Pipes event that Sluice's source encoded for a Kafka record whose raw key and
// value are key and value (nil: the record has none, and the event has no such member). Evaluations give
// what they give after Reset(event), but a path into $.key or $.value reads these bytes instead of walking
// the event to the member and decoding its base64, which is most of the cost of rendering a 1 KB record.
// Passing bytes that are not the event's own key and value gives wrong results: call it only for events
// the source made, not for an enrichment's output.
func (s *Scope) ResetKafka(event, key, value []byte) {
	s.Reset(event)
	s.st.kafkaKnown, s.st.kafka = true, true
	s.st.key.raw, s.st.key.hinted = key, true
	s.st.value.raw, s.st.value.hinted = value, true
}

// LookupText evaluates the path like Lookup and returns the value as text, the way a template made of only this
// placeholder renders it: a string is unquoted and unescaped, an object or array loses the quotes around its
// strings, numbers, booleans and null are their JSON text. This is the form a dynamic parameter such as a Kafka
// message key wants.
func (p *Path) LookupText(event []byte) (string, bool, error) {
	st := p.pool.Get().(*state)
	defer p.pool.Put(st)
	st.reset()
	v, found, err := st.lookup(p, event)
	if err != nil || !found {
		return "", false, err
	}
	return string(appendValue(nil, ctxText, v, true)), true, nil
}

// lookup resolves p in event using st's buffers. The returned span aliases event, st's decoded bodies or st's
// scratch buffer and is valid until the next lookup with st.
func (st *state) lookup(p *Path, event []byte) ([]byte, bool, error) {
	i := skipWS(event, 0)
	if len(p.steps) == 0 {
		v, ok := validJSON(event)
		if !ok {
			if i < len(event) && (event[i] == '{' || event[i] == '[') {
				return nil, false, fmt.Errorf("evaluating %s: %w", p.src, ErrMalformedEvent)
			}
			return nil, false, nil // not JSON at all: nothing to point at
		}
		return v, true, nil
	}
	if i >= len(event) || event[i] != '{' {
		return nil, false, nil
	}
	doc, start, steps := event, i, p.steps
	top := true // doc is the event itself, not a decoded Kafka body
	if p.body && st.isKafka(event) {
		b := st.body(event, steps[0].name)
		if b.err {
			return nil, false, fmt.Errorf("evaluating %s: %w", p.src, ErrMalformedEvent)
		}
		if !b.found {
			return nil, false, nil
		}
		if len(steps) == 1 && !p.wild {
			// $.key or $.value itself: the span is a validated value already (the decoded JSON, or the
			// member's raw value), so it is not scanned again.
			return b.span, true, nil
		}
		doc, start, steps, top = b.span, 0, steps[1:], false
	}
	if p.wild {
		return st.lookupWild(p, doc, start, steps)
	}
	var vs, ve int
	var found, ok bool
	if top && steps[0].kind == stepName {
		// A top-level member of the event, through the index of its members (kafka.go).
		if vs, ve, found, ok = st.topMember(event, start, steps[0].name); ok && found && len(steps) > 1 {
			vs, ve, found, ok = resolve(doc, vs, steps[1:])
		}
	} else {
		vs, ve, found, ok = resolve(doc, start, steps)
	}
	if !ok {
		return nil, false, fmt.Errorf("evaluating %s: %w", p.src, ErrMalformedEvent)
	}
	if !found {
		return nil, false, nil
	}
	return doc[vs:ve], true, nil
}

// lookupCompact is lookup that also returns, for $.key or $.value of a Kafka record whose payload is JSON,
// that value without whitespace outside strings (cv, nil otherwise).
func (st *state) lookupCompact(p *Path, event []byte) (v, cv []byte, found bool, err error) {
	if p.body && len(p.steps) == 1 && !p.wild {
		if i := skipWS(event, 0); i < len(event) && event[i] == '{' && st.isKafka(event) {
			if b := st.body(event, p.steps[0].name); !b.err && b.found && b.json {
				return b.span, b.cspan, true, nil
			}
		}
	}
	v, found, err = st.lookup(p, event)
	return v, nil, found, err
}

// lookupWild evaluates a path holding [*]: the steps before the first [*] must lead to an array or object (else the
// path is missing); the result is the JSON array of every match below it, possibly empty.
func (st *state) lookupWild(p *Path, doc []byte, start int, steps []step) ([]byte, bool, error) {
	k := firstWild(steps)
	vs, _, found, ok := resolve(doc, start, steps[:k])
	if !ok {
		return nil, false, fmt.Errorf("evaluating %s: %w", p.src, ErrMalformedEvent)
	}
	if !found || (doc[vs] != '[' && doc[vs] != '{') {
		return nil, false, nil
	}
	st.scratch = append(st.scratch[:0], '[')
	n := 0
	if !collect(doc, vs, steps[k:], &st.scratch, &n) {
		return nil, false, fmt.Errorf("evaluating %s: %w", p.src, ErrMalformedEvent)
	}
	st.scratch = append(st.scratch, ']')
	return st.scratch, true, nil
}

func firstWild(steps []step) int {
	for k, s := range steps {
		if s.kind == stepWild {
			return k
		}
	}
	return -1
}

// resolve walks steps (none of them [*]) from the value starting at b[i]. Only the values on the way are scanned,
// not the whole document.
func resolve(b []byte, i int, steps []step) (vs, ve int, found, ok bool) {
	if len(steps) == 0 {
		ve, ok = skipValue(b, i)
		return i, ve, ok, ok
	}
	vs = i
	for _, s := range steps {
		if vs >= len(b) {
			return 0, 0, false, false
		}
		switch {
		case s.kind == stepName && b[vs] == '{':
			vs, ve, found, ok = member(b, vs, s.name)
		case s.kind == stepIndex && b[vs] == '[':
			vs, ve, found, ok = element(b, vs, s.index)
		default:
			return 0, 0, false, true // a name on a non-object or an index on a non-array: missing
		}
		if !ok || !found {
			return 0, 0, false, ok
		}
	}
	return vs, ve, true, true
}

// collect appends to *out, as elements of one JSON array, every match of steps from the value at b[i]. A branch
// where the path is missing contributes nothing. It reports false on malformed JSON.
func collect(b []byte, i int, steps []step, out *[]byte, n *int) bool {
	k := firstWild(steps)
	if k < 0 {
		vs, ve, found, ok := resolve(b, i, steps)
		if found {
			if *n > 0 {
				*out = append(*out, ',')
			}
			*out = append(*out, b[vs:ve]...)
			*n++
		}
		return ok
	}
	vs, _, found, ok := resolve(b, i, steps[:k])
	if !ok || !found {
		return ok
	}
	rest := steps[k+1:]
	each := func(es int) bool { return collect(b, es, rest, out, n) }
	switch b[vs] {
	case '[':
		return eachElement(b, vs, each)
	case '{':
		return eachMember(b, vs, each)
	}
	return true
}

// eachElement calls fn with the start of every element of the array at b[i].
func eachElement(b []byte, i int, fn func(int) bool) bool {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return true
	}
	for {
		es := i
		end, ok := skipValue(b, i)
		if !ok || !fn(es) {
			return false
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return false
		}
		if b[i] == ']' {
			return true
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
	}
}

// eachMember calls fn with the start of every member value of the object at b[i].
func eachMember(b []byte, i int, fn func(int) bool) bool {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		end, _, ok := skipString(b, i)
		if !ok {
			return false
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		es := i
		if end, ok = skipValue(b, i); !ok || !fn(es) {
			return false
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return true
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
	}
}
