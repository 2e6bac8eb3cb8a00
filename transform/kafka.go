package transform

import (
	"bytes"
	"encoding/base64"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/jsontext"
)

// This file implements Pipes' implicit body parsing for Kafka records: the record's "key" and "value" carry the
// base64 of the raw bytes, and a path into them reads the decoded payload when that payload is valid UTF-8 JSON.
// The decoding happens at most once per event and member, into buffers that are reused from event to event.

// kafkaEventSource is the eventSource of a Pipes self-managed Kafka record; only such events get implicit parsing.
const kafkaEventSource = "SelfManagedKafka"

// state is the per-evaluation scratch space: whether the event is a Kafka record, the decoded key and value, and
// the buffer a [*] result is assembled in. Templates and paths keep states in a sync.Pool.
type state struct {
	kafkaKnown, kafka bool
	key, value        body
	scratch           []byte
	unesc             []byte // the base64 text when the JSON string held escapes (never in records Sluice builds)
	top               index  // the event's top-level members walked so far
}

// index records the top-level members of an event as a lookup walks past them, so that the several top-level
// lookups of one evaluation (eventSource, key, value, partition, offset, ...) walk the event's head once
// instead of once each. The walk is lazy: it stops at the member looked for, as member does.
type index struct {
	started bool
	end     bool // the walk reached the closing brace
	bad     bool // the walk met malformed JSON at next
	next    int  // where the next member starts (at its name's quote)
	n       int  // members recorded: the first ones inline (a Kafka record has 11), the rest in more
	inline  [16]indexed
	more    []indexed
}

func (ix *index) at(k int) *indexed {
	if k < len(ix.inline) {
		return &ix.inline[k]
	}
	return &ix.more[k-len(ix.inline)]
}

func (ix *index) add(m indexed) {
	if ix.n < len(ix.inline) {
		ix.inline[ix.n] = m
	} else {
		ix.more = append(ix.more, m)
	}
	ix.n++
}

// indexed is one member: its raw name (between the quotes) and the span of its validated value.
type indexed struct {
	ks, ke int
	esc    bool
	vs, ve int
}

// topMember is member(event, start, key) for the top-level object starting at event[start], through the
// index: the same results, the first occurrence of a repeated key winning, and ok false only when the object
// is malformed before key is found.
func (st *state) topMember(event []byte, start int, key string) (vs, ve int, found, ok bool) {
	ix := &st.top
	for k := 0; k < ix.n; k++ {
		if m := ix.at(k); stringEquals(event[m.ks:m.ke], m.esc, key) {
			return m.vs, m.ve, true, true
		}
	}
	if !ix.started {
		ix.started = true
		i := skipWS(event, start+1)
		if i < len(event) && event[i] == '}' {
			ix.end = true
		}
		ix.next = i
	}
	for !ix.end && !ix.bad {
		i := ix.next
		if i >= len(event) || event[i] != '"' {
			ix.bad = true
			break
		}
		end, esc, sok := skipString(event, i)
		if !sok {
			ix.bad = true
			break
		}
		m := indexed{ks: i + 1, ke: end - 1, esc: esc}
		i = skipWS(event, end)
		if i >= len(event) || event[i] != ':' {
			ix.bad = true
			break
		}
		m.vs = skipWS(event, i+1)
		if m.ve, ok = skipValue(event, m.vs); !ok {
			ix.bad = true
			break
		}
		i = skipWS(event, m.ve)
		if i >= len(event) || (event[i] != '}' && event[i] != ',') {
			ix.bad = true // checked before returning a match too: "01" must not yield 0
			break
		}
		ix.add(m)
		if event[i] == '}' {
			ix.end = true
		} else {
			ix.next = skipWS(event, i+1)
		}
		if stringEquals(event[m.ks:m.ke], m.esc, key) {
			return m.vs, m.ve, true, true
		}
	}
	if ix.bad {
		return 0, 0, false, false
	}
	return 0, 0, false, true
}

// body is one decoded Kafka member.
type body struct {
	done  bool
	found bool   // the member exists
	json  bool   // span is the decoded payload, valid JSON; otherwise span is the member's raw JSON value
	err   bool   // the event was malformed on the way to the member
	span  []byte // what a path into the member continues from
	// rawStart and rawEnd delimit the member's value in the event, for <aws.pipes.event.json>; rawKnown is
	// false when the member was taken from raw (Scope.ResetKafka) without walking the event to it.
	rawStart, rawEnd int
	rawKnown         bool
	buf              []byte // the decoded bytes, reused across events
	// cspan is span without whitespace outside strings, when json: span itself when it has none (the
	// common case), else a compacted copy in cbuf. Template.RenderScopeCompact writes it.
	cspan []byte
	cbuf  []byte
	// raw is the record's own key or value bytes when hinted (Scope.ResetKafka): what decoding the event's
	// base64 would give, nil when the event has no such member.
	raw    []byte
	hinted bool
}

