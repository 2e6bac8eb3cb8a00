package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
)

// checkPartitionOrder fails when, within one partition, the lines' offsets do not increase.
func checkPartitionOrder(t *testing.T, lines []string) {
	t.Helper()
	last := map[string]int{}
	for _, l := range lines {
		p := field(t, l, "partition")
		off, err := strconv.Atoi(field(t, l, "offset"))
		if err != nil {
			t.Fatalf("line %s: offset: %v", l, err)
		}
		if prev, ok := last[p]; ok && off <= prev {
			t.Fatalf("partition %s: offset %d delivered after %d", p, off, prev)
		}
		last[p] = off
	}
}

// TestFileTarget runs Kafka -> filter (half match) -> target template -> file, and checks the delivered
// lines, their per-partition order, and that every record (filtered out or not) is committed.
func TestFileTarget(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 3)
		recs, orders := orderRecords(topic, 60, 3)
		c.Produce(t, recs...)
		target, path := outFile(t)
		def := definition(t, c, topic, spec{
			filters:        []string{paidOver50},
			batchSize:      7,
			target:         target,
			targetTemplate: `{"id": <$.value.orderId>, "city": "City of <$.value.city>", "partition": <$.partition>, "offset": <$.offset>, "pipe": <aws.pipes.pipe-name>}`,
		})
		start(t, def, deps(t, nil))
		lines := waitLines(t, path, 30)
		var want, got []string
		for _, o := range orders {
			if o.Status == "PAID" {
				want = append(want, o.OrderID)
			}
		}
		for _, l := range lines {
			got = append(got, field(t, l, "id"))
			if city := field(t, l, "city"); !strings.HasPrefix(city, "City of ") {
				t.Errorf("line %s: city %q not rendered by the template", l, city)
			}
			if p := field(t, l, "pipe"); p != def.Name {
				t.Errorf("line %s: pipe %q, want %q", l, p, def.Name)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("delivered ids = %v, want %v", got, want)
		}
		checkPartitionOrder(t, lines)
		waitCommitted(t, c, groupOf(def), topic, endOffsets(60, 3))
		time.Sleep(200 * time.Millisecond)
		if n := len(readLines(t, path)); n != 30 {
			t.Fatalf("after commit the file has %d lines, want 30 (no duplicates without failures)", n)
		}
	})
}

// TestFullyFilteredBatchCommitsWithoutInvoking: when no record of a batch matches, the target is not
// invoked and the batch is committed all the same.
func TestFullyFilteredBatchCommitsWithoutInvoking(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 2)
		recs, _ := orderRecords(topic, 20, 2)
		c.Produce(t, recs...)
		rec := &recorder{}
		def := definition(t, c, topic, spec{filters: []string{`{"value": {"status": ["SHIPPED"]}}`}, target: "file:///unused"})
		start(t, def, deps(t, rec.registry()))
		waitCommitted(t, c, groupOf(def), topic, endOffsets(20, 2))
		if calls := rec.snapshot(); len(calls) != 0 {
			t.Fatalf("target invoked %d times for fully filtered batches: %v", len(calls), calls)
		}
	})
}

// TestTargetMaxBatch: a batch larger than the target's MaxBatch is delivered in order, in chunks.
func TestTargetMaxBatch(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	recs, _ := orderRecords(topic, 50, 1)
	c.Produce(t, recs...)
	rec := &recorder{max: 4}
	def := definition(t, c, topic, spec{batchSize: 50, window: 1, target: "file:///unused", targetTemplate: `<$.offset>`})
	start(t, def, deps(t, rec.registry()))
	waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 50})
	var all []string
	for _, call := range rec.snapshot() {
		if len(call) > 4 {
			t.Fatalf("Deliver got %d events, MaxBatch is 4", len(call))
		}
		all = append(all, call...)
	}
	for i, v := range all {
		if v != strconv.Itoa(i) {
			t.Fatalf("event %d = %s, want offset %d (order kept across chunks)", i, v, i)
		}
	}
	if len(all) != 50 {
		t.Fatalf("delivered %d events, want 50", len(all))
	}
}

// TestRetriesFailingBatch: a target failing transiently gets the same batch again, and later batches of
// the partition wait for it; everything is delivered in order in the end.
func TestRetriesFailingBatch(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 1)
		recs, _ := orderRecords(topic, 30, 1)
		c.Produce(t, recs...)
		rec := &recorder{fail: func(call int) error {
			switch call {
			case 2:
				return &plugin.ThrottledError{Err: errors.New("429 from target"), RetryAfter: 50 * time.Millisecond}
			case 3, 4:
				return errors.New("503 from target")
			}
			return nil
		}}
		def := definition(t, c, topic, spec{batchSize: 5, target: "file:///unused", targetTemplate: `<$.offset>`})
		start(t, def, deps(t, rec.registry()))
		waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 30})
		calls := rec.snapshot()
		if len(calls) < 9 {
			t.Fatalf("got %d Deliver calls, want at least 6 batches + 3 retries", len(calls))
		}
		// Calls 2, 3 and 4 carried the same batch.
		if !slices.Equal(calls[1], calls[2]) || !slices.Equal(calls[2], calls[3]) {
			t.Fatalf("retried calls differ: %v / %v / %v", calls[1], calls[2], calls[3])
		}
		var delivered []string
		for i, call := range calls {
			if i == 1 || i == 2 || i == 3 {
				continue // failed attempts
			}
			delivered = append(delivered, call...)
		}
		for i, v := range delivered {
			if v != strconv.Itoa(i) {
				t.Fatalf("delivered[%d] = %s, want %d: %v", i, v, i, delivered)
			}
		}
	})
}

