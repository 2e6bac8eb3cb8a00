package pattern

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits of the pattern language.
const (
	// MaxPatternLength is the longest pattern accepted, in characters (a Pipes filter's Pattern member).
	MaxPatternLength = 4096
	// MaxCombinations is the number of alternatives that the $or operators of one pattern may expand to.
	MaxCombinations = 1000
	// MaxWildcardComplexity bounds the number of "*" in the wildcard operators (plain and anything-but) of one pattern.
	MaxWildcardComplexity = 100
)

// opKind is one kind of value test in a field's list of match values.
type opKind uint8

const (
	opExactString opKind = iota
	opExactNumber
	opTrue
	opFalse
	opNull
	opIPExact
	opPrefix
	opSuffix
	opEIC
	opPrefixEIC
	opSuffixEIC
	opWildcard
	opCIDR
	opNumeric
	opExists
	opNotExists
	opAnythingBut
)

// valueTest is one element of a field's list of match values, compiled.
type valueTest struct {
	kind opKind
	s    string // exact string, prefix or suffix (case-folded for the *EIC kinds), canonical number
	wc   *wildcard
	rng  numRange
	pfx  netip.Prefix
	addr netip.Addr
	ab   *anythingBut
}

// numRange is a numeric interval; an absent bound is ±Inf.
type numRange struct {
	lo, hi         float64
	loIncl, hiIncl bool
}

func (r numRange) contains(f float64) bool {
	if f < r.lo || (f == r.lo && !r.loIncl) {
		return false
	}
	return f < r.hi || (f == r.hi && r.hiIncl)
}

// abKind says what an anything-but excludes.
type abKind uint8

const (
	abValues abKind = iota // strings and/or numbers
	abPrefix
	abSuffix
	abEIC
	abWildcard
)

// anythingBut matches a present leaf value unless it is a string (or, for abValues, a number) that the operator
// excludes; null, booleans and values of the other type always pass, as in event-ruler.
type anythingBut struct {
	kind  abKind
	strs  []string // excluded strings, prefixes, suffixes or folded strings
	nums  []string // excluded numbers, canonical
	wcs   []*wildcard
	descr string
}

// clause is one field condition of an alternative: the field's path and its list of match values (ORed).
type clause struct {
	path  []string
	tests []valueTest
	key   string // canonical description, for sharing identical conditions
}

// alternative is one conjunction of clauses; a pattern is the OR of its alternatives (one unless it uses $or).
type alternative struct {
	clauses []clause
	index   map[string]int // path key -> position in clauses
}

func (a *alternative) put(c clause) {
	k := pathKey(c.path)
	if i, ok := a.index[k]; ok {
		a.clauses[i] = c // last one wins, as in event-ruler's compiler
		return
	}
	a.index[k] = len(a.clauses)
	a.clauses = append(a.clauses, c)
}

func (a *alternative) clone() *alternative {
	b := &alternative{clauses: append([]clause(nil), a.clauses...), index: make(map[string]int, len(a.index))}
	for k, v := range a.index {
		b.index[k] = v
	}
	return b
}

func pathKey(p []string) string { return strings.Join(p, "\x00") }

// compiled is one pattern after validation and $or expansion.
type compiled struct {
	alts      []*alternative
	nonPipes  map[string]bool
	wildStars int
}

// reserved are the names that may not be fields of a $or branch (event-ruler's reserved words).
var reserved = map[string]bool{
	"exactly": true, "equals-ignore-case": true, "prefix": true, "suffix": true, "anything-but": true, "exists": true,
	"wildcard": true, "numeric": true, "cidr": true, "=": true, "<": true, "<=": true, ">": true, ">=": true,
}

