package transform

import (
	"bytes"
	"encoding/base64"
	"unicode/utf8"
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
}

// body is one decoded Kafka member.
type body struct {
	done  bool
	found bool   // the member exists
	json  bool   // span is the decoded payload, valid JSON; otherwise span is the member's raw JSON value
	err   bool   // the event was malformed on the way to the member
	span  []byte // what a path into the member continues from
	// rawStart and rawEnd delimit the member's value in the event, for <aws.pipes.event.json>.
	rawStart, rawEnd int
	buf              []byte // the decoded bytes, reused across events
}

func (st *state) reset() {
	st.kafkaKnown = false
	st.key.done = false
	st.value.done = false
}

// isKafka reports whether event (a JSON object) is a Pipes Kafka record.
func (st *state) isKafka(event []byte) bool {
	if !st.kafkaKnown {
		st.kafkaKnown = true
		vs, ve, found, _ := member(event, skipWS(event, 0), "eventSource")
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
	b.done, b.found, b.json, b.err, b.span, b.rawStart, b.rawEnd = true, false, false, false, nil, 0, 0
	vs, found, ok := memberStart(event, skipWS(event, 0), name)
	if !ok {
		b.err = true
		return b
	}
	if !found {
		return b
	}
	dec, ve, fast := b.decodeFast(event, vs)
	if !fast {
		if ve, ok = skipValue(event, vs); !ok || !memberEnds(event, ve) {
			b.err = true
			return b
		}
	}
	b.found = true
	b.span = event[vs:ve]
	b.rawStart, b.rawEnd = vs, ve
	if !fast {
		if event[vs] != '"' {
			return b // null (a tombstone or a record without a key) or something Sluice never writes: used as is
		}
		src := event[vs+1 : ve-1]
		if _, esc, _ := skipString(event, vs); esc {
			st.unesc = appendUnescaped(st.unesc[:0], src)
			src = st.unesc
		}
		var err error
		if dec, err = b.decode(src); err != nil {
			return b // not base64: the member keeps its text
		}
	}
	if !utf8.Valid(dec) {
		return b // binary: stays base64, as Pipes does
	}
	if v, ok := validJSON(dec); ok {
		b.json = true
		b.span = v
	}
	return b
}

// decode base64-decodes src into b's buffer.
func (b *body) decode(src []byte) ([]byte, error) {
	n := base64.StdEncoding.DecodedLen(len(src))
	if cap(b.buf) < n {
		b.buf = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(b.buf[:n], src)
	return b.buf[:n], err
}

// decodeFast handles the member value starting at event[vs] when it is what Sluice writes: a string of plain,
// padded base64. It then finds the closing quote with bytes.IndexByte and lets the decoder validate the
// content, instead of first scanning the string for escapes and control characters: a string that decodes
// completely holds only base64 characters, so it is a valid JSON string without escapes and that quote is its
// end. fast is false when the value is anything else (escapes, not base64, not a string, malformed), which the
// caller then handles the slow, validating way.
func (b *body) decodeFast(event []byte, vs int) (dec []byte, ve int, fast bool) {
	if event[vs] != '"' {
		return nil, 0, false
	}
	q := bytes.IndexByte(event[vs+1:], '"')
	if q < 0 {
		return nil, 0, false
	}
	src := event[vs+1 : vs+1+q]
	ve = vs + q + 2
	if len(src)%4 != 0 || !memberEnds(event, ve) {
		return nil, 0, false
	}
	dec, err := b.decode(src)
	if err != nil {
		return nil, 0, false
	}
	// The decoder skips '\r' and '\n', which a JSON string cannot hold raw; with every character used, a
	// padded input of 4k characters ending in p '=' decodes to exactly 3k-p bytes.
	pad := 0
	for k := len(src) - 1; k >= 0 && pad < 2 && src[k] == '='; k-- {
		pad++
	}
	if len(dec) != len(src)/4*3-pad {
		return nil, 0, false
	}
	return dec, ve, true
}
