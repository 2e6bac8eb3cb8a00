package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/kafkatxn"
)

// txnConfig is testConfig in exactly-once mode with the target on the same cluster.
func txnConfig(t testing.TB, c *kafkatest.Cluster, topic string) Config {
	cfg := testConfig(t, c, topic)
	cfg.ExactlyOnce = &ExactlyOnce{TargetBrokers: c.Bootstrap}
	return cfg
}

// forward is a handler producing every record's value, keyed "<partition>", to out through the
// transaction's producer, as the Kafka target does in exactly-once mode.
func forward(out string, before func(ctx context.Context, b *Batch) error) Handler {
	return func(ctx context.Context, b *Batch) error {
		if before != nil {
			if err := before(ctx, b); err != nil {
				return err
			}
		}
		p := kafkatxn.FromContext(ctx)
		if p == nil {
			return errors.New("no transactional producer in the batch's context")
		}
		recs := make([]*kgo.Record, len(b.Records))
		for i, r := range b.Records {
			recs[i] = &kgo.Record{Topic: out, Key: []byte(fmt.Sprint(b.Partition)), Value: r.Value}
		}
		return p.ProduceSync(ctx, recs...).FirstErr()
	}
}

// readOut reads topic from the start with the isolation level until want records arrived or the time
// is up, and returns the values per key.
func readOut(t testing.TB, c *kafkatest.Cluster, topic string, committed bool, want int, d time.Duration) map[string][]string {
	t.Helper()
	iso := kgo.ReadUncommitted()
	if committed {
		iso = kgo.ReadCommitted()
	}
	cl := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(iso))
	out := map[string][]string{}
	n := 0
	deadline := time.Now().Add(d)
	for n < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			out[string(r.Key)] = append(out[string(r.Key)], string(r.Value))
			n++
		})
	}
	return out
}

// checkExactlyOnce fails unless got holds, per source partition, exactly the values
// "p<p>-0".."p<p>-<n-1>" in order.
func checkExactlyOnce(t testing.TB, got map[string][]string, perPartition map[int32]int) {
	t.Helper()
	for p, n := range perPartition {
		vals := got[fmt.Sprint(p)]
		if len(vals) != n {
			t.Errorf("partition %d: read_committed reader saw %d records, want %d", p, len(vals), n)
		}
		for i, v := range vals {
			if want := fmt.Sprintf("p%d-%d", p, i); v != want {
				t.Errorf("partition %d: record %d is %q, want %q (lost, duplicated or out of order)", p, i, v, want)
				break
			}
		}
	}
}

// TestTransactExactlyOnce: in exactly-once mode every source record's output is visible to a
// read_committed reader once, in source order per partition, and the group's committed offsets are
// the partitions' ends (they were committed in the transactions).
func TestTransactExactlyOnce(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		in, out := c.CreateTopic(t, 3), c.CreateTopic(t, 1)
		per := map[int32]int{0: 250, 1: 130, 2: 7}
		for p, n := range per {
			c.Produce(t, records(in, p, 0, n)...)
		}
		cfg := txnConfig(t, c, in)
		cfg.BatchSize = 20
		var batches atomic.Int64
		stop := start(t, newSource(t, cfg), forward(out, func(context.Context, *Batch) error { batches.Add(1); return nil }))
		got := readOut(t, c, out, true, 387, 60*time.Second)
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		checkExactlyOnce(t, got, per)
		offs, err := c.Admin(t).FetchOffsets(context.Background(), cfg.ConsumerGroupID)
		if err != nil {
			t.Fatal(err)
		}
		for p, n := range per {
			if o, ok := offs.Lookup(in, p); !ok || o.At != int64(n) {
				t.Errorf("partition %d: committed offset %d (found %v), want %d", p, o.At, ok, n)
			}
		}
		if batches.Load() < 20 {
			t.Errorf("%d batches for 387 records at BatchSize 20", batches.Load())
		}
	})
}

