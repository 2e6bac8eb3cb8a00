package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/retry"
	"github.com/sluicehq/sluice/internal/runtime"
)

// TestExactlyOnceKafkaTarget: a pipe with a filter, a target template, a key path and
// KafkaParameters.ExactlyOnce delivers every matching record once, in source order per partition, to a
// read_committed reader, and the source offsets are committed (in the transactions) to the partitions'
// ends.
func TestExactlyOnceKafkaTarget(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		in, out := c.CreateTopic(t, 3), c.CreateTopic(t, 1)
		recs, orders := orderRecords(in, 300, 3)
		c.Produce(t, recs...)
		def := definition(t, c, in, spec{
			batchSize:      7,
			filters:        []string{paidOver50},
			target:         "kafka://" + c.Bootstrap[0] + "/" + out,
			targetParams:   map[string]any{"KafkaParameters": map[string]any{"Key": "$.value.orderId", "ExactlyOnce": true}},
			targetTemplate: `{"id": <$.value.orderId>, "offset": <$.offset>, "partition": <$.partition>}`,
		})
		start(t, def, deps(t, nil))
		cl := c.Client(t, kgo.ConsumeTopics(out), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		var got []*kgo.Record
		kafkatest.Eventually(t, 60*time.Second, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			got = append(got, cl.PollFetches(ctx).Records()...)
			if len(got) < 150 {
				return fmt.Errorf("read_committed reader got %d records from %s, want 150", len(got), out)
			}
			return nil
		})
		waitCommitted(t, c, groupOf(def), in, endOffsets(300, 3))
		// Nothing more arrives: the committed offsets are the ends, and no record was delivered twice.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		got = append(got, cl.PollFetches(ctx).Records()...)
		cancel()
		seen := map[string]bool{}
		var lines []string
		for _, r := range got {
			id := field(t, string(r.Value), "id")
			if seen[id] {
				t.Errorf("order %s delivered twice", id)
			}
			seen[id] = true
			if string(r.Key) != id {
				t.Errorf("record %s has key %q, want %q", r.Value, r.Key, id)
			}
			lines = append(lines, string(r.Value))
		}
		want := 0
		for _, o := range orders {
			if o.Status == "PAID" && o.Amount > 50 {
				want++
				if !seen[o.OrderID] {
					t.Errorf("order %s was not delivered", o.OrderID)
				}
			}
		}
		if len(got) != want {
			t.Errorf("read_committed reader saw %d records, want %d", len(got), want)
		}
		checkPartitionOrder(t, lines)
	})
}

// TestExactlyOnceOtherCluster: a pipe whose ExactlyOnce target is on another cluster than its source
// fails to build, naming both cluster IDs, before it consumes anything.
func TestExactlyOnceOtherCluster(t *testing.T) {
	src := kafkatest.Kfake(t)
	dst := kafkatest.Kfake(t, kfake.ClusterID("target-cluster"))
	in := src.CreateTopic(t, 1)
	def := definition(t, src, in, spec{
		target:       "kafka://" + dst.Bootstrap[0] + "/out",
		targetParams: map[string]any{"KafkaParameters": map[string]any{"ExactlyOnce": true}},
	})
	_, err := runtime.New(context.Background(), def, deps(t, nil))
	if err == nil {
		t.Fatal("runtime.New accepted an ExactlyOnce target on another cluster")
	}
	if !strings.Contains(err.Error(), `"target-cluster"`) || !strings.Contains(err.Error(), `"kfake"`) || !strings.Contains(err.Error(), "ExactlyOnce") {
		t.Errorf("error %q: want it to name ExactlyOnce and both cluster IDs", err)
	}
}

// TestExactlyOnceDeadLetter: with ExactlyOnce, a record given up before it is produced (its rendered
// payload is over the Kafka target's limit) is dead-lettered outside the transaction, and the rest of
// its batch is produced and committed in the transaction: a read_committed reader sees the others once.
func TestExactlyOnceDeadLetter(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		in, out := c.CreateTopic(t, 1), c.CreateTopic(t, 1)
		big := `{"blob":"` + strings.Repeat("x", 100<<10) + `"}`
		produce(t, c, in, []*kgoRecord{{value: `{"i":0}`}, {value: big}, {value: `{"i":2}`}})
		def := definition(t, c, in, spec{
			batchSize:      10,
			target:         "kafka://" + c.Bootstrap[0] + "/" + out,
			targetParams:   map[string]any{"KafkaParameters": map[string]any{"ExactlyOnce": true}},
			targetTemplate: "[" + strings.Repeat("<$.value>,", 11) + "<$.value>]", // 1.2 MB for the big one
		})
		dlqTarget, dlqPath := outFile(t)
		zero := 0
		smk := def.SourceParameters.SelfManagedKafkaParameters
		smk.MaximumRetryAttempts = &zero
		smk.DeadLetterConfig = &pipe.DeadLetterConfig{Arn: dlqTarget}
		start(t, def, deps(t, nil))
		waitCommitted(t, c, groupOf(def), in, map[int32]int64{0: 3})
		lines := waitLines(t, dlqPath, 1)
		var dl retry.DeadLetter
		if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &dl) != nil || dl.Offset != 1 {
			t.Fatalf("dead letters %d (first %.200q), want the record at offset 1", len(lines), lines)
		}
		cl := c.Client(t, kgo.ConsumeTopics(out), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		var got []string
		deadline := time.Now().Add(20 * time.Second)
		for len(got) < 3 && time.Now().Before(deadline) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
			cancel()
			if soon := time.Now().Add(2 * time.Second); len(got) == 2 && soon.Before(deadline) {
				deadline = soon // a little longer: anything more would be a duplicate
			}
		}
		if len(got) != 2 || !strings.Contains(got[0], `"i":0`) || !strings.Contains(got[1], `"i":2`) {
			t.Errorf("read_committed reader saw %d records (%.120q), want the two small ones once", len(got), got)
		}
	})
}
