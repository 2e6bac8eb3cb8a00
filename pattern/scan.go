package pattern

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"github.com/sluicehq/sluice/internal/jsontext"
)

// maxEventDepth bounds the nesting of the parts of an event that matching descends into.
const maxEventDepth = 10000

// state is the per-match scratch space, pooled per Set so that matching allocates nothing.
type state struct {
	set   *Set
	data  []byte
	pos   int
	depth int
	arena []uint64
	top   int
	sbuf  []byte // unescaped string
	fbuf  []byte // case-folded string
	nbuf  []byte // canonical number
	kbuf  []byte // unescaped key
	stack []byte // bracket stack for skipping
	// stopped is set when reading ended early: every member that any pattern addresses had been seen in every
	// open object, and no open array could contribute more.
	stopped bool
	// needMore counts the open objects and arrays that can still use later input.
	needMore int
	errWhat  string
	errPos   int

	kafka bool
	kkey  []byte
	kval  []byte
	// exact makes kafkaBody validate a key or value in full before evaluating it; assumed[:nAssumed] are
	// those it evaluated as JSON without (MatchKafka).
	exact    bool
	assumed  [2][]byte
	nAssumed int
}

// errSyntax is the internal, allocation-free signal of malformed JSON; wrap turns it into the error callers see.
var errSyntax = errors.New("syntax error")

// syntaxError records malformed JSON at the current position.
func (st *state) syntaxError(what string) error {
	st.errWhat, st.errPos = what, st.pos
	return errSyntax
}

// wrap converts errSyntax into an error wrapping ErrInvalidEvent that says what is wrong and where.
func (st *state) wrap(err error) error {
	if err == errSyntax {
		return fmt.Errorf("%w: %s at offset %d", ErrInvalidEvent, st.errWhat, st.errPos)
	}
	return err
}

func (st *state) push() []uint64 { return st.pushN(st.set.words) }

// pushN takes w zeroed words from the arena.
func (st *state) pushN(w int) []uint64 {
	if st.top+w > len(st.arena) {
		n := make([]uint64, 2*len(st.arena)+8*w)
		copy(n, st.arena[:st.top])
		st.arena = n
	}
	b := st.arena[st.top : st.top+w : st.top+w]
	st.top += w
	clear(b)
	return b
}

func (st *state) pop() { st.top -= st.set.words }

func setBits(dst []uint64, ids []condID) {
	for _, id := range ids {
		dst[id>>6] |= 1 << (uint(id) & 63)
	}
}

func hasBit(b []uint64, id condID) bool { return b[id>>6]&(1<<(uint(id)&63)) != 0 }

var wsTable = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func (st *state) skipWS() {
	for st.pos < len(st.data) && wsTable[st.data[st.pos]] {
		st.pos++
	}
}

// Matches appends to dst the indexes of the patterns that the JSON event matches, in increasing order.
func (s *Set) Matches(event []byte, dst []int) ([]int, error) {
	if len(s.rootConds) == 0 {
		return dst, nil
	}
	st := s.pool.Get().(*state)
	acc, err := st.run(event, false)
	err = st.wrap(err)
	if err == nil {
		for i, roots := range s.rootConds {
			for _, r := range roots {
				if hasBit(acc, r) {
					dst = append(dst, i)
					break
				}
			}
		}
	}
	st.data = nil
	s.pool.Put(st)
	return dst, err
}

// run evaluates the whole event and returns the bit set of the root's conditions (valid until the next run).
func (st *state) run(event []byte, kafka bool) ([]uint64, error) {
	st.data, st.pos, st.depth, st.top, st.stopped, st.needMore = event, 0, 0, 0, false, 0
	st.kafka = kafka
	acc := st.push()
	st.skipWS()
	if st.pos >= len(st.data) {
		return acc, st.syntaxError("empty event")
	}
	if kafka && st.data[st.pos] != '{' {
		return acc, st.syntaxError("a Kafka record event must be a JSON object")
	}
	if err := st.value(st.set.root, acc); err != nil {
		return acc, err
	}
	st.skipWS()
	if !st.stopped && st.pos != len(st.data) {
		return acc, st.syntaxError("unexpected data after the event")
	}
	return acc, nil
}