// TestTransactAbortOnFailure: a record that fails in a transaction dooms it: the batches of that
// round get a cancelled context (the runtime stops retrying), what the round produced is aborted and
// never seen by read_committed readers, and the round's records are read and delivered again, once.
func TestTransactAbortOnFailure(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		in, out := c.CreateTopic(t, 2), c.CreateTopic(t, 1)
		per := map[int32]int{0: 200, 1: 200}
		for p, n := range per {
			c.Produce(t, records(in, p, 0, n)...)
		}
		cfg := txnConfig(t, c, in)
		cfg.BatchSize = 10
		var failed atomic.Bool
		var cancelled atomic.Bool
		var mu sync.Mutex
		calls := map[string]int{}
		h := forward(out, func(ctx context.Context, b *Batch) error {
			key := fmt.Sprintf("%d@%d", b.Partition, b.Records[0].Offset)
			mu.Lock()
			calls[key]++
			mu.Unlock()
			if b.Partition == 0 && b.Records[0].Offset == 50 && failed.CompareAndSwap(false, true) {
				// Produce half of the batch, then a record no broker accepts (larger than the producer's
				// batch limit): the transaction now holds records that must never become visible.
				p := kafkatxn.FromContext(ctx)
				half := make([]*kgo.Record, 5)
				for i := range half {
					half[i] = &kgo.Record{Topic: out, Key: []byte("0"), Value: b.Records[i].Value}
				}
				if err := p.ProduceSync(ctx, half...).FirstErr(); err != nil {
					return err
				}
				err := p.ProduceSync(ctx, &kgo.Record{Topic: out, Key: []byte("0"), Value: bytes.Repeat([]byte("x"), 2<<20)}).FirstErr()
				if err == nil {
					return errors.New("a 2 MB record was accepted")
				}
				// The runtime would retry now: the round's context is cancelled instead, and a retry
				// is refused.
				select {
				case <-ctx.Done():
					cancelled.Store(true)
				case <-time.After(5 * time.Second):
				}
				if p.ProduceSync(context.Background(), half[0]).FirstErr() == nil {
					return errors.New("a doomed transaction accepted another record")
				}
				return err
			}
			return nil
		})
		stop := start(t, newSource(t, cfg), h)
		got := readOut(t, c, out, true, 400, 60*time.Second)
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if !failed.Load() {
			t.Fatal("the failing batch was never handled")
		}
		if !cancelled.Load() {
			t.Error("the doomed round's batch context was not cancelled")
		}
		checkExactlyOnce(t, got, per)
		mu.Lock()
		again := calls["0@50"]
		mu.Unlock()
		if again < 2 {
			t.Errorf("the failed batch was handled %d times, want it read again after the abort", again)
		}
		// The aborted records are in the log (a read_uncommitted reader sees them): what hid them is the
		// abort, not a failure to produce.
		raw := readOut(t, c, out, false, 405, 20*time.Second)
		if n := len(raw["0"]); n < 205 {
			t.Errorf("read_uncommitted reader saw %d records of partition 0, want the 5 aborted ones too (≥ 205)", n)
		}
	})
}

// TestTransactRestartFencesZombie: a member that stops answering mid-transaction (a hung process) is
// replaced by a restart under the same instance ID, hence the same transactional ID: the restart's
// first transaction fences the zombie, whose open transaction is aborted and whose later commit fails,
// and a read_committed reader still sees every record once, in order.
func TestTransactRestartFencesZombie(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		in, out := c.CreateTopic(t, 1), c.CreateTopic(t, 1)
		c.Produce(t, records(in, 0, 0, 100)...)
		cfg := txnConfig(t, c, in)
		cfg.BatchSize = 10
		cfg.InstanceID = "node-" + in
		hung := make(chan struct{})
		release := make(chan struct{})
		var once sync.Once
		zombie := newSource(t, cfg)
		zombieDone := make(chan error, 1)
		zctx, zcancel := context.WithCancel(context.Background())
		defer zcancel()
		go func() {
			zombieDone <- zombie.Run(zctx, forward(out, func(ctx context.Context, b *Batch) error {
				if b.Records[0].Offset == 30 {
					once.Do(func() { close(hung) })
					<-release // produced 30 records in its open transaction, then hangs
				}
				return nil
			}))
		}()
		select {
		case <-hung:
		case <-time.After(60 * time.Second):
			t.Fatal("the first member never reached offset 30")
		}
		cfg2 := cfg
		cfg2.Logger = testLogger(t)
		stop := start(t, newSource(t, cfg2), forward(out, nil))
		readOut(t, c, out, true, 100, 60*time.Second) // the restart delivered everything
		close(release)                                // the zombie wakes up and tries to go on
		zcancel()
		select {
		case <-zombieDone:
		case <-time.After(60 * time.Second):
			t.Error("the zombie's Run did not return")
		}
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		// Whatever the zombie did after waking up, it committed nothing more.
		checkExactlyOnce(t, readOut(t, c, out, true, 101, 5*time.Second), map[int32]int{0: 100})
	})
}

