package pattern

import (
	"testing"
)

// matchKafkaExact is MatchKafka with every key and value validated in full before it is evaluated: the
// reference the unvalidated first evaluation of MatchKafka must agree with.
func matchKafkaExact(s *Set, event, key, value []byte) (bool, error) {
	if len(s.rootConds) == 0 {
		return true, nil
	}
	st := s.pool.Get().(*state)
	defer s.pool.Put(st)
	return s.matchKafka(st, event, key, value, true)
}

var kafkaFastPatterns = []string{
	`{"value": {"status": ["PAID"], "amount": [{"numeric": [">", 50]}]}}`,
	`{"value": {"status": [{"anything-but": "PAID"}]}}`,
	`{"value": {"missing": [{"exists": false}]}}`,
	`{"value": {"items": {"sku": ["A-1"]}}}`,
	`{"key": {"k": [1]}, "value": {"status": ["PAID"]}}`,
	`{"value": ["hello"]}`,
	`{"value": [{"prefix": "{"}]}`,
	`{"partition": [0], "value": {"status": ["PAID"]}}`,
}

var kafkaFastValues = []string{
	`{"status":"PAID","amount":75.5,"items":[{"sku":"A-1"}]}`,
	`{"status":"PAID","amount":75.5, broken`,
	`{"status":"PAID","amount":75.5} trailing`,
	`{"status":"PENDING","amount":20}`,
	`{"status":"PENDING","amount":20, broken`,
	`{"status":"PAID","amount":75.5,"note":"` + "\xff\xfe" + `"}`,
	`{"status":"PAID","amount":75.5,"n":01}`,
	`{"amount":75.5,"status":"PAID","x":[1,2,}`,
	`"hello"`,
	`hello`,
	`{`,
	``,
	`[{"sku":"A-1"},{"sku":"B-2"}]`,
	`  {"status" : "PAID" , "amount" : 51 }  `,
	`{"status":"PAID","amount":75.5,"missing":null}`,
	`{"status":"PAID","amount":75.5,"status":"PENDING"}`,
}

// TestMatchKafkaAgreesWithExact guards MatchKafka's shortcut (kafkaBody evaluates a key or value as JSON
// before knowing it is valid): on valid, truncated, trailing-garbage, non-UTF-8 and plain-text keys and
// values it decides exactly what the full validation decides.
func TestMatchKafkaAgreesWithExact(t *testing.T) {
	for _, src := range kafkaFastPatterns {
		s, err := CompileSet([][]byte{[]byte(src)})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		for _, v := range kafkaFastValues {
			for _, k := range []string{`{"k":1}`, `{"k":1`, `plain`} {
				checkKafkaFast(t, s, src, []byte(k), []byte(v))
			}
		}
	}
}

func checkKafkaFast(t *testing.T, s *Set, src string, key, value []byte) {
	t.Helper()
	event := []byte(`{"eventSource":"SelfManagedKafka","topic":"t","partition":0,"offset":1,"key":"x","value":"y","headers":[]}`)
	got, gotErr := s.MatchKafka(event, key, value)
	want, wantErr := matchKafkaExact(s, event, key, value)
	if got != want || (gotErr == nil) != (wantErr == nil) {
		t.Errorf("pattern %s, key %q, value %q: MatchKafka = %v, %v; exact = %v, %v", src, key, value, got, gotErr, want, wantErr)
	}
}

func FuzzMatchKafkaExact(f *testing.F) {
	for i, v := range kafkaFastValues {
		f.Add(i, []byte(`{"k":1}`), []byte(v))
	}
	sets := make([]*Set, len(kafkaFastPatterns))
	for i, src := range kafkaFastPatterns {
		var err error
		if sets[i], err = CompileSet([][]byte{[]byte(src)}); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, which int, key, value []byte) {
		i := (which%len(sets) + len(sets)) % len(sets)
		checkKafkaFast(t, sets[i], kafkaFastPatterns[i], key, value)
	})
}

// TestMatchKafkaAllocs guards the filter's hot path: matching a record allocates nothing.
func TestMatchKafkaAllocs(t *testing.T) {
	s, err := CompileSet([][]byte{[]byte(kafkaFastPatterns[0])})
	if err != nil {
		t.Fatal(err)
	}
	event := []byte(`{"eventSource":"SelfManagedKafka","topic":"t","partition":0,"offset":1,"key":"x","value":"y","headers":[]}`)
	for _, v := range [][]byte{[]byte(kafkaFastValues[0]), []byte(kafkaFastValues[3])} {
		if n := testing.AllocsPerRun(100, func() { _, _ = s.MatchKafka(event, nil, v) }); n != 0 {
			t.Errorf("MatchKafka(%s) allocates %.1f times, want 0", v, n)
		}
	}
}
