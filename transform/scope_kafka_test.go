package transform

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/event"
)

// scopeKafkaTemplates and scopeKafkaPaths read the key and value every way a pipe can: whole, inside, in
// strings, in text, through <aws.pipes.event.json> (which needs the members' places in the event).
var (
	scopeKafkaTemplates = []string{
		`{"order": <$.value>, "pipe": <aws.pipes.pipe-name>, "partition": <$.partition>, "offset": <$.offset>}`,
		`{"v": <$.value>, "id": <$.value.orderId>, "k": "<$.key>", "ids": <$.value.items[*].sku>, "kk": <$.key.k>}`,
		`{"ev": <aws.pipes.event.json>, "v": "<$.value>"}`,
		`key <$.key> value <$.value> id <$.value.orderId>`,
		`[<aws.pipes.event.json>, <$.value>]`,
	}
	scopeKafkaPaths = []string{"$.value", "$.key", "$.value.orderId", "$.value.items[*].sku", "$.key.k", "$.topic", "$"}
)

// checkScopeKafka checks that a Scope reset with the record's own key and value (ResetKafka) evaluates every
// template and path on the record's event exactly as a Scope reset with the event alone.
func checkScopeKafka(t *testing.T, enc *event.PartitionEncoder, r *kgo.Record) {
	t.Helper()
	ev := enc.Append(nil, r)
	var plain, hinted Scope
	for _, src := range scopeKafkaTemplates {
		tmpl, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		plain.Reset(ev)
		hinted.ResetKafka(ev, r.Key, r.Value)
		want, wantErr := tmpl.RenderScope(nil, &plain, testVars)
		got, gotErr := tmpl.RenderScope(nil, &hinted, testVars)
		if string(got) != string(want) || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("key %q value %q: template %s\nwith ResetKafka: %s, %v\nwith Reset:      %s, %v", r.Key, r.Value, src, got, gotErr, want, wantErr)
		}
	}
	for _, src := range scopeKafkaPaths {
		p, err := ParsePath(src)
		if err != nil {
			t.Fatal(err)
		}
		plain.Reset(ev)
		hinted.ResetKafka(ev, r.Key, r.Value)
		want, wantFound, wantErr := p.AppendLookupScope(nil, &plain)
		got, gotFound, gotErr := p.AppendLookupScope(nil, &hinted)
		if string(got) != string(want) || gotFound != wantFound || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("key %q value %q: path %s with ResetKafka = %s, %v, %v; with Reset = %s, %v, %v", r.Key, r.Value, src, got, gotFound, gotErr, want, wantFound, wantErr)
		}
	}
}

func scopeRecord(key, value []byte) *kgo.Record {
	return &kgo.Record{Topic: "orders", Partition: 3, Offset: 42, Key: key, Value: value, Timestamp: time.UnixMilli(1764072000000)}
}

func TestScopeResetKafka(t *testing.T) {
	enc := event.NewEncoder([]string{"b:9092"}).Partition("orders", 3)
	cases := []struct{ key, value string }{
		{`o-1`, `{"orderId":"o-1","items":[{"sku":"a"},{"sku":"b"}]}`},
		{`{"k":1}`, ` {"orderId":"ws around"} ` + "\n"},
		{`{"k":"x"}`, `[1,2,3]`},
		{`k`, `"a JSON string"`},
		{`k`, `42`},
		{`k`, `null`},
		{`k`, `not json`},
		{`k`, `{"orderId":"unterminated"`},
		{`k`, ``},
		{``, `{"orderId":"empty key"}`},
		{"\xff\xfe", "\xff{\"binary\":1}"},
		{`k`, `{"esc":"a\"b\\c\u00e9","orderId":"o-\u0031"}`},
	}
	for _, c := range cases {
		checkScopeKafka(t, enc, scopeRecord([]byte(c.key), []byte(c.value)))
	}
	// No key, no value: the event has no such members.
	checkScopeKafka(t, enc, scopeRecord(nil, []byte(`{"orderId":"no key"}`)))
	checkScopeKafka(t, enc, scopeRecord([]byte(`{"k":1}`), nil))
	checkScopeKafka(t, enc, scopeRecord(nil, nil))
}

func FuzzScopeResetKafka(f *testing.F) {
	f.Add([]byte(`o-1`), []byte(`{"orderId":"o-1","items":[{"sku":"a"}]}`), false, false)
	f.Add([]byte(`{"k":1}`), []byte(`not json`), false, false)
	f.Add([]byte(nil), []byte(`[1]`), true, false)
	f.Add([]byte("\xff"), []byte(nil), false, true)
	enc := event.NewEncoder([]string{"b:9092"}).Partition("orders", 3)
	f.Fuzz(func(t *testing.T, key, value []byte, noKey, noValue bool) {
		if noKey {
			key = nil
		} else if key == nil {
			key = []byte{}
		}
		if noValue {
			value = nil
		} else if value == nil {
			value = []byte{}
		}
		checkScopeKafka(t, enc, scopeRecord(key, value))
	})
}

// TestRenderScopeKafkaAllocs guards the pipe's render path: a template over the record's own bytes
// allocates nothing once the Scope's buffers are warm.
func TestRenderScopeKafkaAllocs(t *testing.T) {
	enc := event.NewEncoder([]string{"b:9092"}).Partition("orders", 3)
	r := scopeRecord([]byte("o-1"), []byte(`{"orderId":"o-1","amount":75.5,"status":"PAID","items":[{"sku":"a"}]}`))
	ev := enc.Append(nil, r)
	tmpl, err := Parse(scopeKafkaTemplates[0])
	if err != nil {
		t.Fatal(err)
	}
	var s Scope
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() {
		s.ResetKafka(ev, r.Key, r.Value)
		if buf, err = tmpl.RenderScopeLimit(buf[:0], &s, testVars, 0); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("RenderScopeLimit after ResetKafka allocates %.1f times per event, want 0", n)
	}
}
