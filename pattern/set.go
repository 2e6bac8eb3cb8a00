package pattern

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"sync"
)

// condID numbers the conditions of a Set: one per distinct leaf clause and one per distinct object-level
// conjunction, across all patterns. Matching computes which conditions hold as a bit set.
type condID = int32

// node is one field path of the set's trie of paths. Matching descends only into event members whose key is a
// child of the current node and skips everything else.
type node struct {
	keys []string
	kids []*node
	kmap map[string]int // for nodes with many children

	// Leaf tests of the conditions whose clause addresses this path.
	hasLeaf   bool
	strExact  map[string][]condID
	numExact  map[string][]condID
	eicExact  map[string][]condID
	trueC     []condID
	falseC    []condID
	nullC     []condID
	existsC   []condID
	strTests  []strTest
	numTests  []numTest
	abTests   []abTest
	ipExact   []ipTest
	needsNum  bool // exact numbers or number exclusions: canonical form needed
	needsFold bool

	// Conjunctions at this path: all their child conditions must hold within one object value.
	internal []icond

	leafAbsent     []condID // leaf conditions that hold when the field is absent (exists:false)
	internalAbsent []condID // conjunctions that hold when the field is absent or not an object
	absentKids     []int    // children with a non-empty absent set
	leafAll        []condID // every leaf condition here (Kafka format mismatch drops them)
	internalAll    []condID // every conjunction here
}

type strTest struct {
	kind opKind
	s    []byte
	wc   *wildcard
	pfx  netip.Prefix
	cond condID
}

type numTest struct {
	rng  numRange
	cond condID
}

type abTest struct {
	ab   *anythingBut
	cond condID
}

type ipTest struct {
	addr netip.Addr
	cond condID
}

type icond struct {
	id   condID
	need []condID
}

func (n *node) child(k string) *node {
	if n.kmap != nil {
		if i, ok := n.kmap[k]; ok {
			return n.kids[i]
		}
		return nil
	}
	for i, kk := range n.keys {
		if kk == k {
			return n.kids[i]
		}
	}
	return nil
}

// find returns the index of the child named by the (unescaped) key, or -1.
func (n *node) find(k []byte) int {
	if n.kmap != nil {
		if i, ok := n.kmap[string(k)]; ok {
			return i
		}
		return -1
	}
	for i, kk := range n.keys {
		if kk == string(k) {
			return i
		}
	}
	return -1
}

func (n *node) addChild(k string) *node {
	if c := n.child(k); c != nil {
		return c
	}
	c := &node{}
	n.keys = append(n.keys, k)
	n.kids = append(n.kids, c)
	if len(n.keys) > 8 {
		if n.kmap == nil {
			n.kmap = map[string]int{}
			for i, kk := range n.keys {
				n.kmap[kk] = i
			}
		}
		n.kmap[k] = len(n.keys) - 1
	}
	return c
}

// Set is a compiled set of event patterns matched together in one pass over each event: a Pipes FilterCriteria.
// It is safe for concurrent use.
type Set struct {
	root      *node
	rootConds [][]condID // per pattern, its alternatives' root conditions
	nconds    int
	words     int
	nonPipes  [][]string
	pool      sync.Pool
}

// Pattern is one compiled event pattern. It is safe for concurrent use.
type Pattern struct {
	set *Set
}

// Compile validates an event pattern and compiles it. Errors are *Error values naming the place in the pattern.
func Compile(p []byte) (*Pattern, error) {
	s, err := CompileSet([][]byte{p})
	if err != nil {
		var pe *Error
		if e, ok := err.(*Error); ok {
			pe = e
			pe.Path = trimPatternPrefix(pe.Path)
			return nil, pe
		}
		return nil, err
	}
	return &Pattern{set: s}, nil
}

// Match reports whether the JSON event matches the pattern. It returns an error wrapping ErrInvalidEvent when the
// parts of the event that the pattern addresses are not valid JSON.
func (p *Pattern) Match(event []byte) (bool, error) {
	var buf [1]int
	m, err := p.set.Matches(event, buf[:0])
	return len(m) > 0, err
}

// NonPipesOperators lists, sorted, the operators of the pattern that EventBridge Pipes does not document for
// filters (wildcard, the anything-but variants, cidr, exactly), for a strict, Pipes-compatible mode.
func (p *Pattern) NonPipesOperators() []string {
	return append([]string(nil), p.set.nonPipes[0]...)
}