// TestTransactOtherCluster: exactly-once mode refuses a target on another cluster (a different
// cluster ID), naming both clusters, before consuming anything.
func TestTransactOtherCluster(t *testing.T) {
	src := kafkatest.Kfake(t)
	dst := kafkatest.Kfake(t, kfake.ClusterID("other-cluster"))
	topic := src.CreateTopic(t, 1)
	cfg := testConfig(t, src, topic)
	cfg.ExactlyOnce = &ExactlyOnce{TargetBrokers: dst.Bootstrap}
	_, err := New(context.Background(), cfg)
	if err == nil {
		t.Fatal("New accepted a target on another cluster")
	}
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "other-cluster") || !strings.Contains(err.Error(), `"kfake"`) {
		t.Errorf("error %q: want ErrConfig naming both cluster IDs", err)
	}
	cfg.ExactlyOnce = &ExactlyOnce{TargetBrokers: src.Bootstrap}
	if _, err := New(context.Background(), cfg); err != nil {
		t.Errorf("same cluster refused: %v", err)
	}
}

// TestTransactRebalance: a second exactly-once member joining mid-stream takes over some partitions
// (a rebalance between rounds, or one that aborts the open round), and a read_committed reader still
// sees every record once, in order per partition, with both members having delivered.
func TestTransactRebalance(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		in, out := c.CreateTopic(t, 4), c.CreateTopic(t, 1)
		per := map[int32]int{0: 600, 1: 600, 2: 600, 3: 600}
		for p := range per {
			c.Produce(t, records(in, p, 0, 300)...)
		}
		cfg := txnConfig(t, c, in)
		cfg.BatchSize = 20
		var a, b atomic.Int64
		slow := func(n *atomic.Int64) func(context.Context, *Batch) error {
			return func(ctx context.Context, bt *Batch) error {
				n.Add(int64(len(bt.Records)))
				time.Sleep(5 * time.Millisecond) // rounds long enough for the join to land inside one
				return nil
			}
		}
		cfgA := cfg
		cfgA.InstanceID = "a-" + in
		stopA := start(t, newSource(t, cfgA), forward(out, slow(&a)))
		kafkatest.Eventually(t, 60*time.Second, func() error {
			if a.Load() < 200 {
				return fmt.Errorf("first member delivered %d records", a.Load())
			}
			return nil
		})
		cfgB := cfg
		cfgB.InstanceID = "b-" + in
		cfgB.Logger = testLogger(t)
		stopB := start(t, newSource(t, cfgB), forward(out, slow(&b)))
		for p := range per {
			c.Produce(t, records(in, p, 300, 300)...)
		}
		readOut(t, c, out, true, 2400, 90*time.Second)
		if err := errors.Join(stopB(), stopA()); err != nil {
			t.Fatalf("Run: %v", err)
		}
		checkExactlyOnce(t, readOut(t, c, out, true, 2401, 3*time.Second), per)
		if b.Load() == 0 {
			t.Errorf("the second member delivered nothing: no rebalance happened (first member %d records)", a.Load())
		}
	})
}

// TestTransactIgnoresBatchWindow: in exactly-once mode a round's batches are cut from what the round
// polled, so a batching window would only hold each transaction open: with a 30 s window, the records
// are still committed within seconds.
func TestTransactIgnoresBatchWindow(t *testing.T) {
	c := kafkatest.Kfake(t)
	in, out := c.CreateTopic(t, 1), c.CreateTopic(t, 1)
	c.Produce(t, records(in, 0, 0, 15)...)
	cfg := txnConfig(t, c, in)
	cfg.BatchSize = 10
	cfg.BatchWindow = 30 * time.Second
	start(t, newSource(t, cfg), forward(out, nil))
	checkExactlyOnce(t, readOut(t, c, out, true, 15, 10*time.Second), map[int32]int{0: 15})
}
