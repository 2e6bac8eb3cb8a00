package pattern

import (
	"encoding/json"
	"errors"
	"sort"
	"testing"
)

// fuzzEvents are events every compiled pattern is run against in FuzzCompile.
var fuzzEvents = []string{
	`{}`, `{"a":"x"}`, `{"a":1,"b":[true,null,{"c":"d"}]}`, `{"a":{"b":{"c":[1,"2",{"d":3}]}}}`, ec2Event, rulerEvent,
}

func FuzzCompile(f *testing.F) {
	for _, tc := range matchCases {
		f.Add([]byte(tc.pattern))
	}
	f.Add([]byte(`{"$or":[{"a":["x"]},{"$or":[{"b":[1]},{"c":{"$or":[{"d":[null]},{"e":[{"exists":false}]}]}}]}]}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		c, err := Compile(p)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Compile(%q) error %v is not a *pattern.Error", p, err)
			}
			if pe.Reason == "" {
				t.Fatalf("Compile(%q) error has no reason", p)
			}
			return
		}
		ops := c.NonPipesOperators()
		if !sort.StringsAreSorted(ops) {
			t.Fatalf("NonPipesOperators(%q) = %v, not sorted", p, ops)
		}
		cp, err := compilePattern(p)
		if err != nil {
			t.Fatalf("compilePattern(%q) failed after Compile succeeded: %v", p, err)
		}
		for _, ev := range fuzzEvents {
			got, err := c.Match([]byte(ev))
			if err != nil {
				t.Fatalf("Match(%s) with pattern %q: %v", ev, p, err)
			}
			v, ok := refDecode([]byte(ev))
			if !ok {
				t.Fatalf("refDecode(%s) failed", ev)
			}
			if want := refMatch(cp, v); got != want {
				t.Fatalf("Match(%s) with pattern %q = %v, reference matcher says %v", ev, p, got, want)
			}
		}
	})
}

func FuzzMatch(f *testing.F) {
	for _, tc := range append(append([]matchCase(nil), matchCases...), arrayCases...) {
		f.Add(tc.pattern, []byte(tc.event))
	}
	f.Fuzz(func(t *testing.T, pattern string, event []byte) {
		c, err := Compile([]byte(pattern))
		if err != nil {
			return
		}
		got, matchErr := c.Match(event)
		valid := json.Valid(event)
		if v := validJSON(event); v != valid {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", event, v, valid)
		}
		if valid && matchErr != nil {
			t.Fatalf("Match(%q) with pattern %s: %v, but the event is valid JSON", event, pattern, matchErr)
		}
		s, err := CompileSet([][]byte{[]byte(pattern), []byte(`{"topic":["t"]}`)})
		if err != nil {
			t.Fatalf("CompileSet(%s): %v", pattern, err)
		}
		if _, err := s.MatchKafka([]byte(`{"topic":"t","key":"a2V5","value":null}`), event, event); err != nil {
			t.Fatalf("MatchKafka(value %q): %v", event, err)
		}
		if matchErr != nil || !valid {
			return
		}
		v, ok := refDecode(event)
		if !ok {
			return
		}
		cp, err := compilePattern([]byte(pattern))
		if err != nil {
			t.Fatalf("compilePattern(%s): %v", pattern, err)
		}
		if want := refMatch(cp, v); got != want {
			t.Fatalf("Match(%s) with pattern %s = %v, reference matcher says %v", event, pattern, got, want)
		}
	})
}
