package pattern

import (
	"bytes"
	"unicode/utf8"
)

// MatchKafka reports whether a Kafka record matches any pattern of the set (an empty set matches every record).
// event is the record as the Pipes event JSON; its "key" and "value" members are ignored and the raw key and value
// bytes are used instead (nil means a null key or value, which counts as an absent field), with the rules of
// EventBridge Pipes for Kafka (see the package documentation):
//   - value (or key) bytes that are not UTF-8: the pattern's value (key) clauses are dropped, so the remaining
//     metadata clauses decide;
//   - a JSON object or array: clauses that address fields inside it ({"value":{"city":["Seattle"]}}) apply, and
//     clauses on the value as a whole ({"value":["hello"]}) are dropped;
//   - a JSON scalar (string, number, true, false or null): clauses on the value as a whole apply to the scalar,
//     and clauses that address fields inside it are evaluated normally, so they do not match (the fields do
//     not exist; exists:false does match): a JSON value is JSON;
//   - plain text: clauses on the value as a whole apply to the text, and clauses that address fields inside it
//     are dropped.
func (s *Set) MatchKafka(event []byte, key, value []byte) (bool, error) {
	if len(s.rootConds) == 0 {
		return true, nil
	}
	st := s.pool.Get().(*state)
	// First without validating the key and value in full (kafkaBody): a match found so is the answer. A
	// record that does not match is the answer too when what was taken for JSON is JSON; otherwise it is
	// evaluated again, exactly.
	matched, err := s.matchKafka(st, event, key, value, false)
	if err == nil && !matched && st.nAssumed > 0 && !st.assumedValid() {
		matched, err = s.matchKafka(st, event, key, value, true)
	}
	st.data, st.kkey, st.kval, st.kafka, st.assumed = nil, nil, nil, false, [2][]byte{}
	s.pool.Put(st)
	return matched, err
}

// matchKafka is one evaluation of MatchKafka; exact makes kafkaBody validate every key and value in full.
func (s *Set) matchKafka(st *state, event, key, value []byte, exact bool) (bool, error) {
	st.kkey, st.kval = key, value
	st.exact, st.nAssumed = exact, 0
	acc, err := st.run(event, true)
	if err = st.wrap(err); err != nil {
		return false, err
	}
	for _, roots := range s.rootConds {
		for _, r := range roots {
			if hasBit(acc, r) {
				return true, nil
			}
		}
	}
	return false, nil
}

// kafkaBody evaluates a record's key or value bytes at path node n and sets the satisfied conditions in acc.
//
// Deciding between JSON and text takes a full validation of body, while evaluating the clauses usually
// reads only its first members. When n has no clause on the value as a whole (only clauses on fields
// inside it), what the text outcome (and the not-UTF-8 one) sets is n.internalAll, every condition the
// JSON outcome can set. Matching only ever needs bits set, so if the record matches with body taken as
// JSON, it matches whatever body is. So, unless st.exact, such a body is evaluated as JSON without the
// validation (a syntax error met on the way sends it to the exact evaluation) and noted in st.assumed.
// When the record does not match, MatchKafka validates what was noted: valid JSON is evaluated exactly
// as the first evaluation did, so only a record with a key or value that is not JSON is evaluated
// again, with st.exact.
func (st *state) kafkaBody(n *node, body []byte, acc []uint64) {
	if !st.exact && len(n.leafAll) == 0 && st.nAssumed < len(st.assumed) {
		if st.subChecked(n, body, acc) == nil {
			st.assumed[st.nAssumed] = body
			st.nAssumed++
			return
		}
		// Not JSON, most likely: decided below, exactly. The bits set meanwhile are among those the
		// exact evaluation sets.
	}
	if !utf8.Valid(body) {
		setBits(acc, n.leafAll)
		setBits(acc, n.internalAll)
		return
	}
	first := byte(0)
	for _, c := range body {
		if !wsTable[c] {
			first = c
			break
		}
	}
	if st.valid(body) {
		// Valid JSON is filtered normally, scalars included: a JSON null, number, string or boolean has no fields,
		// so clauses on fields inside it do not match (exists:false does). Only clauses on the value as a whole
		// are dropped for an object or an array, which has no text to compare.
		st.sub(n, body, acc)
		if first == '{' || first == '[' {
			setBits(acc, n.leafAll)
		}
		return
	}
	// Plain text: clauses on fields inside it are dropped, clauses on the whole value apply to the text.
	setBits(acc, n.internalAll)
	if n.hasLeaf {
		st.evalString(n, body, acc)
	}
}

