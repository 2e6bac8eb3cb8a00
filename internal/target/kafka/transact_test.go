package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/kafkatxn"
	"github.com/sluicehq/sluice/internal/plugin"
	srckafka "github.com/sluicehq/sluice/internal/source/kafka"
)

// TestExactlyOnceProducesInTransaction: with ExactlyOnce the target produces through the transaction its
// batch's context carries, never with its own producer: an aborted transaction's records stay invisible
// to a read_committed reader, a committed one's appear (keyed as usual), and a batch without a
// transaction fails permanently (a wiring error) without producing.
func TestExactlyOnceProducesInTransaction(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		ctx := context.Background()
		topic := c.CreateTopic(t, 1)
		tg, err := New(ctx, plugin.Env{PipeName: "p"}, "kafka://"+c.Bootstrap[0]+"/"+topic,
			json.RawMessage(`{"KafkaParameters":{"ExactlyOnce":true,"Key":"$.value.id"}}`))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tg.(*Target).Close(ctx) })
		k := tg.(*Target)
		batch := func(prefix string) (events, inputs []json.RawMessage) {
			for i := range 3 {
				events = append(events, json.RawMessage(fmt.Sprintf(`{"n":"%s%d"}`, prefix, i)))
				inputs = append(inputs, kafkaEvent(fmt.Sprintf(`{"id":"%s%d"}`, prefix, i)))
			}
			return events, inputs
		}

		ev, in := batch("none")
		if err := k.DeliverInputs(ctx, ev, in); !plugin.IsPermanent(err) || !errors.Is(err, errNoTransaction) {
			t.Fatalf("DeliverInputs outside a transaction = %v, want a permanent errNoTransaction", err)
		}

		txn := c.Client(t, kgo.TransactionalID("sluice-test-"+topic))
		end := func(commit kgo.TransactionEndTry) {
			t.Helper()
			if err := txn.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := txn.EndTransaction(ctx, commit); err != nil {
				t.Fatal(err)
			}
		}
		for _, step := range []struct {
			prefix string
			commit kgo.TransactionEndTry
		}{{"aborted", kgo.TryAbort}, {"committed", kgo.TryCommit}} {
			if err := txn.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			ev, in := batch(step.prefix)
			if err := k.DeliverInputs(kafkatxn.NewContext(ctx, txn), ev, in); err != nil {
				t.Fatalf("DeliverInputs in a transaction: %v", err)
			}
			end(step.commit)
		}

		reader := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		var got []string
		deadline := time.Now().Add(30 * time.Second)
		for len(got) < 3 && time.Now().Before(deadline) {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			reader.PollFetches(pctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Key)+"="+string(r.Value)) })
			cancel()
		}
		want := []string{`committed0={"n":"committed0"}`, `committed1={"n":"committed1"}`, `committed2={"n":"committed2"}`}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("read_committed reader saw %q, want %q", got, want)
		}
		// The aborted records are in the log: a read_uncommitted reader sees all six.
		if raw := consume(t, c, topic, 6); len(raw) != 6 || string(raw[0].Key) != "aborted0" {
			t.Errorf("read_uncommitted reader saw %d records starting with key %q, want 6 starting with the aborted ones", len(raw), raw[0].Key)
		}
	})
}

// TestExactlyOnceFailedRecordAbandonsBatch: behind a source in exactly-once mode, a record the
// transaction cannot take makes Deliver return promptly with the batch's context cancelled (so the
// runtime abandons the batch instead of retrying it inside the doomed transaction), the transaction is
// aborted, and the batch is read and delivered again, once.
func TestExactlyOnceFailedRecordAbandonsBatch(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		ctx := context.Background()
		in, out := c.CreateTopic(t, 1), c.CreateTopic(t, 1)
		var recs []*kgo.Record
		for i := range 30 {
			recs = append(recs, &kgo.Record{Topic: in, Value: []byte(fmt.Sprintf(`{"id":"r%d"}`, i))})
		}
		c.Produce(t, recs...)
		tg, err := New(ctx, plugin.Env{PipeName: "p"}, "kafka://"+c.Bootstrap[0]+"/"+out,
			json.RawMessage(`{"KafkaParameters":{"ExactlyOnce":true,"Key":"$.value.id"}}`))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tg.(*Target).Close(ctx) })
		src, err := srckafka.New(ctx, srckafka.Config{
			Pipe: "p-" + in, Brokers: c.Bootstrap, Topic: in, StartingPosition: srckafka.TrimHorizon, BatchSize: 10,
			ConsumerGroupID: "g-" + in, ConnectTimeout: 15 * time.Second,
			ExactlyOnce: &srckafka.ExactlyOnce{TargetBrokers: c.Bootstrap},
		})
		if err != nil {
			t.Fatal(err)
		}
		var failedOnce bool
		var failErr error
		var failTook time.Duration
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- src.Run(runCtx, func(ctx context.Context, b *srckafka.Batch) error {
				events := make([]json.RawMessage, len(b.Records))
				inputs := make([]json.RawMessage, len(b.Records))
				for i, r := range b.Records {
					events[i], inputs[i] = json.RawMessage(r.Value), r.Event
				}
				if b.Records[0].Offset == 10 && !failedOnce {
					failedOnce = true
					// Larger than the producer's 1 MB batch limit: refused, the transaction is doomed.
					events[5] = json.RawMessage(`"` + strings.Repeat("x", 2<<20) + `"`)
					began := time.Now()
					failErr = tg.(*Target).DeliverInputs(ctx, events, inputs)
					failTook = time.Since(began)
					return failErr
				}
				return tg.(*Target).DeliverInputs(ctx, events, inputs)
			})
		}()
		reader := c.Client(t, kgo.ConsumeTopics(out), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		var got []string
		deadline := time.Now().Add(60 * time.Second)
		for len(got) < 30 && time.Now().Before(deadline) {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			reader.PollFetches(pctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Key)) })
			cancel()
		}
		stop()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if !failedOnce {
			t.Fatal("the failing batch was never delivered")
		}
		if failErr == nil || failTook > 10*time.Second {
			t.Errorf("Deliver of the doomed batch returned %v after %v, want an error at once", failErr, failTook)
		}
		var want []string
		for i := range 30 {
			want = append(want, fmt.Sprintf("r%d", i))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("read_committed reader saw keys %v, want %v", got, want)
		}
	})
}