// NonPipesOperators lists, sorted and without repeats, the operators outside the Pipes subset used by any pattern.
func (s *Set) NonPipesOperators() []string {
	seen := map[string]bool{}
	var out []string
	for _, ops := range s.nonPipes {
		for _, o := range ops {
			if !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Len returns the number of patterns in the set.
func (s *Set) Len() int { return len(s.rootConds) }

// MaxSetSize is the number of patterns a Set may hold, the number of filters of a Pipes FilterCriteria.
const MaxSetSize = 5

func trimPatternPrefix(p string) string {
	const pre = "Filters[0].Pattern"
	if len(p) >= len(pre) && p[:len(pre)] == pre {
		p = p[len(pre):]
		if len(p) > 0 && p[0] == ':' {
			p = p[1:]
		}
	}
	return p
}

// CompileSet compiles up to MaxSetSize patterns that are ORed together. Errors are *Error values whose Path
// starts with "Filters[i].Pattern" naming the pattern at fault.
func CompileSet(ps [][]byte) (*Set, error) {
	if len(ps) > MaxSetSize {
		return nil, &Error{Path: "Filters", Reason: fmt.Sprintf("%d patterns given, more than the limit of %d", len(ps), MaxSetSize)}
	}
	b := &builder{set: &Set{root: &node{}}, ids: map[string]condID{}}
	for i, p := range ps {
		c, err := compilePattern(p)
		if err != nil {
			if pe, ok := err.(*Error); ok {
				prefix := "Filters[" + strconv.Itoa(i) + "].Pattern"
				if pe.Path == "" {
					pe.Path = prefix
				} else {
					pe.Path = prefix + ":" + pe.Path
				}
			}
			return nil, err
		}
		var roots []condID
		for _, a := range c.alts {
			roots = append(roots, b.alternative(a))
		}
		b.set.rootConds = append(b.set.rootConds, roots)
		var ops []string
		for o := range c.nonPipes {
			ops = append(ops, o)
		}
		sort.Strings(ops)
		b.set.nonPipes = append(b.set.nonPipes, ops)
	}
	b.finish()
	return b.set, nil
}

// builder assigns condition ids, sharing identical conditions between alternatives and patterns.
type builder struct {
	set       *Set
	ids       map[string]condID
	absentSat []bool
}

// tnode is an alternative's clauses arranged as a tree of paths.
type tnode struct {
	order []string
	kids  map[string]*tnode
	leaf  *clause
}

func (b *builder) alternative(a *alternative) condID {
	root := &tnode{kids: map[string]*tnode{}}
	for i := range a.clauses {
		c := &a.clauses[i]
		t := root
		for _, k := range c.path {
			nt, ok := t.kids[k]
			if !ok {
				nt = &tnode{kids: map[string]*tnode{}}
				t.kids[k] = nt
				t.order = append(t.order, k)
			}
			t = nt
		}
		t.leaf = c
	}
	return b.assign(root, b.set.root, "")
}

func (b *builder) newCond(absentSat bool) condID {
	id := condID(len(b.absentSat))
	b.absentSat = append(b.absentSat, absentSat)
	return id
}

func (b *builder) assign(t *tnode, n *node, pk string) condID {
	var need []condID
	for _, k := range t.order {
		ct := t.kids[k]
		cn := n.addChild(k)
		cpk := pk + "\x00" + k
		if ct.leaf != nil {
			need = append(need, b.leafCond(ct.leaf, cn))
		}
		if len(ct.kids) > 0 {
			need = append(need, b.assign(ct, cn, cpk))
		}
	}
	sort.Slice(need, func(i, j int) bool { return need[i] < need[j] })
	key := fmt.Sprintf("I%q%v", pk, need)
	if id, ok := b.ids[key]; ok {
		return id
	}
	abs := true
	for _, c := range need {
		abs = abs && b.absentSat[c]
	}
	id := b.newCond(abs)
	b.ids[key] = id
	n.internal = append(n.internal, icond{id: id, need: need})
	n.internalAll = append(n.internalAll, id)
	if abs {
		n.internalAbsent = append(n.internalAbsent, id)
	}
	return id
}

func (b *builder) leafCond(c *clause, n *node) condID {
	key := "L" + c.key
	if id, ok := b.ids[key]; ok {
		return id
	}
	abs := false
	for _, t := range c.tests {
		if t.kind == opNotExists {
			abs = true
		}
	}
	id := b.newCond(abs)
	b.ids[key] = id
	n.hasLeaf = true
	n.leafAll = append(n.leafAll, id)
	if abs {
		n.leafAbsent = append(n.leafAbsent, id)
	}
	add := func(m *map[string][]condID, k string) {
		if *m == nil {
			*m = map[string][]condID{}
		}
		(*m)[k] = appendUnique((*m)[k], id)
	}
	for _, t := range c.tests {
		switch t.kind {
		case opExactString:
			add(&n.strExact, t.s)
		case opExactNumber:
			add(&n.numExact, t.s)
			n.needsNum = true
		case opTrue:
			n.trueC = appendUnique(n.trueC, id)
		case opFalse:
			n.falseC = appendUnique(n.falseC, id)
		case opNull:
			n.nullC = appendUnique(n.nullC, id)
		case opIPExact:
			n.ipExact = append(n.ipExact, ipTest{addr: t.addr, cond: id})
			add(&n.strExact, t.s) // the literal spelling itself, without parsing the event's string
		case opEIC:
			add(&n.eicExact, t.s)
			n.needsFold = true
		case opPrefix, opSuffix, opWildcard, opCIDR:
			n.strTests = append(n.strTests, strTest{kind: t.kind, s: []byte(t.s), wc: t.wc, pfx: t.pfx, cond: id})
		case opPrefixEIC, opSuffixEIC:
			n.strTests = append(n.strTests, strTest{kind: t.kind, s: []byte(t.s), cond: id})
			n.needsFold = true
		case opNumeric:
			n.numTests = append(n.numTests, numTest{rng: t.rng, cond: id})
		case opExists:
			n.existsC = appendUnique(n.existsC, id)
		case opNotExists:
			// Holds only when the field is absent (leafAbsent above).
		case opAnythingBut:
			n.abTests = append(n.abTests, abTest{ab: t.ab, cond: id})
			if len(t.ab.nums) > 0 {
				n.needsNum = true
			}
			if t.ab.kind == abEIC {
				n.needsFold = true
			}
		}
	}
	return id
}

func appendUnique(s []condID, id condID) []condID {
	for _, x := range s {
		if x == id {
			return s
		}
	}
	return append(s, id)
}

func (b *builder) finish() {
	s := b.set
	s.nconds = len(b.absentSat)
	s.words = (s.nconds + 63) / 64
	if s.words == 0 {
		s.words = 1
	}
	var walk func(n *node)
	walk = func(n *node) {
		for i, c := range n.kids {
			walk(c)
			if len(c.leafAbsent) > 0 || len(c.internalAbsent) > 0 {
				n.absentKids = append(n.absentKids, i)
			}
		}
	}
	walk(s.root)
	s.pool.New = func() any { return &state{set: s} }
}