// value evaluates the JSON value at the current position against path node n, setting in dst the bits of n's
// conditions that the value satisfies. An array satisfies what any of its elements satisfies; an empty array is
// an absent field.
func (st *state) value(n *node, dst []uint64) error {
	st.skipWS()
	if st.pos >= len(st.data) {
		return st.syntaxError("unexpected end")
	}
	switch c := st.data[st.pos]; c {
	case '{':
		if len(n.kids) == 0 {
			if err := st.skip(); err != nil {
				return err
			}
			setBits(dst, n.leafAbsent)
			return nil
		}
		return st.object(n, dst)
	case '[':
		st.depth++
		if st.depth > maxEventDepth {
			return st.syntaxError("nesting too deep")
		}
		st.pos++
		st.skipWS()
		if st.pos < len(st.data) && st.data[st.pos] == ']' {
			st.pos++
			st.depth--
			setBits(dst, n.leafAbsent)
			setBits(dst, n.internalAbsent)
			return nil
		}
		for {
			st.needMore++ // a later element may still match
			err := st.value(n, dst)
			st.needMore--
			if err != nil {
				return err
			}
			st.skipWS()
			if st.pos >= len(st.data) {
				return st.syntaxError("unterminated array")
			}
			if st.data[st.pos] == ',' {
				st.pos++
				continue
			}
			if st.data[st.pos] == ']' {
				st.pos++
				st.depth--
				return nil
			}
			return st.syntaxError("expected , or ] in array")
		}
	case '"':
		raw, esc, err := st.str()
		if err != nil {
			return err
		}
		setBits(dst, n.internalAbsent)
		if !n.hasLeaf {
			return nil
		}
		s := raw
		if esc {
			st.sbuf = jsontext.AppendUnescaped(st.sbuf[:0], raw)
			s = st.sbuf
		}
		st.evalString(n, s, dst)
		return nil
	case 't', 'f', 'n':
		var lit string
		var ids []condID
		switch c {
		case 't':
			lit, ids = "true", n.trueC
		case 'f':
			lit, ids = "false", n.falseC
		default:
			lit, ids = "null", n.nullC
		}
		if !bytes.HasPrefix(st.data[st.pos:], []byte(lit)) {
			return st.syntaxError("invalid literal")
		}
		st.pos += len(lit)
		setBits(dst, n.internalAbsent)
		if n.hasLeaf {
			setBits(dst, ids)
			setBits(dst, n.existsC)
			for i := range n.abTests {
				dst[n.abTests[i].cond>>6] |= 1 << (uint(n.abTests[i].cond) & 63)
			}
		}
		return nil
	default:
		num, err := st.number()
		if err != nil {
			return err
		}
		setBits(dst, n.internalAbsent)
		if n.hasLeaf {
			st.evalNumber(n, num, dst)
		}
		return nil
	}
}

