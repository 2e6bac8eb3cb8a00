package pattern

import "testing"

// kafkaRecord is a Pipes Kafka record event; its key and value members hold base64 text that MatchKafka ignores
// in favour of the raw bytes.
const kafkaRecord = `{"eventSource":"SelfManagedKafka","bootstrapServers":"localhost:9092","eventSourceKey":"orders-0",` +
	`"topic":"orders","partition":"0","offset":15,"timestamp":1545084650987,"timestampType":"CREATE_TIME",` +
	`"key":"a2V5","value":"aGVsbG8=","headers":[{"h":[104,105]}]}`

func TestMatchKafka(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		key      []byte
		value    []byte
		want     bool
	}{
		{"json pattern json value", []string{`{"value":{"City":["Seattle"]}}`}, nil, []byte(`{"City":"Seattle"}`), true},
		{"json pattern json value no", []string{`{"value":{"City":["Seattle"]}}`}, nil, []byte(`{"City":"Boston"}`), false},
		{"json pattern json array value", []string{`{"value":{"a":["x"]}}`}, nil, []byte(`[{"a":"y"},{"a":"x"}]`), true},
		{"plain pattern plain value", []string{`{"value":["hello"]}`}, nil, []byte("hello"), true},
		{"plain pattern plain value no", []string{`{"value":["hello"]}`}, nil, []byte("bye"), false},
		{"plain prefix", []string{`{"value":[{"prefix":"hel"}]}`}, nil, []byte("hello world"), true},
		{"plain value that looks like json", []string{`{"value":[{"prefix":"{"}]}`}, nil, []byte(`{"a":`), true},
		{"json scalar number", []string{`{"value":[{"numeric":[">",10]}]}`}, nil, []byte("42"), true},
		{"json scalar number exact", []string{`{"value":[42]}`}, nil, []byte("42"), true},
		{"json scalar string", []string{`{"value":["hi"]}`}, nil, []byte(`"hi"`), true},
		// UNCONFIRMED: the documented format-mismatch rule, read literally, drops the key/value clauses and lets
		// the metadata clauses decide.
		{"plain pattern json value drops clause", []string{`{"value":["hello"]}`}, nil, []byte(`{"a":1}`), true},
		{"plain pattern json value metadata decides", []string{`{"topic":["other"],"value":["hello"]}`}, nil, []byte(`{"a":1}`), false},
		{"json pattern plain value drops clause", []string{`{"value":{"City":["Seattle"]}}`}, nil, []byte("Seattle"), true},
		{"json pattern plain value metadata decides", []string{`{"topic":["other"],"value":{"City":["Seattle"]}}`}, nil, []byte("Seattle"), false},
		{"non utf8 drops clause", []string{`{"topic":["orders"],"value":{"City":["Seattle"]}}`}, nil, []byte{0xff, 0xfe, 0x00}, true},
		{"non utf8 metadata decides", []string{`{"topic":["other"],"value":["x"]}`}, nil, []byte{0xff}, false},
		{"no key or value pattern", []string{`{"topic":["orders"]}`}, nil, []byte{0xff}, true},
		{"metadata fields", []string{`{"partition":["0"],"offset":[15],"headers":{"h":[104]}}`}, nil, nil, true},
		{"json key", []string{`{"key":{"id":[1]}}`}, []byte(`{"id":1}`), nil, true},
		{"plain key", []string{`{"key":["k1"]}`}, []byte("k1"), []byte(`{"a":1}`), true},
		{"key and value", []string{`{"key":["k1"],"value":{"a":[2]}}`}, []byte("k1"), []byte(`{"a":1}`), false},
		{"null value is absent", []string{`{"value":[{"exists":false}]}`}, nil, nil, true},
		{"null value does not match null", []string{`{"value":[null]}`}, nil, nil, false},
		{"null value does not match a string", []string{`{"value":["x"]}`}, nil, nil, false},
		{"empty value is an empty string", []string{`{"value":[""]}`}, nil, []byte{}, true},
		{"event value member ignored", []string{`{"value":["aGVsbG8="]}`}, nil, []byte("hello"), false},
		{"event value member replaced", []string{`{"value":["hello"]}`}, nil, []byte("hello"), true},
		{"any of the set", []string{`{"topic":["x"]}`, `{"value":{"n":[{"numeric":["<",0]}]}}`}, nil, []byte(`{"n":-1}`), true},
		{"none of the set", []string{`{"topic":["x"]}`, `{"value":{"n":[{"numeric":["<",0]}]}}`}, nil, []byte(`{"n":1}`), false},
		{"empty set", nil, nil, []byte("x"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := make([][]byte, len(tc.patterns))
			for i, p := range tc.patterns {
				ps[i] = []byte(p)
			}
			s, err := CompileSet(ps)
			if err != nil {
				t.Fatalf("CompileSet(%q): %v", tc.patterns, err)
			}
			got, err := s.MatchKafka([]byte(kafkaRecord), tc.key, tc.value)
			if err != nil {
				t.Fatalf("MatchKafka(key %q, value %q): %v", tc.key, tc.value, err)
			}
			if got != tc.want {
				t.Errorf("MatchKafka(key %q, value %q) against %q = %v, want %v", tc.key, tc.value, tc.patterns, got, tc.want)
			}
		})
	}
	s, _ := CompileSet([][]byte{[]byte(`{"topic":["orders"]}`)})
	if _, err := s.MatchKafka([]byte(`["not a record"]`), nil, nil); err == nil {
		t.Errorf("MatchKafka(array event) succeeded, want an error")
	}
}

func TestCanonicalNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"}, {"-0", "0"}, {"0.000", "0"}, {"0e10", "0"}, {"300", "3e3"}, {"300.0", "3e3"}, {"3.0e2", "3e3"},
		{"3E+2", "3e3"}, {"30e1", "3e3"}, {"-1.5", "-15e1"}, {"0.015", "15e-1"}, {"1e-7", "1e-6"}, {"123.456", "123456e3"},
	}
	for _, tc := range tests {
		if got := string(appendCanonicalNumber(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("appendCanonicalNumber(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want bool
	}{{"0.1", true}, {"0.10000000000000001", false}, {"-122.42916360922355", true}, {"1e400", false}, {"5e-324", true}, {"300.000", true}} {
		if _, got := roundTrips([]byte(tc.in)); got != tc.want {
			t.Errorf("roundTrips(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestFoldCase(t *testing.T) {
	tests := []struct{ a, b string }{
		{"Hello", "hELLO"}, {"ⱥ", "Ⱥ"}, {"k", "\u212a"}, {"ß", "SS"}, {"ẞ", "ss"}, {"ς", "Σ"}, {"σ", "Σ"}, {"ſ", "S"},
		{"ΰ", "\u03a5\u0308\u0301"}, {"ﬁ", "FI"}, {"ǅ", "ǆ"}, {"ǅ", "Ǆ"},
	}
	for _, tc := range tests {
		fa, fb := string(foldCase(nil, []byte(tc.a))), string(foldCase(nil, []byte(tc.b)))
		if fa != fb {
			t.Errorf("foldCase(%q) = %q, foldCase(%q) = %q, want equal", tc.a, fa, tc.b, fb)
		}
		if again := string(foldCase(nil, []byte(fa))); again != fa {
			t.Errorf("foldCase(foldCase(%q)) = %q, want %q", tc.a, again, fa)
		}
	}
	if string(foldCase(nil, []byte("a"))) == string(foldCase(nil, []byte("b"))) {
		t.Errorf("foldCase merged a and b")
	}
}

func TestWildcard(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"*", "abc", true}, {"a*", "a", true}, {"a*", "ba", false}, {"*a", "ba", true}, {"*a", "ab", false},
		{"a*a", "a", false}, {"a*a", "aa", true}, {"a*b*c", "abc", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "acb", false},
		{"*ab*ab*", "abab", true}, {"*ab*ab*", "aba", false}, {`\*`, "*", true}, {`\*`, "a", false}, {`\\*`, `\abc`, true},
		{"", "", true}, {"", "a", false}, {"a*", "abc", true},
	}
	for _, tc := range tests {
		w, err := parseWildcard(tc.pattern)
		if err != nil {
			t.Fatalf("parseWildcard(%q): %v", tc.pattern, err)
		}
		if got := w.match([]byte(tc.s)); got != tc.want {
			t.Errorf("wildcard(%q).match(%q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