// compilePattern validates one pattern and expands it into alternatives.
func compilePattern(p []byte) (*compiled, error) {
	if !utf8.Valid(p) {
		return nil, &Error{Reason: "pattern is not valid UTF-8"}
	}
	if n := utf8.RuneCount(p); n > MaxPatternLength {
		return nil, &Error{Reason: fmt.Sprintf("pattern is %d characters long, more than the limit of %d", n, MaxPatternLength)}
	}
	root, err := parseJSON(p)
	if err != nil {
		return nil, &Error{Reason: "pattern is not valid JSON: " + err.Error()}
	}
	if root.kind != jObject {
		return nil, &Error{Reason: "pattern must be a JSON object, not " + root.describe()}
	}
	c := &compiled{nonPipes: map[string]bool{}}
	alts, err := c.object(nil, nil, root, false)
	if err != nil {
		return nil, err
	}
	if c.wildStars > MaxWildcardComplexity {
		return nil, &Error{Reason: fmt.Sprintf("wildcard complexity %d exceeds the limit of %d (count of \"*\" in the pattern's wildcards)", c.wildStars, MaxWildcardComplexity)}
	}
	c.alts = alts
	return c, nil
}

func displayPath(p []string) string { return strings.Join(p, ".") }

// object compiles the members of a pattern object at path into the alternatives alts, following event-ruler's
// streaming compiler: a leaf list is put into every alternative so far; a $or forks each alternative per branch.
func (c *compiled) object(alts []*alternative, path []string, n *jnode, inOr bool) ([]*alternative, error) {
	if len(n.keys) == 0 {
		return nil, &Error{Path: displayPath(path), Reason: "empty objects are not allowed"}
	}
	for i, k := range n.keys {
		v := n.vals[i]
		fp := append(append([]string(nil), path...), k)
		if k == "$or" && isOrArray(v) {
			if len(v.vals) < 2 {
				return nil, &Error{Path: displayPath(fp), Reason: "$or needs at least 2 objects"}
			}
			var out []*alternative
			for bi, b := range v.vals {
				branch := make([]*alternative, 0, len(alts)+1)
				for _, a := range alts {
					branch = append(branch, a.clone())
				}
				if len(branch) == 0 {
					branch = append(branch, &alternative{index: map[string]int{}})
				}
				bpath := append(append([]string(nil), path...), fmt.Sprintf("$or[%d]", bi))
				branch, err := c.object(branch, path, b, true)
				if err != nil {
					if pe, ok := err.(*Error); ok && pe.Path == displayPath(path) {
						pe.Path = displayPath(bpath)
					}
					return nil, err
				}
				out = append(out, branch...)
				if len(out) > MaxCombinations {
					return nil, &Error{Path: displayPath(fp), Reason: fmt.Sprintf("$or expands to more than %d combinations", MaxCombinations)}
				}
			}
			alts = out
			continue
		}
		if inOr && reserved[k] {
			return nil, &Error{Path: displayPath(fp), Reason: fmt.Sprintf("%q is a reserved word and cannot be a field name inside $or", k)}
		}
		switch v.kind {
		case jObject:
			var err error
			if alts, err = c.object(alts, fp, v, inOr); err != nil {
				return nil, err
			}
		case jArray:
			cl, err := c.leaf(fp, v)
			if err != nil {
				return nil, err
			}
			if len(alts) == 0 {
				alts = append(alts, &alternative{index: map[string]int{}})
			}
			for _, a := range alts {
				a.put(cl)
			}
		default:
			return nil, &Error{Path: displayPath(fp), Reason: "must be an object or an array, not " + v.describe()}
		}
	}
	return alts, nil
}

// isOrArray tells a $or operator from a field that happens to be called "$or" (event-ruler's backward
// compatibility): the operator's value is an array of objects none of which has an operator name as a key.
func isOrArray(v *jnode) bool {
	if v.kind != jArray || len(v.vals) == 0 {
		return false
	}
	for _, b := range v.vals {
		if b.kind != jObject {
			return false
		}
		for _, k := range b.keys {
			if reserved[k] {
				return false
			}
		}
	}
	return true
}