// object evaluates an object value at node n, which has children.
func (st *state) object(n *node, dst []uint64) error {
	st.depth++
	if st.depth > maxEventDepth {
		return st.syntaxError("nesting too deep")
	}
	st.pos++
	acc := st.push()
	// seen records the children already read: the first occurrence of a duplicated member wins, so that reading
	// can stop as soon as every child has been seen.
	var seen uint64
	var seenMore []uint64 // for children beyond the first 64
	if len(n.kids) > 64 {
		seenMore = st.pushN((len(n.kids) + 63) / 64)
		defer func(w int) { st.top -= w }(len(seenMore))
	}
	nseen := 0
	markSeen := func(i int) bool {
		if i < 64 {
			if seen&(1<<uint(i)) != 0 {
				return false
			}
			seen |= 1 << uint(i)
		} else {
			if seenMore[i>>6]&(1<<(uint(i)&63)) != 0 {
				return false
			}
			seenMore[i>>6] |= 1 << (uint(i) & 63)
		}
		nseen++
		return true
	}
	kafkaRoot := st.kafka && st.depth == 1
	var kafkaKids [2]int
	if kafkaRoot {
		// The record's key and value come from its raw bytes (below), never from the event's members.
		for j, name := range [2]string{"key", "value"} {
			kafkaKids[j] = n.find([]byte(name))
			if kafkaKids[j] >= 0 {
				markSeen(kafkaKids[j])
			}
		}
	}
	st.skipWS()
	if st.pos < len(st.data) && st.data[st.pos] == '}' {
		st.pos++
	} else {
		for {
			if nseen == len(n.kids) {
				// Nothing left here that a pattern addresses; when no enclosing object or array wants more
				// either, the rest of the event is not read at all.
				if st.needMore == 0 {
					st.stopped = true
				} else if err := st.skipRest(); err != nil {
					return err
				}
				break
			}
			st.skipWS()
			if st.pos >= len(st.data) || st.data[st.pos] != '"' {
				return st.syntaxError("expected a member name")
			}
			raw, esc, err := st.str()
			if err != nil {
				return err
			}
			key := raw
			if esc {
				st.kbuf = jsontext.AppendUnescaped(st.kbuf[:0], raw)
				key = st.kbuf
			}
			st.skipWS()
			if st.pos >= len(st.data) || st.data[st.pos] != ':' {
				return st.syntaxError("expected :")
			}
			st.pos++
			i := n.find(key)
			if i < 0 || (kafkaRoot && (i == kafkaKids[0] || i == kafkaKids[1])) || !markSeen(i) {
				st.skipWS()
				if err := st.skip(); err != nil {
					return err
				}
			} else {
				more := nseen < len(n.kids)
				if more {
					st.needMore++
				}
				err := st.value(n.kids[i], acc)
				if more {
					st.needMore--
				}
				if err != nil {
					return err
				}
				if st.stopped {
					break
				}
			}
			st.skipWS()
			if st.pos >= len(st.data) {
				return st.syntaxError("unterminated object")
			}
			if st.data[st.pos] == ',' {
				st.pos++
				continue
			}
			if st.data[st.pos] == '}' {
				st.pos++
				break
			}
			return st.syntaxError("expected , or } in object")
		}
	}
	if kafkaRoot {
		for j, body := range [2][]byte{st.kkey, st.kval} {
			i := kafkaKids[j]
			if i < 0 {
				continue
			}
			if body == nil { // a null key or value is an absent field
				setBits(acc, n.kids[i].leafAbsent)
				setBits(acc, n.kids[i].internalAbsent)
				continue
			}
			st.kafkaBody(n.kids[i], body, acc)
		}
	}
	for _, i := range n.absentKids {
		if (i < 64 && seen&(1<<uint(i)) == 0) || (i >= 64 && seenMore[i>>6]&(1<<(uint(i)&63)) == 0) {
			setBits(acc, n.kids[i].leafAbsent)
			setBits(acc, n.kids[i].internalAbsent)
		}
	}
	for k := range n.internal {
		ic := &n.internal[k]
		ok := true
		for _, id := range ic.need {
			if acc[id>>6]&(1<<(uint(id)&63)) == 0 {
				ok = false
				break
			}
		}
		if ok {
			dst[ic.id>>6] |= 1 << (uint(ic.id) & 63)
		}
	}
	setBits(dst, n.leafAbsent) // an object is not a leaf value: leaf clauses see the field as absent
	st.pop()
	st.depth--
	return nil
}

