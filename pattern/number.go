package pattern

import (
	"math"
	"strconv"
)

// appendCanonicalNumber appends a canonical spelling of the JSON number text s to dst: two spellings of the same
// decimal value (300, 300.0, 3e2, 3.00E+2, -0 and 0) produce the same bytes. The form is an optional "-", the
// significant digits without leading or trailing zeros, "e", and the exponent E with value = 0.DIGITS × 10^E.
// s must be a valid JSON number; exponents beyond ±10^9 saturate, which only merges values no float64 can tell apart.
func appendCanonicalNumber(dst, s []byte) []byte {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	start := len(dst)
	if neg {
		dst = append(dst, '-')
	}
	digitsStart := len(dst)
	exp := 0 // decimal exponent of the position after the last integer digit
	leading := true
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if leading && s[i] == '0' {
			continue
		}
		leading = false
		dst = append(dst, s[i])
		exp++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if leading && s[i] == '0' {
				exp--
				continue
			}
			leading = false
			dst = append(dst, s[i])
		}
	}
	exp += parseExponent(s, i, 1e9)
	// Trailing zeros carry no value.
	end := len(dst)
	for end > digitsStart && dst[end-1] == '0' {
		end--
	}
	dst = dst[:end]
	if end == digitsStart { // zero, whatever its sign or spelling
		dst = append(dst[:start], '0')
		return dst
	}
	dst = append(dst, 'e')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// roundTrips reports whether the JSON number text s denotes exactly the decimal that its nearest float64 prints
// as (shortest form). event-ruler compares numbers numerically only in that case; Sluice uses it to reject numeric
// bounds that a float64 cannot represent faithfully, as EventBridge does.
func roundTrips(s []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	var a, b, c [64]byte
	short := strconv.AppendFloat(a[:0], f, 'g', -1, 64)
	return f, string(appendCanonicalNumber(b[:0], s)) == string(appendCanonicalNumber(c[:0], short))
}

// parseNumber converts a JSON number text to the nearest float64 (±Inf when out of range).
func parseNumber(s []byte) float64 {
	// Fast path for short integers, the common case in events.
	if len(s) > 0 && len(s) < 16 {
		neg := s[0] == '-'
		i := 0
		if neg {
			i = 1
		}
		var n int64
		ok := i < len(s)
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				ok = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if ok {
			if neg {
				if n == 0 {
					return math.Copysign(0, -1)
				}
				return -float64(n)
			}
			return float64(n)
		}
	}
	f, _ := strconv.ParseFloat(string(s), 64)
	return f
}

// exactPow10 holds the powers of ten that a float64 represents exactly.
var exactPow10 = [23]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// approxNumber converts a valid JSON number text to float64 cheaply. exact reports a correctly rounded result
// (Clinger's fast path: a mantissa below 2^53 scaled by a power of ten that a float64 holds exactly);
// otherwise the result is within a few ulps of the correctly rounded value, which is enough to decide every
// comparison except those very close to the bound (see numRange.containsApprox). ok is false for numbers
// outside the range this handles (|exponent| > 300), which callers parse exactly.
func approxNumber(s []byte) (f float64, exact, ok bool) {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	var m uint64
	digits, exp10 := 0, 0
	truncated := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if digits < 19 {
			if m != 0 || s[i] != '0' {
				m = m*10 + uint64(s[i]-'0')
				digits++
			}
		} else {
			exp10++
			truncated = truncated || s[i] != '0'
		}
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if digits < 19 {
				if m != 0 || s[i] != '0' {
					m = m*10 + uint64(s[i]-'0')
					digits++
				}
				exp10--
			} else {
				truncated = truncated || s[i] != '0'
			}
		}
	}
	exp10 += parseExponent(s, i, 100000)
	if m == 0 {
		if neg {
			return math.Copysign(0, -1), true, true
		}
		return 0, true, true
	}
	if exp10 > 300 || exp10 < -300 {
		return 0, false, false
	}
	f = float64(m)
	switch {
	case !truncated && m < 1<<53 && exp10 >= 0 && exp10 <= 22:
		f, exact = f*exactPow10[exp10], true
	case !truncated && m < 1<<53 && exp10 < 0 && exp10 >= -22:
		f, exact = f/exactPow10[-exp10], true
	default:
		f = f * math.Pow10(exp10)
	}
	if neg {
		f = -f
	}
	return f, exact, true
}

// approxMargin is the relative distance from a bound beyond which an approximate conversion (a few ulps, about
// 1e-15 relative) cannot be on the wrong side of it.
const approxMargin = 1e-13

// near reports whether a is too close to bound b for an approximate value to decide a comparison.
func near(a, b float64) bool {
	if math.IsInf(b, 0) {
		return false
	}
	return math.Abs(a-b) <= approxMargin*math.Max(math.Abs(a), math.Abs(b))
}

// parseExponent reads the optional exponent ("e", "E", a sign, digits) that ends the number text s at i and
// returns its value; the value's magnitude stops growing at limit, which is past any exponent a float64 can
// use, so that a long run of digits cannot overflow.
func parseExponent(s []byte, i, limit int) int {
	if i >= len(s) || (s[i] != 'e' && s[i] != 'E') {
		return 0
	}
	i++
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	e := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if e < limit {
			e = e*10 + int(s[i]-'0')
		}
	}
	if neg {
		e = -e
	}
	return e
}
