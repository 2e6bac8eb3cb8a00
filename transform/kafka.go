package transform

import (
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
	vs, ve, found, ok := member(event, skipWS(event, 0), name)
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
	if _, esc, _ := skipString(event, vs); esc {
		st.unesc = appendUnescaped(st.unesc[:0], src)
		src = st.unesc
	}
	n := base64.StdEncoding.DecodedLen(len(src))
	if cap(b.buf) < n {
		b.buf = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(b.buf[:n], src)
	if err != nil {
		return b // not base64: the member keeps its text
	}
	dec := b.buf[:n]
	if !utf8.Valid(dec) {
		return b // binary: stays base64, as Pipes does
	}
	if v, ok := validJSON(dec); ok {
		b.json = true
		b.span = v
	}
	return b
}