// evalString sets the bits of n's leaf conditions that the (unescaped) string s satisfies.
func (st *state) evalString(n *node, s []byte, dst []uint64) {
	setBits(dst, n.existsC)
	if n.strExact != nil {
		if ids, ok := n.strExact[string(s)]; ok {
			setBits(dst, ids)
		}
	}
	var folded []byte
	if n.needsFold {
		if isASCIIFoldFree(s) {
			folded = s
		} else {
			st.fbuf = foldCase(st.fbuf[:0], s)
			folded = st.fbuf
		}
		if n.eicExact != nil {
			if ids, ok := n.eicExact[string(folded)]; ok {
				setBits(dst, ids)
			}
		}
	}
	for i := range n.strTests {
		t := &n.strTests[i]
		var ok bool
		switch t.kind {
		case opPrefix:
			ok = bytes.HasPrefix(s, t.s)
		case opSuffix:
			ok = bytes.HasSuffix(s, t.s)
		case opPrefixEIC:
			ok = bytes.HasPrefix(folded, t.s)
		case opSuffixEIC:
			ok = bytes.HasSuffix(folded, t.s)
		case opWildcard:
			ok = t.wc.match(s)
		case opCIDR:
			if a, good := parseEventIP(s); good {
				ok = t.pfx.Contains(a)
			}
		}
		if ok {
			dst[t.cond>>6] |= 1 << (uint(t.cond) & 63)
		}
	}
	if len(n.ipExact) > 0 {
		if a, good := parseEventIP(s); good {
			for _, t := range n.ipExact {
				if t.addr == a {
					dst[t.cond>>6] |= 1 << (uint(t.cond) & 63)
				}
			}
		}
	}
	for i := range n.abTests {
		t := &n.abTests[i]
		if !t.ab.excludesString(s, folded) {
			dst[t.cond>>6] |= 1 << (uint(t.cond) & 63)
		}
	}
}

// evalNumber sets the bits of n's leaf conditions that the JSON number text num satisfies.
func (st *state) evalNumber(n *node, num []byte, dst []uint64) {
	setBits(dst, n.existsC)
	var canon []byte
	if n.needsNum {
		st.nbuf = appendCanonicalNumber(st.nbuf[:0], num)
		canon = st.nbuf
		if n.numExact != nil {
			if ids, ok := n.numExact[string(canon)]; ok {
				setBits(dst, ids)
			}
		}
	}
	if len(n.numTests) > 0 {
		f, exact, ok := approxNumber(num)
		if !ok {
			f, exact = parseNumber(num), true
		}
		for i := range n.numTests {
			r := &n.numTests[i].rng
			if !exact && (near(f, r.lo) || near(f, r.hi)) {
				// Too close to a bound to trust the cheap conversion.
				f, exact = parseNumber(num), true
			}
			if r.contains(f) {
				dst[n.numTests[i].cond>>6] |= 1 << (uint(n.numTests[i].cond) & 63)
			}
		}
	}
	for i := range n.abTests {
		t := &n.abTests[i]
		excluded := false
		for _, x := range t.ab.nums {
			if x == string(canon) {
				excluded = true
				break
			}
		}
		if !excluded {
			dst[t.cond>>6] |= 1 << (uint(t.cond) & 63)
		}
	}
}

// excludesString reports whether anything-but rejects the string s (folded is its case-folded form, when needed).
func (ab *anythingBut) excludesString(s, folded []byte) bool {
	switch ab.kind {
	case abValues:
		for _, x := range ab.strs {
			if x == string(s) {
				return true
			}
		}
	case abPrefix:
		for _, x := range ab.strs {
			if len(s) >= len(x) && string(s[:len(x)]) == x {
				return true
			}
		}
	case abSuffix:
		for _, x := range ab.strs {
			if len(s) >= len(x) && string(s[len(s)-len(x):]) == x {
				return true
			}
		}
	case abEIC:
		for _, x := range ab.strs {
			if x == string(folded) {
				return true
			}
		}
	case abWildcard:
		for _, w := range ab.wcs {
			if w.match(s) {
				return true
			}
		}
	}
	return false
}

// parseEventIP parses an event string as an IP address without allocating for the common short case.
func parseEventIP(s []byte) (netip.Addr, bool) {
	if len(s) < 2 || len(s) > 45 {
		return netip.Addr{}, false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':') {
			return netip.Addr{}, false
		}
	}
	// The string shares s's memory: ParseAddr keeps nothing of its input on success (zones, the only retained
	// part, are excluded by the character check above) and the error, which would, is dropped.
	a, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(s), len(s)))
	return a, err == nil
}