// leaf compiles a field's list of match values.
func (c *compiled) leaf(path []string, list *jnode) (clause, error) {
	cl := clause{path: path}
	if len(list.vals) == 0 {
		return cl, &Error{Path: displayPath(path), Reason: "empty arrays are not allowed"}
	}
	var key strings.Builder
	key.WriteString(pathKey(path))
	for i, v := range list.vals {
		ep := fmt.Sprintf("%s[%d]", displayPath(path), i)
		var t valueTest
		var err error
		switch v.kind {
		case jString:
			if a, ok := parseIPLiteral(v.str); ok {
				t = valueTest{kind: opIPExact, addr: a, s: v.str}
			} else {
				t = valueTest{kind: opExactString, s: v.str}
			}
		case jNumber:
			t = valueTest{kind: opExactNumber, s: string(appendCanonicalNumber(nil, []byte(v.str)))}
		case jTrue:
			t = valueTest{kind: opTrue}
		case jFalse:
			t = valueTest{kind: opFalse}
		case jNull:
			t = valueTest{kind: opNull}
		case jObject:
			t, err = c.operator(ep, v)
		default:
			err = &Error{Path: ep, Reason: "match value must be a string, number, true, false, null or an operator object, not an array"}
		}
		if err != nil {
			return cl, err
		}
		cl.tests = append(cl.tests, t)
		fmt.Fprintf(&key, "\x01%d\x02%s\x02%s\x02%v\x02%v\x02%s", t.kind, t.s, t.pfx, t.addr, t.rng, t.wcDescr())
		if t.ab != nil {
			key.WriteString(t.ab.descr)
		}
	}
	cl.key = key.String()
	return cl, nil
}

func (t *valueTest) wcDescr() string {
	if t.wc == nil {
		return ""
	}
	return t.wc.src
}

// parseIPLiteral recognises exact-match strings that are IP addresses: event-ruler compiles them to one-address
// ranges, so that "2001:db8::1" also matches "2001:DB8:0:0:0:0:0:1".
func parseIPLiteral(s string) (netip.Addr, bool) {
	if len(s) < 2 || len(s) > 45 || strings.ContainsAny(s, "%/") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a, true
}

// operator compiles an operator object such as {"prefix": "x"}.
func (c *compiled) operator(path string, o *jnode) (valueTest, error) {
	if len(o.keys) == 0 {
		return valueTest{}, &Error{Path: path, Reason: "empty objects are not allowed"}
	}
	if len(o.keys) > 1 {
		return valueTest{}, &Error{Path: path, Reason: "only one key allowed in match expression, found " + strings.Join(o.keys, ", ")}
	}
	name, v := o.keys[0], o.vals[0]
	path += "." + name
	str := func() (string, error) {
		if v.kind != jString {
			return "", &Error{Path: path, Reason: name + " match pattern must be a string, not " + v.describe()}
		}
		return v.str, nil
	}
	switch name {
	case "exactly":
		c.nonPipes["exactly"] = true
		s, err := str()
		return valueTest{kind: opExactString, s: s}, err
	case "prefix", "suffix":
		kind, kindEIC := opPrefix, opPrefixEIC
		if name == "suffix" {
			kind, kindEIC = opSuffix, opSuffixEIC
		}
		if v.kind == jObject {
			if len(v.keys) != 1 || v.keys[0] != "equals-ignore-case" {
				return valueTest{}, &Error{Path: path, Reason: "the only operator allowed inside " + name + " is equals-ignore-case"}
			}
			if v.vals[0].kind != jString {
				return valueTest{}, &Error{Path: path + ".equals-ignore-case", Reason: "equals-ignore-case match pattern must be a string, not " + v.vals[0].describe()}
			}
			return valueTest{kind: kindEIC, s: string(foldCase(nil, []byte(v.vals[0].str)))}, nil
		}
		s, err := str()
		return valueTest{kind: kind, s: s}, err
	case "equals-ignore-case":
		s, err := str()
		return valueTest{kind: opEIC, s: string(foldCase(nil, []byte(s)))}, err
	case "wildcard":
		c.nonPipes["wildcard"] = true
		s, err := str()
		if err != nil {
			return valueTest{}, err
		}
		w, err := parseWildcard(s)
		if err != nil {
			return valueTest{}, &Error{Path: path, Reason: err.Error()}
		}
		c.wildStars += w.stars
		return valueTest{kind: opWildcard, wc: w}, nil
	case "cidr":
		c.nonPipes["cidr"] = true
		s, err := str()
		if err != nil {
			return valueTest{}, err
		}
		p, err := parseCIDR(s)
		if err != nil {
			return valueTest{}, &Error{Path: path, Reason: err.Error()}
		}
		return valueTest{kind: opCIDR, pfx: p}, nil
	case "exists":
		switch v.kind {
		case jTrue:
			return valueTest{kind: opExists}, nil
		case jFalse:
			return valueTest{kind: opNotExists}, nil
		}
		return valueTest{}, &Error{Path: path, Reason: "exists match pattern must be true or false, not " + v.describe()}
	case "numeric":
		r, err := parseNumeric(path, v)
		return valueTest{kind: opNumeric, rng: r}, err
	case "anything-but":
		ab, err := c.anythingBut(path, v)
		return valueTest{kind: opAnythingBut, ab: ab}, err
	}
	return valueTest{}, &Error{Path: path, Reason: fmt.Sprintf("unrecognized match type %q", name)}
}