func (st *state) reset() {
	st.kafkaKnown = false
	st.key.done, st.key.hinted, st.key.raw = false, false, nil
	st.value.done, st.value.hinted, st.value.raw = false, false, nil
	st.top.started, st.top.end, st.top.bad = false, false, false
	st.top.n, st.top.more = 0, st.top.more[:0]
}

// isKafka reports whether event (a JSON object) is a Pipes Kafka record.
func (st *state) isKafka(event []byte) bool {
	if !st.kafkaKnown {
		st.kafkaKnown = true
		vs, ve, found, _ := st.topMember(event, skipWS(event, 0), "eventSource")
		if found && event[vs] == '"' {
			_, esc, _ := skipString(event, vs)
			st.kafka = stringEquals(event[vs+1:ve-1], esc, kafkaEventSource)
		} else {
			st.kafka = false
		}
	}
	return st.kafka
}

// body returns the decoded view of the Kafka member name ("key" or "value") of event.
func (st *state) body(event []byte, name string) *body {
	b := &st.value
	if name == "key" {
		b = &st.key
	}
	if b.done {
		return b
	}
	if b.hinted {
		// The record's own bytes: no walk over the event, no base64. Only the common outcome, a JSON
		// payload, is taken from them; the others (no member, binary, text) need the member's raw text,
		// so they take the walk below.
		if b.raw != nil && utf8.Valid(b.raw) {
			if v, cv, ok := b.validCompact(b.raw); ok {
				b.done, b.found, b.json, b.err, b.span, b.cspan, b.rawKnown = true, true, true, false, v, cv, false
				return b
			}
		}
	}
	b.done, b.found, b.json, b.err, b.span, b.rawStart, b.rawEnd, b.rawKnown = true, false, false, false, nil, 0, 0, true
	b.cspan = nil
	vs, ve, found, ok := st.topMember(event, skipWS(event, 0), name)
	if !ok {
		b.err = true
		return b
	}
	if !found {
		return b
	}
	b.found = true
	b.span = event[vs:ve]
	b.rawStart, b.rawEnd = vs, ve
	if event[vs] != '"' {
		return b // null (a tombstone or a record without a key) or something Sluice never writes: used as is
	}
	src := event[vs+1 : ve-1]
	if bytes.IndexByte(src, '\\') >= 0 { // a validated string: a backslash is an escape
		st.unesc = jsontext.AppendUnescaped(st.unesc[:0], src)
		src = st.unesc
	}
	dec, err := b.decode(src)
	if err != nil {
		return b // not base64: the member keeps its text
	}
	if !utf8.Valid(dec) {
		return b // binary: stays base64, as Pipes does
	}
	if v, cv, ok := b.validCompact(dec); ok {
		b.json = true
		b.span, b.cspan = v, cv
	}
	return b
}

// validCompact is validJSON that also returns the value without whitespace outside its strings: v itself
// when it has none, else a copy in b.cbuf. It is one pass (the compactor's), as validJSON is.
func (b *body) validCompact(src []byte) (v, compact []byte, ok bool) {
	c := compactor{dst: b.cbuf[:0], src: src}
	i := skipWS(src, 0)
	c.run = i
	end, ok := c.value(i, 0)
	if !ok || skipWS(src, end) != len(src) {
		return nil, nil, false
	}
	v = src[i:end]
	if !c.flushed {
		return v, v, true
	}
	b.cbuf = append(c.dst, src[c.run:end]...)
	return v, b.cbuf, true
}

// decode base64-decodes src into b's buffer.
func (b *body) decode(src []byte) ([]byte, error) {
	n := base64.StdEncoding.DecodedLen(len(src))
	if cap(b.buf) < n {
		b.buf = make([]byte, n)
	}
	n, err := decodeBase64(b.buf[:n], src)
	return b.buf[:n], err
}

// rawSpan makes sure b (the member name of event) knows where its value sits in the event, walking the event
// to it when b was taken from the record's bytes (Scope.ResetKafka).
func (st *state) rawSpan(event []byte, name string, b *body) {
	if b.rawKnown || !b.found {
		return
	}
	if vs, ve, found, ok := st.topMember(event, skipWS(event, 0), name); ok && found {
		b.rawStart, b.rawEnd, b.rawKnown = vs, ve, true
		return
	}
	// Not the event of these bytes after all: evaluate the member from the event, as without the hint.
	b.done, b.hinted = false, false
	st.body(event, name)
}
