package transform

import (
	"testing"

	"github.com/sluicehq/sluice/internal/event"
)

// compactTemplates are JSON templates RenderScopeCompact writes in one pass (CompactJSON), with
// whitespace to drop around and inside them, placeholders in strings, nested containers and escapes.
var compactTemplates = []string{
	`{"order": <$.value>, "pipe": <aws.pipes.pipe-name>, "partition": <$.partition>, "offset": <$.offset>}`,
	"{\n  \"v\" : <$.value> ,\n\t\"id\": <$.value.orderId>, \"k\": \"key is <$.key> \", \"ids\": <$.value.items[*].sku>, \"kk\": <$.key.k>\n}",
	`[ <$.value> , <$.key> , "  <aws.pipes.event> " , <aws.pipes.event.ingestion-time> , "a \" b \\ <$.topic>" ]`,
	`{"nested": {"deep": [ <$.value.items> , { "x" : <$.missing> } ] }, "t": "<aws.pipes.event.ingestion-time>", "arn": <aws.pipes.pipe-arn>}`,
}

// notCompactTemplates are rendered as they are: text, <aws.pipes.event.json>, a placeholder after a
// backslash, and a skeleton that is not JSON.
var notCompactTemplates = []string{
	`key <$.key> value <$.value>`,
	`{"ev": <aws.pipes.event.json>}`,
	`{"a": <$.value> <$.key>}`,
	`{"a": -<$.value>}`,
	`{"a": "\<$.value>"}`,
	`{"a": 1`,
}

func TestCompactJSON(t *testing.T) {
	for _, src := range compactTemplates {
		if tmpl, err := Parse(src); err != nil || !tmpl.CompactJSON() {
			t.Errorf("Parse(%s): CompactJSON false (err %v), want true", src, err)
		}
	}
	for _, src := range notCompactTemplates {
		if tmpl, err := Parse(src); err == nil && tmpl.CompactJSON() {
			t.Errorf("Parse(%s): CompactJSON true, want false", src)
		}
	}
}

// checkRenderCompact checks that RenderScopeCompact gives AppendCompact of RenderScopeLimit's output, with
// both Reset and ResetKafka, and that it reports compact exactly for CompactJSON templates.
func checkRenderCompact(t *testing.T, src string, ev, key, value []byte, limit int) {
	t.Helper()
	tmpl, err := Parse(src)
	if err != nil {
		return
	}
	for _, hinted := range []bool{false, true} {
		var a, b Scope
		if hinted {
			a.ResetKafka(ev, key, value)
			b.ResetKafka(ev, key, value)
		} else {
			a.Reset(ev)
			b.Reset(ev)
		}
		plain, perr := tmpl.RenderScopeLimit([]byte("prefix"), &a, testVars, 0)
		got, compact, gerr := tmpl.RenderScopeCompact([]byte("prefix"), &b, testVars, limit)
		if compact != (tmpl.CompactJSON() && gerr == nil) {
			t.Fatalf("%s on %s: compact %v, CompactJSON %v, err %v", src, ev, compact, tmpl.CompactJSON(), gerr)
		}
		if (perr == nil) != (gerr == nil) && !(limit > 0 && gerr != nil) {
			t.Fatalf("%s on %s: RenderScopeCompact error %v, RenderScopeLimit %v", src, ev, gerr, perr)
		}
		if perr != nil || gerr != nil {
			continue
		}
		want := plain
		if compact {
			var ok bool
			if want, ok = AppendCompact([]byte("prefix"), plain[len("prefix"):]); !ok {
				t.Fatalf("%s on %s (hinted %v): CompactJSON template rendered invalid JSON %s", src, ev, hinted, plain)
			}
		}
		if string(got) != string(want) {
			t.Fatalf("%s on %s (hinted %v):\nRenderScopeCompact %s\nwant               %s", src, ev, hinted, got, want)
		}
		if limit > 0 && len(got)-len("prefix") > limit {
			t.Fatalf("%s: %d bytes rendered over the limit %d", src, len(got)-len("prefix"), limit)
		}
	}
}

func TestRenderScopeCompactAgrees(t *testing.T) {
	enc := event.NewEncoder([]string{"b:9092"}).Partition("orders", 3)
	values := []string{
		`{"orderId":"o-1","items":[{"sku":"a"},{"sku":"b"}]}`,
		" {\n \"orderId\" : \"ws around\" , \"items\" : [ { \"sku\" : \"a b\" } ] } \n",
		`[1, 2, 3]`, `"a JSON string"`, `42`, `null`, `not json`, `{"orderId":"unterminated"`, ``,
		`{"esc":"a\"b\\c\u00e9 \n","orderId":"o-\u0031"}`, "\xff{\"binary\":1}",
	}
	keys := []string{`o-1`, `{ "k" : [ 1 , 2 ] }`, `{"k":"x"}`, ``}
	for _, src := range append(append([]string{}, compactTemplates...), notCompactTemplates...) {
		for _, v := range values {
			for _, k := range keys {
				r := scopeRecord([]byte(k), []byte(v))
				ev := enc.Append(nil, r)
				checkRenderCompact(t, src, ev, r.Key, r.Value, 0)
				checkRenderCompact(t, src, ev, r.Key, r.Value, 120)
			}
		}
		// Events that are not Kafka records (an enrichment's output), with whitespace.
		checkRenderCompact(t, src, []byte(" { \"value\" : { \"orderId\" : 1 } , \"key\" : \"k\" } "), nil, nil, 0)
	}
}

func FuzzRenderScopeCompact(f *testing.F) {
	for i, src := range compactTemplates {
		f.Add(src, []byte(`o-1`), []byte(`{"orderId":"o-1","items":[{"sku":"a"}]}`), i%2 == 0)
	}
	f.Add(notCompactTemplates[0], []byte(`{ "k" : 1 }`), []byte(" [ 1 ,\n2 ] "), true)
	f.Add(`{ "a" : [ <$.value> , "<$.key> x" ] }`, []byte(`k`), []byte(`{"a" :"b c"}`), false)
	enc := event.NewEncoder([]string{"b:9092"}).Partition("orders", 3)
	f.Fuzz(func(t *testing.T, src string, key, value []byte, limited bool) {
		r := scopeRecord(key, value)
		limit := 0
		if limited {
			limit = 64
		}
		checkRenderCompact(t, src, enc.Append(nil, r), r.Key, r.Value, limit)
	})
}

// TestRenderScopeCompactAllocs: the compact render path allocates nothing once the Scope is warm, for a
// compact value and for one whose whitespace it drops (into the Scope's buffer).
func TestRenderScopeCompactAllocs(t *testing.T) {
	enc := event.NewEncoder([]string{"b:9092"}).Partition("orders", 3)
	tmpl, err := Parse(compactTemplates[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{`{"orderId":"o-1","amount":75.5,"items":[{"sku":"a"}]}`, `{ "orderId" : "o-1", "items" : [ 1, 2 ] }`} {
		r := scopeRecord([]byte("o-1"), []byte(v))
		ev := enc.Append(nil, r)
		var s Scope
		buf := make([]byte, 0, 4096)
		if n := testing.AllocsPerRun(100, func() {
			s.ResetKafka(ev, r.Key, r.Value)
			var ok bool
			if buf, ok, err = tmpl.RenderScopeCompact(buf[:0], &s, testVars, 0); err != nil || !ok {
				t.Fatal(ok, err)
			}
		}); n != 0 {
			t.Errorf("RenderScopeCompact of %s allocates %.1f times per event, want 0", v, n)
		}
	}
}