// parseNumeric compiles ["op", n] and [">"|">=", low, "<"|"<=", high].
func parseNumeric(path string, v *jnode) (numRange, error) {
	r := numRange{lo: math.Inf(-1), hi: math.Inf(1), loIncl: true, hiIncl: true}
	if v.kind != jArray {
		return r, &Error{Path: path, Reason: "value of numeric must be an array, not " + v.describe()}
	}
	el := v.vals
	if len(el) != 2 && len(el) != 4 {
		return r, &Error{Path: path, Reason: fmt.Sprintf("numeric needs an operator and a number, or a lower and an upper bound; got %d elements", len(el))}
	}
	var seenLow bool
	for i := 0; i < len(el); i += 2 {
		op, num := el[i], el[i+1]
		if op.kind != jString {
			return r, &Error{Path: fmt.Sprintf("%s[%d]", path, i), Reason: "numeric operator must be a string, not " + op.describe()}
		}
		if num.kind != jNumber {
			return r, &Error{Path: fmt.Sprintf("%s[%d]", path, i+1), Reason: fmt.Sprintf("value of %s must be a number, not %s", op.str, num.describe())}
		}
		f, ok := roundTrips([]byte(num.str))
		if !ok {
			return r, &Error{Path: fmt.Sprintf("%s[%d]", path, i+1), Reason: fmt.Sprintf("%s cannot be represented exactly as a 64-bit floating-point number", num.str)}
		}
		switch {
		case op.str == "=" && len(el) == 2:
			r = numRange{lo: f, hi: f, loIncl: true, hiIncl: true}
		case (op.str == ">" || op.str == ">=") && i == 0:
			r.lo, r.loIncl, seenLow = f, op.str == ">=", true
		case (op.str == "<" || op.str == "<=") && (i == 2 || len(el) == 2):
			if i == 2 && !seenLow {
				return r, &Error{Path: path, Reason: "numeric range must give the lower bound first"}
			}
			r.hi, r.hiIncl = f, op.str == "<="
		case op.str == "=":
			return r, &Error{Path: fmt.Sprintf("%s[%d]", path, i), Reason: "\"=\" takes exactly one number"}
		case op.str == ">" || op.str == ">=" || op.str == "<" || op.str == "<=":
			return r, &Error{Path: fmt.Sprintf("%s[%d]", path, i), Reason: "numeric range must be a lower bound (\">\" or \">=\") followed by an upper bound (\"<\" or \"<=\")"}
		default:
			return r, &Error{Path: fmt.Sprintf("%s[%d]", path, i), Reason: fmt.Sprintf("unrecognized numeric operator %q", op.str)}
		}
	}
	if r.lo > r.hi || (r.lo == r.hi && !(r.loIncl && r.hiIncl)) {
		return r, &Error{Path: path, Reason: "numeric range is empty: the lower bound must be less than the upper bound"}
	}
	return r, nil
}

