package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/event"
	"github.com/sluicehq/sluice/transform"
)

// BenchmarkStages measures the per-record CPU cost of each stage a pipe adds to a bare consume-and-produce
// loop, on the same 1 KB records as BenchmarkPipeVsBareLoop: turning the record into the Pipes event,
// matching the filter, rendering the target template, and evaluating the Kafka target's key path (alone, and
// together with the template as the runtime does). Their sum bounds a pipe's records/s per core.
func BenchmarkStages(b *testing.B) {
	recs := make([]*kgo.Record, 100)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "orders", Partition: int32(i % partitions), Offset: int64(i),
			Key: fmt.Appendf(nil, "o-%08d", i), Value: value(i), Timestamp: time.Unix(1764072000, 0)}
	}
	enc := event.NewEncoder([]string{"127.0.0.1:9092"})
	events := make([][]byte, len(recs))
	for i, r := range recs {
		events[i] = enc.Append(nil, r)
	}
	set, tmpl := compileFilterAndTemplate(b)
	var err error
	vars := &transform.Vars{PipeName: "bench", IngestionTime: time.Now()}
	perRecord := func(b *testing.B, f func(i int)) {
		b.ReportAllocs()
		b.SetBytes(valueSize)
		i := 0
		for b.Loop() {
			f(i % len(recs))
			i++
		}
	}
	b.Run("event", func(b *testing.B) {
		var buf []byte
		perRecord(b, func(i int) { buf = enc.Append(buf[:0], recs[i]) })
	})
	b.Run("filter", func(b *testing.B) {
		perRecord(b, func(i int) {
			if _, err := set.MatchKafka(events[i], recs[i].Key, recs[i].Value); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("template", func(b *testing.B) {
		var buf []byte
		perRecord(b, func(i int) {
			if buf, err = tmpl.Render(buf[:0], events[i], vars); err != nil {
				b.Fatal(err)
			}
		})
	})
	key, err := transform.ParsePath("$.value.orderId")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("key", func(b *testing.B) {
		var buf []byte
		perRecord(b, func(i int) {
			if buf, _, err = key.AppendLookup(buf[:0], events[i]); err != nil {
				b.Fatal(err)
			}
		})
	})
	// What the runtime does for a Kafka target keyed by a path: the template and the key on one Scope, so
	// that the record's value is decoded once for both.
	b.Run("template+key", func(b *testing.B) {
		var buf, kbuf []byte
		var s transform.Scope
		perRecord(b, func(i int) {
			s.Reset(events[i])
			if buf, err = tmpl.RenderScope(buf[:0], &s, vars); err != nil {
				b.Fatal(err)
			}
			if kbuf, _, err = key.AppendLookupScope(kbuf[:0], &s); err != nil {
				b.Fatal(err)
			}
		})
	})
	// The same with the record's own key and value handed to the Scope (transform.Scope.ResetKafka), as the
	// runtime does for the source's events: no walk over the event's base64, no decoding.
	b.Run("template+key-raw", func(b *testing.B) {
		var buf, kbuf []byte
		var s transform.Scope
		perRecord(b, func(i int) {
			s.ResetKafka(events[i], recs[i].Key, recs[i].Value)
			if buf, err = tmpl.RenderScope(buf[:0], &s, vars); err != nil {
				b.Fatal(err)
			}
			if kbuf, _, err = key.AppendLookupScope(kbuf[:0], &s); err != nil {
				b.Fatal(err)
			}
		})
	})
	// What the runtime does for a file target (CompactJSONTarget): the template rendered compact from the
	// record's own value, validated and compacted in one pass.
	b.Run("template-compact-raw", func(b *testing.B) {
		var buf []byte
		var s transform.Scope
		perRecord(b, func(i int) {
			s.ResetKafka(events[i], recs[i].Key, recs[i].Value)
			if buf, _, err = tmpl.RenderScopeCompact(buf[:0], &s, vars, 0); err != nil {
				b.Fatal(err)
			}
		})
	})
	// The bare loops' hand-written check of both of the pattern's clauses, for comparison with filter.
	b.Run("bare-filter", func(b *testing.B) {
		perRecord(b, func(i int) { _ = orderMatches(recs[i].Value) })
	})
}