// TestKafkaTarget: Kafka -> filter -> template -> another topic, keyed by a JSON path of the source event.
func TestKafkaTarget(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		in := c.CreateTopic(t, 3)
		out := kafkatest.TopicName(t) + "-out"
		adm := c.Admin(t)
		if _, err := adm.CreateTopic(context.Background(), 2, 1, nil, out); err != nil {
			t.Fatal(err)
		}
		if c.Real {
			t.Cleanup(func() { _, _ = adm.DeleteTopics(context.Background(), out) })
		}
		recs, orders := orderRecords(in, 40, 3)
		c.Produce(t, recs...)
		def := definition(t, c, in, spec{
			filters:        []string{paidOver50},
			target:         "kafka://" + c.Bootstrap[0] + "/" + out,
			targetParams:   map[string]any{"KafkaParameters": map[string]any{"Key": "$.value.orderId"}},
			targetTemplate: `{"id": <$.value.orderId>, "amount": <$.value.amount>, "offset": <$.offset>, "partition": <$.partition>}`,
		})
		start(t, def, deps(t, nil))
		cl := c.Client(t, kgo.ConsumeTopics(out), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		var got []*kgo.Record
		kafkatest.Eventually(t, 60*time.Second, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			got = append(got, cl.PollFetches(ctx).Records()...)
			if len(got) < 20 {
				return fmt.Errorf("got %d records from %s, want 20", len(got), out)
			}
			return nil
		})
		byID := map[string]order{}
		for _, o := range orders {
			byID[o.OrderID] = o
		}
		var lines []string
		for _, r := range got {
			id := field(t, string(r.Value), "id")
			if string(r.Key) != id {
				t.Errorf("record %s has key %q, want %q", r.Value, r.Key, id)
			}
			if o := byID[id]; o.Status != "PAID" {
				t.Errorf("record %s: order %s is %s, should have been filtered out", r.Value, id, o.Status)
			}
			lines = append(lines, string(r.Value))
		}
		// Records of one source partition go to the same target partition when their keys do, so order
		// is checked per key-independent source partition on the consumed sequence per target partition.
		perTarget := map[int32][]string{}
		for i, r := range got {
			perTarget[r.Partition] = append(perTarget[r.Partition], lines[i])
		}
		for _, ls := range perTarget {
			checkPartitionOrder(t, ls)
		}
		waitCommitted(t, c, groupOf(def), in, endOffsets(40, 3))
	})
}

// TestInvalidDefinitionConnectsNothing: runtime.New rejects an invalid definition with every field error
// before dialling anything.
func TestInvalidDefinitionConnectsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conn.Close()
		}
	}()
	raw := fmt.Sprintf(`{"Name": "bad", "Source": "smk://%s",
	  "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "t", "BatchSize": 0},
	    "FilterCriteria": {"Filters": [{"Pattern": "not json"}]}},
	  "Target": "ftp://x/y"}`, ln.Addr())
	def, err := pipe.Decode([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	def.SetDefaults(plugin.Default)
	_, err = runtime.New(context.Background(), def, deps(t, nil))
	var fe pipe.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("runtime.New(invalid) = %v, want pipe.FieldErrors", err)
	}
	fields := map[string]bool{}
	for _, e := range fe {
		fields[e.Field] = true
	}
	for _, f := range []string{"SourceParameters.SelfManagedKafkaParameters.BatchSize", "SourceParameters.FilterCriteria.Filters[0].Pattern", "Target"} {
		if !fields[f] {
			t.Errorf("field errors %v do not name %s", fe, f)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := accepted.Load(); n != 0 {
		t.Fatalf("an invalid definition opened %d connections", n)
	}
}

// TestDrain: cancelling Run lets the in-flight execution finish and commits it; a batch still in flight
// at the drain timeout is abandoned uncommitted.
func TestDrain(t *testing.T) {
	t.Run("finishes in-flight", func(t *testing.T) {
		c := kafkatest.Kfake(t)
		topic := c.CreateTopic(t, 1)
		recs, _ := orderRecords(topic, 10, 1)
		c.Produce(t, recs...)
		rec := &recorder{block: make(chan struct{}), called: make(chan struct{}, 1)}
		def := definition(t, c, topic, spec{batchSize: 10, window: 1, target: "file:///unused"})
		r := start(t, def, deps(t, rec.registry()))
		<-rec.called
		stopped := make(chan error, 1)
		go func() { stopped <- r.stop() }()
		time.Sleep(200 * time.Millisecond)
		close(rec.block) // the in-flight execution completes during the drain
		if err := <-stopped; err != nil {
			t.Fatalf("stop: %v", err)
		}
		waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 10})
	})
	t.Run("abandons at timeout", func(t *testing.T) {
		c := kafkatest.Kfake(t)
		topic := c.CreateTopic(t, 1)
		recs, _ := orderRecords(topic, 10, 1)
		c.Produce(t, recs...)
		rec := &recorder{block: make(chan struct{}), called: make(chan struct{}, 1)}
		def := definition(t, c, topic, spec{batchSize: 10, window: 1, target: "file:///unused"})
		d := deps(t, rec.registry())
		d.DrainTimeout = 300 * time.Millisecond
		r := start(t, def, d)
		<-rec.called
		began := time.Now()
		if err := r.stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		if took := time.Since(began); took > 20*time.Second {
			t.Fatalf("stop took %v with a 300ms drain timeout", took)
		}
		adm := c.Admin(t)
		resps, err := adm.FetchOffsets(context.Background(), groupOf(def))
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := resps.Lookup(topic, 0); ok && r.At > 0 {
			t.Fatalf("abandoned batch committed at %d", r.At)
		}
	})
}