// anythingBut compiles the value of an anything-but operator.
func (c *compiled) anythingBut(path string, v *jnode) (*anythingBut, error) {
	ab := &anythingBut{}
	switch v.kind {
	case jString:
		ab.strs = []string{v.str}
	case jNumber:
		ab.nums = []string{string(appendCanonicalNumber(nil, []byte(v.str)))}
	case jArray:
		if len(v.vals) == 0 {
			return nil, &Error{Path: path, Reason: "empty arrays are not allowed"}
		}
		for i, e := range v.vals {
			switch e.kind {
			case jString:
				ab.strs = append(ab.strs, e.str)
			case jNumber:
				ab.nums = append(ab.nums, string(appendCanonicalNumber(nil, []byte(e.str))))
			default:
				return nil, &Error{Path: fmt.Sprintf("%s[%d]", path, i), Reason: "anything-but list values must be strings or numbers, not " + e.describe()}
			}
		}
		if len(ab.strs) > 0 && len(ab.nums) > 0 {
			return nil, &Error{Path: path, Reason: "anything-but list must be all strings or all numbers, not mixed"}
		}
	case jObject:
		if len(v.keys) != 1 {
			return nil, &Error{Path: path, Reason: "anything-but object must have exactly one of prefix, suffix, equals-ignore-case or wildcard"}
		}
		op, ov := v.keys[0], v.vals[0]
		opPath := path + "." + op
		if op != "prefix" && op != "suffix" && op != "equals-ignore-case" && op != "wildcard" {
			return nil, &Error{Path: opPath, Reason: fmt.Sprintf("unsupported anything-but operator %q (want prefix, suffix, equals-ignore-case or wildcard)", op)}
		}
		var vals []string
		switch ov.kind {
		case jString:
			vals = []string{ov.str}
		case jArray:
			if len(ov.vals) == 0 {
				return nil, &Error{Path: opPath, Reason: "empty arrays are not allowed"}
			}
			for i, e := range ov.vals {
				if e.kind != jString {
					return nil, &Error{Path: fmt.Sprintf("%s[%d]", opPath, i), Reason: "anything-but " + op + " values must be strings, not " + e.describe()}
				}
				vals = append(vals, e.str)
			}
		default:
			return nil, &Error{Path: opPath, Reason: "anything-but " + op + " value must be a string or a list of strings, not " + ov.describe()}
		}
		switch op {
		case "prefix", "suffix":
			for _, s := range vals {
				if s == "" {
					return nil, &Error{Path: opPath, Reason: "anything-but " + op + " must not be empty"}
				}
			}
			ab.kind = abPrefix
			if op == "suffix" {
				ab.kind = abSuffix
			}
			ab.strs = vals
		case "equals-ignore-case":
			ab.kind = abEIC
			for _, s := range vals {
				ab.strs = append(ab.strs, string(foldCase(nil, []byte(s))))
			}
		case "wildcard":
			ab.kind = abWildcard
			for _, s := range vals {
				w, err := parseWildcard(s)
				if err != nil {
					return nil, &Error{Path: opPath, Reason: err.Error()}
				}
				c.wildStars += w.stars
				ab.wcs = append(ab.wcs, w)
				ab.strs = append(ab.strs, s)
			}
		}
		c.nonPipes["anything-but/"+op] = true
	default:
		return nil, &Error{Path: path, Reason: "value of anything-but must be a string, a number, a list of them or an operator object, not " + v.describe()}
	}
	ss := append([]string(nil), ab.strs...)
	ns := append([]string(nil), ab.nums...)
	sort.Strings(ss)
	sort.Strings(ns)
	ab.descr = fmt.Sprintf("%d%q%q", ab.kind, ss, ns)
	return ab, nil
}

// parseCIDR accepts an IPv4 or IPv6 prefix; host bits may be set. Like event-ruler, /32 and /128 (single
// addresses) are rejected: an exact IP string does that job.
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil || p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not a valid IPv4 or IPv6 CIDR block", s)
	}
	if p.Bits() == p.Addr().BitLen() {
		return netip.Prefix{}, fmt.Errorf("%q: the prefix length must be less than %d", s, p.Addr().BitLen())
	}
	return p.Masked(), nil
}