// str scans a string at the current position (on its opening quote) and returns its raw contents and whether it
// contains escapes.
func (st *state) str() ([]byte, bool, error) {
	d := st.data
	i := st.pos + 1
	start := i
	esc := false
	for i < len(d) {
		c := d[i]
		if c != '"' && c != '\\' && c >= 0x20 {
			// Runs of ordinary bytes: find their end, a control character included, eight bytes at a time.
			j := jsontext.IndexSpecial(d, i)
			if j < len(d) && d[j] < 0x20 {
				st.pos = i
				return nil, false, st.syntaxError("control character in string")
			}
			i = j
			continue
		}
		if c == '"' {
			st.pos = i + 1
			return d[start:i], esc, nil
		}
		if c == '\\' {
			esc = true
			if i+1 >= len(d) {
				break
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex4(d[i+2:i+6]) {
					st.pos = i
					return nil, false, st.syntaxError("invalid \\u escape")
				}
				i += 6
			default:
				st.pos = i
				return nil, false, st.syntaxError("invalid escape")
			}
			continue
		}
		if c < 0x20 {
			st.pos = i
			return nil, false, st.syntaxError("control character in string")
		}
		i++
	}
	st.pos = len(d)
	return nil, false, st.syntaxError("unterminated string")
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// number scans a JSON number at the current position and returns its text.
func (st *state) number() ([]byte, error) {
	d := st.data
	i := st.pos
	start := i
	if i < len(d) && d[i] == '-' {
		i++
	}
	if i >= len(d) {
		return nil, st.syntaxError("invalid value")
	}
	if d[i] == '0' {
		i++
	} else if d[i] >= '1' && d[i] <= '9' {
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	} else {
		return nil, st.syntaxError("invalid value")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			st.pos = i
			return nil, st.syntaxError("invalid number")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			st.pos = i
			return nil, st.syntaxError("invalid number")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	st.pos = i
	return d[start:i], nil
}

// skip passes over a value that no pattern addresses. Strings are scanned exactly and brackets must balance;
// the scalars in between are not validated, which keeps skipping to a tight loop.
func (st *state) skip() error {
	d := st.data
	if st.pos >= len(d) {
		return st.syntaxError("unexpected end")
	}
	switch d[st.pos] {
	case '"':
		_, _, err := st.str()
		return err
	case '{', '[':
	case 't', 'f', 'n':
		for _, lit := range [3]string{"true", "false", "null"} {
			if bytes.HasPrefix(d[st.pos:], []byte(lit)) {
				st.pos += len(lit)
				return nil
			}
		}
		return st.syntaxError("invalid literal")
	default:
		_, err := st.number()
		return err
	}
	return st.skipContainer(st.stack[:0])
}

// skipRest passes over the remaining members of the object being read, up to and including its closing brace.
func (st *state) skipRest() error {
	return st.skipContainer(append(st.stack[:0], '{'))
}

// skipContainer skips from the current position until the brackets in stack (and those opened on the way) close.
func (st *state) skipContainer(stack []byte) error {
	d := st.data
	i := st.pos
	for i < len(d) {
		c := d[i]
		if !jsontext.IsStructural(c) {
			if i = jsontext.IndexStructural(d, i); i >= len(d) {
				break
			}
			continue
		}
		switch c {
		case '"':
			i++
			for {
				i = jsontext.IndexQuoteOrBackslash(d, i)
				if i >= len(d) || d[i] == '"' {
					break
				}
				i += 2 // a backslash and the byte it escapes
			}
			if i >= len(d) {
				st.pos = i
				return st.syntaxError("unterminated string")
			}
			i++
		case '{', '[':
			if len(stack) >= maxEventDepth {
				st.pos = i
				return st.syntaxError("nesting too deep")
			}
			stack = append(stack, c)
			i++
		default: // '}' or ']'
			open := byte('{')
			if c == ']' {
				open = '['
			}
			if len(stack) == 0 || stack[len(stack)-1] != open {
				st.pos = i
				return st.syntaxError("mismatched bracket")
			}
			stack = stack[:len(stack)-1]
			i++
			if len(stack) == 0 {
				st.pos = i
				st.stack = stack
				return nil
			}
		}
	}
	st.pos = i
	st.stack = stack
	return st.syntaxError("unterminated value")
}
