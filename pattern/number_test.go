package pattern

import (
	"math"
	"math/rand"
	"strconv"
	"testing"
)

func TestApproxNumber(t *testing.T) {
	check := func(s string) {
		t.Helper()
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return
		}
		got, exact, ok := approxNumber([]byte(s))
		if !ok {
			return
		}
		if exact && got != want {
			t.Errorf("approxNumber(%s) = %v (exact), want %v", s, got, want)
		}
		if !exact && math.Abs(got-want) > 1e-15*math.Abs(want) {
			t.Errorf("approxNumber(%s) = %v, too far from %v", s, got, want)
		}
	}
	for _, s := range []string{"0", "-0", "1", "-1", "0.1", "123.456", "-122.42916360922355", "37.729900216217324",
		"1e22", "1e23", "9007199254740993", "12345678901234567890123", "0.000000000000000000000000001", "1.5e-300",
		"1e300", "4.9e-324", "17976931348623157e292", "0.30000000000000004", "100000000000000000000000000000e-29"} {
		check(s)
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 100000; i++ {
		f := (r.Float64() - 0.5) * math.Pow10(r.Intn(40)-20)
		check(strconv.FormatFloat(f, 'g', -1, 64))
		check(strconv.FormatFloat(f, 'f', r.Intn(25), 64))
		check(strconv.FormatFloat(f, 'e', r.Intn(25), 64))
	}
}

func TestNumericNearBounds(t *testing.T) {
	// Values a hair's breadth from a bound must be decided by the exact conversion.
	tests := []struct {
		pattern, event string
		want           bool
	}{
		{`{"x":[{"numeric":["<",-122.41600944012424]}]}`, `{"x":-122.41600944012424}`, false},
		{`{"x":[{"numeric":["<=",-122.41600944012424]}]}`, `{"x":-122.416009440124240000001}`, true},
		{`{"x":[{"numeric":["<",-122.41600944012424]}]}`, `{"x":-122.41600944012425}`, true},
		{`{"x":[{"numeric":[">",0.1]}]}`, `{"x":0.10000000000000001}`, false},
		{`{"x":[{"numeric":[">",0.1]}]}`, `{"x":0.1000000000000001}`, true},
		{`{"x":[{"numeric":["=",9007199254740992]}]}`, `{"x":9007199254740993}`, true},
		{`{"x":[{"numeric":[">",1e300]}]}`, `{"x":1e301}`, true},
		{`{"x":[{"numeric":["<",1e-300]}]}`, `{"x":1e-301}`, true},
	}
	for _, tc := range tests {
		p, err := Compile([]byte(tc.pattern))
		if err != nil {
			t.Fatalf("Compile(%s): %v", tc.pattern, err)
		}
		if got, err := p.Match([]byte(tc.event)); err != nil || got != tc.want {
			t.Errorf("Match(%s) against %s = %v, %v, want %v", tc.event, tc.pattern, got, err, tc.want)
		}
	}
}