// sub evaluates a separate, valid JSON document at node n, saving and restoring the scanner's position.
func (st *state) sub(n *node, doc []byte, acc []uint64) {
	data, pos, depth, kafka, stopped, needMore := st.data, st.pos, st.depth, st.kafka, st.stopped, st.needMore
	st.data, st.pos, st.depth, st.kafka, st.stopped, st.needMore = doc, 0, 0, false, false, 0
	_ = st.value(n, acc) // doc is valid JSON: no error is possible
	st.data, st.pos, st.depth, st.kafka, st.stopped, st.needMore = data, pos, depth, kafka, stopped, needMore
}

// assumedValid reports whether every key or value that kafkaBody evaluated as JSON unvalidated is valid
// UTF-8 JSON, as the exact evaluation would have found.
func (st *state) assumedValid() bool {
	for _, b := range st.assumed[:st.nAssumed] {
		if !utf8.Valid(b) || !st.valid(b) {
			return false
		}
	}
	return true
}

// subChecked is sub for a document not known to be valid: it returns the syntax error evaluation met.
func (st *state) subChecked(n *node, doc []byte, acc []uint64) error {
	data, pos, depth, kafka, stopped, needMore := st.data, st.pos, st.depth, st.kafka, st.stopped, st.needMore
	st.data, st.pos, st.depth, st.kafka, st.stopped, st.needMore = doc, 0, 0, false, false, 0
	err := st.value(n, acc)
	if err == nil && !st.stopped {
		if st.skipWS(); st.pos != len(doc) {
			err = errSyntax // data after the value
		}
	}
	st.data, st.pos, st.depth, st.kafka, st.stopped, st.needMore = data, pos, depth, kafka, stopped, needMore
	return err
}

// validJSON reports whether b is one valid JSON value (surrounded by optional white space), like json.Valid but
// without allocating when it is not.
func validJSON(b []byte) bool {
	var st state
	return st.valid(b)
}

// valid checks a separate document, saving and restoring the scanner's position.
func (st *state) valid(doc []byte) bool {
	data, pos, depth := st.data, st.pos, st.depth
	st.data, st.pos, st.depth = doc, 0, 0
	ok := st.validValue() == nil
	if ok {
		st.skipWS()
		ok = st.pos == len(doc)
	}
	st.data, st.pos, st.depth = data, pos, depth
	return ok
}

// validValue checks the JSON value at the current position strictly.
func (st *state) validValue() error {
	st.skipWS()
	if st.pos >= len(st.data) {
		return st.syntaxError("unexpected end")
	}
	switch c := st.data[st.pos]; c {
	case '{', '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		st.depth++
		if st.depth > maxEventDepth {
			return st.syntaxError("nesting too deep")
		}
		st.pos++
		st.skipWS()
		if st.pos < len(st.data) && st.data[st.pos] == closing {
			st.pos++
			st.depth--
			return nil
		}
		for {
			if c == '{' {
				st.skipWS()
				if st.pos >= len(st.data) || st.data[st.pos] != '"' {
					return st.syntaxError("expected a member name")
				}
				if _, _, err := st.str(); err != nil {
					return err
				}
				st.skipWS()
				if st.pos >= len(st.data) || st.data[st.pos] != ':' {
					return st.syntaxError("expected :")
				}
				st.pos++
			}
			if err := st.validValue(); err != nil {
				return err
			}
			st.skipWS()
			if st.pos >= len(st.data) {
				return st.syntaxError("unterminated value")
			}
			if st.data[st.pos] == ',' {
				st.pos++
				continue
			}
			if st.data[st.pos] == closing {
				st.pos++
				st.depth--
				return nil
			}
			return st.syntaxError("expected , or a closing bracket")
		}
	case '"':
		_, _, err := st.str()
		return err
	case 't', 'f', 'n':
		for _, lit := range [3]string{"true", "false", "null"} {
			if lit[0] == c {
				if !bytes.HasPrefix(st.data[st.pos:], []byte(lit)) {
					return st.syntaxError("invalid literal")
				}
				st.pos += len(lit)
				return nil
			}
		}
	}
	_, err := st.number()
	return err
}
