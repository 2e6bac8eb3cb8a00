package kafka

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/event"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestOverlap guards Config.Overlap: each partition prepares its next batch while the handler still runs
// for the current one, and yet a partition's batches reach the handler one at a time, in offset order,
// each with what Prepare made of it and with its events intact (the event buffers are reused), and the
// group's committed offset never passes the end of the batches acknowledged so far: a batch prepared
// ahead, or being delivered, is not committed.
func TestOverlap(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		const parts, per, size = 2, 200, 10
		topic := c.CreateTopic(t, parts)
		for p := int32(0); p < parts; p++ {
			c.Produce(t, records(topic, p, 0, per)...)
		}
		cfg := testConfig(t, c, topic)
		cfg.BatchSize = size
		cfg.Overlap = true
		cfg.ReuseEventBuffers = true
		cfg.CommitInterval = 100 * time.Millisecond // the periodic commit runs too, between batches
		adm := c.Admin(t)

		var mu sync.Mutex
		handling := map[int32]bool{} // a handler of the partition is running
		acked := map[int32]int64{}   // end offset of the partition's acknowledged batches
		prepAhead := 0               // Prepare calls made while the partition's handler ran
		var problems []string
		problem := func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			if len(problems) < 20 {
				problems = append(problems, fmt.Sprintf(format, args...))
			}
		}
		cfg.Prepare = func(ctx context.Context, b *Batch) {
			mu.Lock()
			if handling[b.Partition] {
				prepAhead++
			}
			mu.Unlock()
			b.Prepared = b.Records[0].Offset
		}
		// committed checks, in the handler of partition p, that the group has committed nothing of p
		// past its acknowledged batches: not the batch being handled, not the one prepared behind it.
		committed := func(ctx context.Context, p int32) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			offs, err := adm.FetchOffsets(ctx, cfg.ConsumerGroupID)
			if err != nil {
				return // the pipe stopping; the check needs an answer, not every answer
			}
			mu.Lock()
			max := acked[p]
			mu.Unlock()
			if o, ok := offs.Lookup(topic, p); ok && o.At > max {
				problem("partition %d: committed offset %d while only offsets below %d were acknowledged", p, o.At, max)
			}
		}
		k := newSink()
		stopRun := start(t, newSource(t, cfg), func(ctx context.Context, b *Batch) error {
			mu.Lock()
			twice := handling[b.Partition]
			handling[b.Partition] = true
			mu.Unlock()
			if twice {
				problem("partition %d: two batches handled at once", b.Partition)
			}
			if first, _ := b.Prepared.(int64); b.Prepared == nil || first != b.Records[0].Offset {
				problem("partition %d: batch at offset %d carries Prepared %v, want its own first offset", b.Partition, b.Records[0].Offset, b.Prepared)
			}
			committed(ctx, b.Partition)
			time.Sleep(15 * time.Millisecond) // a delivery: the next batch is prepared meanwhile
			for _, r := range b.Records {
				want := `"offset":` + strconv.FormatInt(r.Offset, 10) + ","
				if !strings.Contains(string(r.Event), want) {
					problem("partition %d offset %d: event overwritten while handled: %.120s", b.Partition, r.Offset, r.Event)
				}
			}
			k.add(b)
			mu.Lock()
			handling[b.Partition] = false
			acked[b.Partition] = b.Records[len(b.Records)-1].Offset + 1
			mu.Unlock()
			return nil
		})
		k.waitFor(t, parts*per, 120*time.Second)
		if err := stopRun(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Error(p)
		}
		for p := int32(0); p < parts; p++ {
			checkContiguous(t, fmt.Sprintf("partition %d", p), k.offsets[p], 0, per)
		}
		if prepAhead == 0 {
			t.Errorf("no batch was prepared while the previous one was handled (%d batches)", parts*per/size)
		}
		t.Logf("%d of %d batches prepared while the partition's previous batch was handled", prepAhead, parts*per/size)
	})
}

// TestHandleAllocs guards the per-batch cost that a one-record batch (an HTTP target's) pays in full:
// handing a batch to the handler and marking it allocates nothing.
func TestHandleAllocs(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1")) // never dialled: nothing here needs a broker
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	s := &Source{enc: event.NewEncoder([]string{"127.0.0.1:1"}), handler: func(context.Context, *Batch) error { return nil }}
	w := newWorker(context.Background(), s, cl, "t", 0)
	defer w.cancel()
	c := collected{b: &Batch{Topic: "t", Records: []Record{{Topic: "t", Offset: 7}}}}
	if n := testing.AllocsPerRun(100, func() {
		if !w.handle(c) {
			t.Fatal("handle failed")
		}
	}); n != 0 {
		t.Errorf("handling a batch allocates %.1f times, want 0", n)
	}
}
