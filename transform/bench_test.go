package transform

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// benchEvent builds a Pipes Kafka record of about 1 KB whose value is a JSON order.
func benchEvent(tb testing.TB) []byte {
	tb.Helper()
	value := `{"orderId":"o-12345","customer":{"id":"c-42","name":"Zoë Example","email":"zoe@example.com","tier":"gold"},` +
		`"items":[{"sku":"SKU-1","qty":2,"price":9.99},{"sku":"SKU-2","qty":1,"price":19.5},{"sku":"SKU-3","qty":5,"price":1.25},{"sku":"SKU-4","qty":3,"price":4.5}],` +
		`"shipping":{"street":"1 Long Road","city":"Lisbon","zip":"1000-001","country":"PT"},` +
		`"total":45.73,"currency":"EUR","paid":true,"notes":"leave at the door, ring twice, then wait"}`
	ev := `{"eventSource":"SelfManagedKafka","bootstrapServers":"broker-1:9092,broker-2:9092","eventSourceKey":"orders-0",` +
		`"topic":"orders","partition":"0","offset":15,"timestamp":1545084650987,"timestampType":"CREATE_TIME",` +
		`"key":"` + base64.StdEncoding.EncodeToString([]byte("o-12345")) + `","value":"` +
		base64.StdEncoding.EncodeToString([]byte(value)) + `","headers":[{"traceparent":[48,48,45,97,98,99,100,101,102]},` +
		`{"source":[115,104,111,112]},{"content-type":[97,112,112,108,105,99,97,116,105,111,110,47,106,115,111,110]}]}`
	if len(ev) < 1000 || len(ev) > 1100 {
		tb.Fatalf("bench event is %d bytes, want about 1 KB", len(ev))
	}
	if !json.Valid([]byte(ev)) {
		tb.Fatal("bench event is not valid JSON")
	}
	return []byte(ev)
}

const benchTemplate = `{"order": <$.value.orderId>, "customer": <$.value.customer.id>, "total": <$.value.total>, ` +
	`"first": <$.value.items[0].sku>, "topic": <$.topic>}`

// BenchmarkRender renders a 5-placeholder JSON template over a 1 KB Kafka record whose value is JSON.
func BenchmarkRender(b *testing.B) {
	ev := benchEvent(b)
	t, err := Parse(benchTemplate)
	if err != nil {
		b.Fatal(err)
	}
	vars := &Vars{PipeName: "orders", IngestionTime: time.Unix(1700000000, 0)}
	buf := make([]byte, 0, 512)
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := t.Render(buf[:0], ev, vars)
		if err != nil {
			b.Fatal(err)
		}
		buf = out
	}
	if want := `{"order": "o-12345", "customer": "c-42", "total": 45.73, "first": "SKU-1", "topic": "orders"}`; string(buf) != want {
		b.Fatalf("Render = %s, want %s", buf, want)
	}
}

// BenchmarkEncodingJSON is the baseline the renderer must beat: encoding/json unmarshal and marshal of the same
// event (without even decoding the value or building the output).
func BenchmarkEncodingJSON(b *testing.B) {
	ev := benchEvent(b)
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(ev, &m); err != nil {
			b.Fatal(err)
		}
		out, err := json.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) == 0 {
			b.Fatal("empty marshal")
		}
	}
}

// BenchmarkRenderWildcard measures a [*] placeholder, which assembles an array in a reused buffer.
func BenchmarkRenderWildcard(b *testing.B) {
	ev := benchEvent(b)
	t, err := Parse(`{"skus": <$.value.items[*].sku>, "text": "<$.value.customer>"}`)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, err = t.Render(buf[:0], ev, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	if !strings.Contains(string(buf), `["SKU-1","SKU-2","SKU-3","SKU-4"]`) {
		b.Fatalf("Render = %s", buf)
	}
}

// BenchmarkLookup measures a whole-value dynamic parameter path.
func BenchmarkLookup(b *testing.B) {
	ev := benchEvent(b)
	p, err := ParsePath("$.value.customer.id")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := p.Lookup(ev); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkRenderLimit is BenchmarkRender through the bounded entry point with the 6 MB payload limit.
func BenchmarkRenderLimit(b *testing.B) {
	ev := benchEvent(b)
	t, err := Parse(benchTemplate)
	if err != nil {
		b.Fatal(err)
	}
	vars := &Vars{PipeName: "orders", IngestionTime: time.Unix(1700000000, 0)}
	buf := make([]byte, 0, 512)
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := t.RenderLimit(buf[:0], ev, vars, 6<<20)
		if err != nil {
			b.Fatal(err)
		}
		buf = out
	}
}
