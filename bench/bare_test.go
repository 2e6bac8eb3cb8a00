package bench

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/event"
	"github.com/sluicehq/sluice/pattern"
	"github.com/sluicehq/sluice/transform"
)

// TestBareLoopDoesThePipesWork checks the bare loops' hand-made filter and template (orderMatches,
// appendRendering) against the pipe's own: the compiled filter pattern and the rendered template, on the
// benchmark's orders and on orders at the edges of the amount clause. The benchmarks check the outputs of
// each round too; this catches a drift without a broker.
func TestBareLoopDoesThePipesWork(t *testing.T) {
	set, err := pattern.CompileSet([][]byte{[]byte(filter)})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := transform.Parse(template)
	if err != nil {
		t.Fatal(err)
	}
	const name = "bench-bare"
	vars := &transform.Vars{PipeName: name, IngestionTime: time.Now()}
	enc := event.NewEncoder([]string{"127.0.0.1:9092"})
	values := [][]byte{}
	for i := range 16 {
		values = append(values, value(i))
	}
	paid := value(0) // a matching order: PAID, amount 75.5
	for _, amount := range []string{"50", "50.0001", "5e1", "51", "-75.5", "1e3"} {
		values = append(values, bytes.Replace(paid, []byte(`"amount":75.5`), []byte(`"amount":`+amount), 1))
	}
	values = append(values, bytes.Replace(paid, []byte(`"status":"PAID"`), []byte(`"status":"PAIDX"`), 1))
	matched := 0
	for i, v := range values {
		r := &kgo.Record{Topic: "orders", Partition: int32(i % partitions), Offset: int64(1000 * i), Key: fmt.Appendf(nil, "o-%08d", i),
			Value: v, Timestamp: time.Unix(1764072000, 0)}
		ev := enc.Append(nil, r)
		want, err := set.MatchKafka(ev, r.Key, r.Value)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if got := orderMatches(v); got != want {
			t.Errorf("value %d: orderMatches = %v, the pattern says %v: %s", i, got, want, v[:120])
		}
		if !want {
			continue
		}
		matched++
		rendered, err := tmpl.Render(nil, ev, vars)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		var s transform.Scope
		s.Reset(ev)
		compact, ok, err := tmpl.RenderScopeCompact(nil, &s, vars, 0)
		if err != nil || !ok {
			t.Fatalf("value %d: compact rendering: %v (compact %v)", i, err, ok)
		}
		for _, c := range []struct {
			compact bool
			want    []byte
		}{{false, rendered}, {true, compact}} {
			got := appendRendering(nil, v, jsonString(name), r.Partition, r.Offset, c.compact)
			if !bytes.Equal(got, c.want) {
				t.Errorf("value %d: appendRendering (compact %v) wrote\n%s\nthe template renders\n%s", i, c.compact, got, c.want)
			}
			if extra := len(got) - len(v) - len(jsonString(name)); extra > renderingExtra {
				t.Errorf("value %d: the rendering adds %d bytes, more than renderingExtra (%d)", i, extra, renderingExtra)
			}
		}
	}
	if matched == 0 || matched == len(values) {
		t.Fatalf("%d of %d values match: the test needs both kinds", matched, len(values))
	}
}
