package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/event"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

func TestConsumeEvents(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 3)
		var recs []*kgo.Record
		for p := int32(0); p < 3; p++ {
			recs = append(recs, records(topic, p, 0, 20)...)
		}
		recs[0].Headers = []kgo.RecordHeader{{Key: "h", Value: []byte{0, 200}}}
		recs[0].Key = nil
		c.Produce(t, recs...)

		k := newSink()
		s := newSource(t, testConfig(t, c, topic))
		stop := start(t, s, k.handler)
		k.waitFor(t, 60, 60*time.Second)
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v, want nil after cancellation", err)
		}
		for p := int32(0); p < 3; p++ {
			checkContiguous(t, fmt.Sprintf("partition %d", p), k.offsets[p], 0, 20)
		}
		enc := event.NewEncoder(c.Bootstrap)
		for _, b := range k.batches {
			for _, r := range b.Records {
				if r.Topic != topic || r.Partition != b.Partition {
					t.Fatalf("record %s[%d]@%d in batch of partition %d", r.Topic, r.Partition, r.Offset, b.Partition)
				}
				want := enc.Append(nil, &kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
					Timestamp: r.Timestamp, Key: r.Key, Value: r.Value, Headers: headersOf(recs, r)})
				if string(r.Event) != string(want) {
					t.Errorf("Event of %s[%d]@%d = %s, want %s", r.Topic, r.Partition, r.Offset, r.Event, want)
				}
				var ev map[string]any
				if err := json.Unmarshal(r.Event, &ev); err != nil {
					t.Fatalf("Event is not JSON: %v", err)
				}
				if ev["bootstrapServers"] != strings.Join(c.Bootstrap, ",") || ev["partition"] != fmt.Sprint(r.Partition) {
					t.Errorf("Event = %s: wrong bootstrapServers or partition", r.Event)
				}
			}
		}
		if r := firstRecord(k, 0); r.Key != nil || !strings.Contains(string(r.Event), `"headers":[{"h":[0,200]}]`) {
			t.Errorf("first record of partition 0: Key = %q, Event = %s; want null key and header h", r.Key, r.Event)
		}
	})
}

// headersOf finds the produced headers of the record at r's partition and offset (records were
// produced in order, 20 per partition).
func headersOf(produced []*kgo.Record, r Record) []kgo.RecordHeader {
	for _, p := range produced {
		if p.Partition == r.Partition && string(p.Value) == string(r.Value) {
			return p.Headers
		}
	}
	return nil
}

func firstRecord(k *sink, p int32) Record {
	for _, b := range k.batches {
		if b.Partition == p && b.Records[0].Offset == 0 {
			return b.Records[0]
		}
	}
	return Record{}
}

func TestStartingPosition(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		for _, pos := range []string{TrimHorizon, Latest} {
			t.Run(pos, func(t *testing.T) {
				topic := c.CreateTopic(t, 1)
				c.Produce(t, records(topic, 0, 0, 5)...)
				cfg := testConfig(t, c, topic)
				cfg.StartingPosition = pos
				k := newSink()
				start(t, newSource(t, cfg), k.handler)
				// LATEST begins wherever the end is once the group is joined, so keep producing
				// markers until one arrives.
				marker := 0
				kafkatest.Eventually(t, 60*time.Second, func() error {
					c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("marker-%d", marker))})
					marker++
					k.mu.Lock()
					defer k.mu.Unlock()
					for _, v := range k.values[0] {
						if strings.HasPrefix(v, "marker-") {
							return nil
						}
					}
					return errors.New("no marker consumed yet")
				})
				k.mu.Lock()
				defer k.mu.Unlock()
				sawOld := len(k.values[0]) > 0 && k.values[0][0] == "p0-0"
				if want := pos == TrimHorizon; sawOld != want {
					t.Errorf("StartingPosition %s: first value %q, read pre-existing records = %v, want %v", pos, k.values[0][0], sawOld, want)
				}
			})
		}
	})
}

// TestConsumerGroupReuse: a group with committed offsets resumes from them whatever StartingPosition
// says; the default group ID is derived from the pipe name.
func TestConsumerGroupReuse(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 1)
		c.Produce(t, records(topic, 0, 0, 10)...)
		cfg := testConfig(t, c, topic)
		cfg.ConsumerGroupID = ""
		s := newSource(t, cfg)
		if want := "sluice-" + cfg.Pipe; s.GroupID() != want {
			t.Errorf("GroupID() = %q, want %q", s.GroupID(), want)
		}
		k := newSink()
		stop := start(t, s, k.handler)
		k.waitFor(t, 10, 60*time.Second)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		for i, pos := range []string{TrimHorizon, Latest} {
			from := 10 + 5*i
			c.Produce(t, records(topic, 0, from, 5)...)
			cfg.StartingPosition = pos
			k2 := newSink()
			stop := start(t, newSource(t, cfg), k2.handler)
			k2.waitFor(t, 5, 60*time.Second)
			time.Sleep(500 * time.Millisecond) // anything re-read would show up by now
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			checkContiguous(t, "reused group with "+pos, k2.offsets[0], int64(from), 5)
		}
		// The group is known to the cluster under the derived name.
		groups, err := c.Admin(t).ListGroups(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := groups[s.GroupID()]; !ok {
			t.Errorf("group %s not listed by the cluster (have %v)", s.GroupID(), groups.Groups())
		}
	})
}

func TestBatchSizeAndWindow(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		cases := []struct {
			name      string
			produce   int
			batchSize int
			window    time.Duration
			want      []int // batch sizes
		}{
			{"size cuts, window ends the tail", 25, 10, 2 * time.Second, []int{10, 10, 5}},
			{"batch size 1", 3, 1, 0, []int{1, 1, 1}},
			{"window gathers all", 7, 100, 2 * time.Second, []int{7}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				topic := c.CreateTopic(t, 1)
				c.Produce(t, records(topic, 0, 0, tc.produce)...)
				cfg := testConfig(t, c, topic)
				cfg.BatchSize, cfg.BatchWindow = tc.batchSize, tc.window
				k := newSink()
				stop := start(t, newSource(t, cfg), k.handler)
				k.waitFor(t, tc.produce, 60*time.Second)
				_ = stop()
				var got []int
				for _, b := range k.batches {
					got = append(got, len(b.Records))
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("batch sizes = %v, want %v", got, tc.want)
				}
				checkContiguous(t, tc.name, k.offsets[0], 0, tc.produce)
			})
		}
	})
}

// TestBatchWindowWaits: with a window, a partial batch is held until the window passes after its
// first record; records produced meanwhile join it.
func TestBatchWindowWaits(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 1)
		cfg := testConfig(t, c, topic)
		cfg.BatchWindow = 3 * time.Second
		type arrival struct {
			n  int
			at time.Time
		}
		got := make(chan arrival, 10)
		start(t, newSource(t, cfg), func(ctx context.Context, b *Batch) error {
			got <- arrival{len(b.Records), time.Now()}
			return nil
		})
		time.Sleep(2 * time.Second) // let the group settle so that the first record is read at once
		produced := time.Now()
		c.Produce(t, records(topic, 0, 0, 1)...)
		time.Sleep(time.Second)
		c.Produce(t, records(topic, 0, 1, 2)...)
		select {
		case a := <-got:
			if a.n != 3 {
				t.Errorf("first batch has %d records, want 3 (the window should gather the later two)", a.n)
			}
			if d := a.at.Sub(produced); d < cfg.BatchWindow-500*time.Millisecond {
				t.Errorf("first batch delivered %s after the first record, before the %s window", d, cfg.BatchWindow)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("no batch within 60s")
		}
	})
}

// TestMaxBatchBytes: batches are cut before their events' JSON array would pass 6 MB, and as late as
// possible; a record bigger than the limit goes alone.
func TestMaxBatchBytes(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		t.Run("6MB", func(t *testing.T) {
			topic := c.CreateTopic(t, 1)
			const n, size = 24, 700 * 1024 // 24 records of 700 KB: about 22 MB of events
			recs := make([]*kgo.Record, n)
			for i := range recs {
				v := make([]byte, size)
				for j := range v {
					v[j] = byte(i + j)
				}
				recs[i] = &kgo.Record{Topic: topic, Value: v}
			}
			for i := 0; i < n; i += 4 {
				c.Produce(t, recs[i:i+4]...)
			}
			cfg := testConfig(t, c, topic)
			cfg.BatchWindow = 5 * time.Second
			k := newSink()
			start(t, newSource(t, cfg), k.handler)
			k.waitFor(t, n, 120*time.Second)
			k.mu.Lock()
			defer k.mu.Unlock()
			checkContiguous(t, "6MB", k.offsets[0], 0, n)
			for i, b := range k.batches {
				sz := arraySize(b.Records)
				if sz > DefaultMaxBatchBytes {
					t.Errorf("batch %d: %d records, %d bytes, over %d", i, len(b.Records), sz, DefaultMaxBatchBytes)
				}
				if i < len(k.batches)-1 {
					next := k.batches[i+1].Records[0]
					if sz+1+len(next.Event) <= DefaultMaxBatchBytes {
						t.Errorf("batch %d: %d bytes, cut although the next record (%d bytes) fitted", i, sz, len(next.Event))
					}
				}
			}
			if len(k.batches) < 4 {
				t.Errorf("%d batches for ~22 MB of events, want at least 4", len(k.batches))
			}
		})
		t.Run("oversized record alone", func(t *testing.T) {
			topic := c.CreateTopic(t, 1)
			c.Produce(t, &kgo.Record{Topic: topic, Value: []byte("small")},
				&kgo.Record{Topic: topic, Value: make([]byte, 4000)},
				&kgo.Record{Topic: topic, Value: []byte("small")})
			cfg := testConfig(t, c, topic)
			cfg.MaxBatchBytes = 2000
			cfg.BatchWindow = time.Second
			k := newSink()
			start(t, newSource(t, cfg), k.handler)
			k.waitFor(t, 3, 60*time.Second)
			var got []int
			for _, b := range k.batches {
				got = append(got, len(b.Records))
			}
			if fmt.Sprint(got) != "[1 1 1]" {
				t.Errorf("batch sizes = %v, want [1 1 1]", got)
			}
		})
	})
}

func arraySize(rs []Record) int {
	n := 2 + len(rs) - 1
	for _, r := range rs {
		n += len(r.Event)
	}
	return n
}

// TestOrderingUnderConcurrency: partitions are handled concurrently, each strictly in order, one batch
// at a time.
func TestOrderingUnderConcurrency(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		const parts, per = 4, 500
		topic := c.CreateTopic(t, parts)
		for p := int32(0); p < parts; p++ {
			c.Produce(t, records(topic, p, 0, per)...)
		}
		cfg := testConfig(t, c, topic)
		cfg.BatchSize = 7
		k := newSink()
		var inFlight, maxInFlight atomic.Int32
		var perPart [parts]atomic.Int32
		var overlapInPartition atomic.Bool
		start(t, newSource(t, cfg), func(ctx context.Context, b *Batch) error {
			if perPart[b.Partition].Add(1) > 1 {
				overlapInPartition.Store(true)
			}
			defer perPart[b.Partition].Add(-1)
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				m := maxInFlight.Load()
				if n <= m || maxInFlight.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
			k.add(b)
			return nil
		})
		k.waitFor(t, parts*per, 120*time.Second)
		for p := int32(0); p < parts; p++ {
			checkContiguous(t, fmt.Sprintf("partition %d", p), k.offsets[p], 0, per)
		}
		if overlapInPartition.Load() {
			t.Error("two batches of one partition were handled at the same time")
		}
		if maxInFlight.Load() < 2 {
			t.Errorf("at most %d handler ran at once across %d partitions, want concurrency", maxInFlight.Load(), parts)
		}
	})
}

// TestCommitAfterAcknowledge: only batches whose handler returned nil are committed; a restart reads
// exactly the rest again.
func TestCommitAfterAcknowledge(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		t.Run("abandoned on shutdown", func(t *testing.T) {
			topic := c.CreateTopic(t, 1)
			c.Produce(t, records(topic, 0, 0, 30)...)
			cfg := testConfig(t, c, topic)
			cfg.BatchSize = 10
			cfg.BatchWindow = time.Second
			k := newSink()
			blocked := make(chan struct{})
			stop := start(t, newSource(t, cfg), func(ctx context.Context, b *Batch) error {
				if b.Records[0].Offset >= 20 {
					close(blocked)
					<-ctx.Done() // a delivery still retrying when the pipe stops
					return ctx.Err()
				}
				return k.handler(ctx, b)
			})
			select {
			case <-blocked:
			case <-time.After(60 * time.Second):
				t.Fatal("third batch never handed out")
			}
			if err := stop(); err != nil {
				t.Fatalf("Run() = %v, want nil", err)
			}
			checkContiguous(t, "first run", k.offsets[0], 0, 20)
			k2 := newSink()
			stop = start(t, newSource(t, cfg), k2.handler)
			k2.waitFor(t, 10, 60*time.Second)
			time.Sleep(500 * time.Millisecond)
			_ = stop()
			checkContiguous(t, "after restart", k2.offsets[0], 20, 10)
		})
		t.Run("handler error stops Run", func(t *testing.T) {
			topic := c.CreateTopic(t, 1)
			c.Produce(t, records(topic, 0, 0, 30)...)
			cfg := testConfig(t, c, topic)
			cfg.BatchSize = 10
			cfg.BatchWindow = time.Second
			k := newSink()
			boom := errors.New("target exploded")
			s := newSource(t, cfg)
			err := s.Run(context.Background(), func(ctx context.Context, b *Batch) error {
				if b.Records[0].Offset == 10 {
					return boom
				}
				return k.handler(ctx, b)
			})
			if !errors.Is(err, boom) || !strings.Contains(err.Error(), cfg.Pipe) || !strings.Contains(err.Error(), "10..19") {
				t.Fatalf("Run() = %v, want the handler's error naming the pipe and offsets 10..19", err)
			}
			checkContiguous(t, "first run", k.offsets[0], 0, 10)
			k2 := newSink()
			stop := start(t, newSource(t, cfg), k2.handler)
			k2.waitFor(t, 20, 60*time.Second)
			_ = stop()
			checkContiguous(t, "after restart", k2.offsets[0], 10, 20)
		})
	})
}

// TestRebalance: two members of one group share the partitions; every record is acknowledged exactly
// once, in order per partition, across the rebalances of the second member joining and leaving; also
// with Config.Overlap, where a revoked partition may hold a prepared batch that must be dropped, not
// acknowledged.
func TestRebalance(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		t.Run("serial", func(t *testing.T) { testRebalance(t, c, false) })
		t.Run("overlap", func(t *testing.T) { testRebalance(t, c, true) })
	})
}

func testRebalance(t *testing.T, c *kafkatest.Cluster, overlap bool) {
	const parts, per = 4, 300
	topic := c.CreateTopic(t, parts)
	cfg := testConfig(t, c, topic)
	cfg.BatchSize = 5
	cfg.Overlap = overlap
	var mu sync.Mutex
	acked := map[int32][]int64{}
	members := map[int32]map[string]bool{}
	handler := func(name string) Handler {
		return func(ctx context.Context, b *Batch) error {
			time.Sleep(2 * time.Millisecond) // keep batches in flight when rebalances strike
			if ctx.Err() != nil {
				return ctx.Err()
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range b.Records {
				acked[b.Partition] = append(acked[b.Partition], r.Offset)
			}
			if members[b.Partition] == nil {
				members[b.Partition] = map[string]bool{}
			}
			members[b.Partition][name] = true
			return nil
		}
	}
	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, o := range acked {
			n += len(o)
		}
		return n
	}
	produce := func(from, n int) {
		for p := int32(0); p < parts; p++ {
			c.Produce(t, records(topic, p, from, n)...)
		}
	}
	produce(0, 100)
	stopA := start(t, newSource(t, cfg), handler("a"))
	kafkatest.Eventually(t, 60*time.Second, func() error {
		if total() < 50 {
			return fmt.Errorf("%d acknowledged", total())
		}
		return nil
	})
	srcB := newSource(t, cfg)
	stopB := start(t, srcB, handler("b"))
	produce(100, 100)
	kafkatest.Eventually(t, 90*time.Second, func() error {
		if len(srcB.Lag()) == 0 {
			return errors.New("member b has no partitions yet")
		}
		return nil
	})
	produce(200, 100)
	kafkatest.Eventually(t, 90*time.Second, func() error {
		if n := total(); n < parts*per {
			return fmt.Errorf("%d of %d acknowledged", n, parts*per)
		}
		return nil
	})
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	both := false
	for p := int32(0); p < parts; p++ {
		checkContiguous(t, fmt.Sprintf("partition %d acknowledged offsets", p), acked[p], 0, per)
	}
	for _, m := range members {
		if m["b"] {
			both = true
		}
	}
	if !both {
		t.Errorf("member b never handled a batch; partitions by member: %v", members)
	}
}

// TestOutOfRange: a committed offset deleted by retention resumes per StartingPosition.
func TestOutOfRange(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		for _, pos := range []string{TrimHorizon, Latest} {
			t.Run(pos, func(t *testing.T) {
				topic := c.CreateTopic(t, 1)
				c.Produce(t, records(topic, 0, 0, 10)...)
				cfg := testConfig(t, c, topic)
				cfg.StartingPosition = pos
				logs := &syncBuffer{}
				cfg.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(logs, &testWriter{t: t}), nil))
				adm := c.Admin(t)
				ctx := context.Background()
				commit := kadm.Offsets{}
				commit.Add(kadm.Offset{Topic: topic, Partition: 0, At: 3, LeaderEpoch: -1})
				if _, err := adm.CommitOffsets(ctx, cfg.ConsumerGroupID, commit); err != nil {
					t.Fatalf("committing offset 3: %v", err)
				}
				del := kadm.Offsets{}
				del.Add(kadm.Offset{Topic: topic, Partition: 0, At: 6, LeaderEpoch: -1})
				if res, err := adm.DeleteRecords(ctx, del); err != nil || res.Error() != nil {
					t.Fatalf("deleting records before 6: %v %v", err, res.Error())
				}
				k := newSink()
				start(t, newSource(t, cfg), k.handler)
				marker := 0
				kafkatest.Eventually(t, 60*time.Second, func() error {
					if k.count() > 0 {
						return nil
					}
					if pos == Latest {
						c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("marker-%d", marker))})
						marker++
					}
					return errors.New("nothing consumed yet")
				})
				k.mu.Lock()
				defer k.mu.Unlock()
				first := k.offsets[0][0]
				if want := int64(6); pos == TrimHorizon && first != want {
					t.Errorf("TRIM_HORIZON after out-of-range: first offset %d, want %d (the log start)", first, want)
				}
				if pos == Latest && first < 10 {
					t.Errorf("LATEST after out-of-range: first offset %d, want >= 10 (the end)", first)
				}
				if !strings.Contains(logs.String(), "level=WARN msg=\"offset out of range") {
					t.Errorf("no warning logged for the out-of-range offset; logs:\n%s", logs.String())
				}
			})
		}
	})
}

// TestPauseWhenQueueFull: while the handler is stuck, fetching of its partition pauses; it resumes and
// everything is read once the handler moves on.
func TestPauseWhenQueueFull(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 1)
		c.Produce(t, records(topic, 0, 0, 500)...)
		cfg := testConfig(t, c, topic)
		cfg.BatchSize = 10
		cfg.MaxBatchBytes = 4000 // the queue bound is MaxBatchBytes of record data
		k := newSink()
		release := make(chan struct{})
		stuck := make(chan struct{}, 1)
		s := newSource(t, cfg)
		start(t, s, func(ctx context.Context, b *Batch) error {
			select {
			case stuck <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
			return k.handler(ctx, b)
		})
		paused := func() []int32 {
			s.mu.Lock()
			cl := s.cl
			s.mu.Unlock()
			if cl == nil {
				return nil
			}
			return cl.PauseFetchPartitions(nil)[topic]
		}
		<-stuck
		// The first fetch may have brought all 500 records into the batch being built; these are
		// fetched while the handler is stuck and fill the queue.
		c.Produce(t, records(topic, 0, 500, 500)...)
		kafkatest.Eventually(t, 60*time.Second, func() error {
			if len(paused()) != 1 {
				return errors.New("partition not paused yet")
			}
			return nil
		})
		s.mu.Lock()
		w := s.workers[0]
		s.mu.Unlock()
		w.mu.Lock()
		queued := len(w.queue)
		w.mu.Unlock()
		// The high watermark is as of the latest fetch, which may predate the end of the produce.
		if lag := s.Lag()[0]; lag <= 500 || lag > 1000 {
			t.Errorf("Lag()[0] = %d with nothing acknowledged, want 501..1000", lag)
		}
		close(release)
		k.waitFor(t, 1000, 60*time.Second)
		kafkatest.Eventually(t, 30*time.Second, func() error {
			if len(paused()) != 0 {
				return errors.New("partition still paused")
			}
			if lag := s.Lag()[0]; lag != 0 {
				return fmt.Errorf("Lag()[0] = %d after everything was acknowledged", lag)
			}
			return nil
		})
		checkContiguous(t, "after pause", k.offsets[0], 0, 1000)
		if queued > 1000 {
			t.Errorf("queue held %d records when paused, want it bounded near %d bytes of records", queued, cfg.MaxBatchBytes)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the source's concurrent loggers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"batch size too big", func(c *Config) { c.BatchSize = 10001 }, "BatchSize 10001"},
		{"negative batch size", func(c *Config) { c.BatchSize = -1 }, "BatchSize -1"},
		{"window too long", func(c *Config) { c.BatchWindow = 301 * time.Second }, "BatchWindow"},
		{"bad starting position", func(c *Config) { c.StartingPosition = "AT_TIMESTAMP" }, "StartingPosition"},
		{"no topic", func(c *Config) { c.Topic = "" }, "Topic"},
		{"no brokers", func(c *Config) { c.Brokers = nil }, "Brokers"},
		{"long group", func(c *Config) { c.ConsumerGroupID = strings.Repeat("g", 201) }, "ConsumerGroupID"},
		{"session timeout too short", func(c *Config) { c.SessionTimeout = time.Second }, "SessionTimeout 1s"},
		{"session timeout too long", func(c *Config) { c.SessionTimeout = time.Hour }, "SessionTimeout 1h"},
		{"instance ID with a slash", func(c *Config) { c.InstanceID = "a/b" }, "InstanceID"},
		{"long instance ID", func(c *Config) { c.InstanceID = strings.Repeat("i", 250) }, "InstanceID"},
	}
	for _, tc := range cases {
		cfg := Config{Pipe: "p", Brokers: []string{"127.0.0.1:1"}, Topic: "t"}
		tc.mutate(&cfg)
		_, err := New(context.Background(), cfg)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) error = %v, want ErrConfig naming %s", tc.name, err, tc.want)
		}
	}
	cfg := Config{Pipe: "p", Brokers: []string{"x:1"}, Topic: "t"}
	if err := cfg.setDefaults(); err != nil || cfg.BatchSize != 100 || cfg.StartingPosition != Latest || cfg.MaxBatchBytes != 6*1024*1024 {
		t.Errorf("defaults = BatchSize %d, StartingPosition %s, MaxBatchBytes %d, err %v; want 100, LATEST, 6 MB",
			cfg.BatchSize, cfg.StartingPosition, cfg.MaxBatchBytes, err)
	}
}

// TestRevokeCancelsInFlight: when a partition moves to a new member, the old member's in-flight handler
// sees its context cancelled, its abandoned batch is not committed, and its acknowledged batch is
// committed by the revocation itself (the periodic commit is set far out), so the new member starts
// exactly at the abandoned batch.
func TestRevokeCancelsInFlight(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 2)
		c.Produce(t, append(records(topic, 0, 0, 30), records(topic, 1, 0, 30)...)...)
		cfg := testConfig(t, c, topic)
		cfg.BatchSize = 10
		cfg.BatchWindow = time.Second
		cfg.CommitInterval = time.Hour
		var mu sync.Mutex
		blocked := map[int32]bool{}
		revoked := make(chan int32, 2)
		stopA := start(t, newSource(t, cfg), func(ctx context.Context, b *Batch) error {
			if b.Records[0].Offset == 0 {
				return nil // the first batch of each partition is acknowledged
			}
			mu.Lock()
			blocked[b.Partition] = true
			mu.Unlock()
			<-ctx.Done() // a delivery retrying until the partition is taken away
			revoked <- b.Partition
			return ctx.Err()
		})
		kafkatest.Eventually(t, 60*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(blocked) < 2 {
				return fmt.Errorf("member a is blocked on %d of 2 partitions", len(blocked))
			}
			return nil
		})
		k := newSink()
		srcB := newSource(t, cfg)
		stopB := start(t, srcB, k.handler)
		var moved int32
		select {
		case moved = <-revoked:
		case <-time.After(90 * time.Second):
			t.Fatal("no partition of member a was revoked after member b joined")
		}
		kafkatest.Eventually(t, 60*time.Second, func() error {
			k.mu.Lock()
			defer k.mu.Unlock()
			if len(k.offsets[moved]) < 20 {
				return fmt.Errorf("member b acknowledged %d records of partition %d", len(k.offsets[moved]), moved)
			}
			return nil
		})
		_ = stopB()
		_ = stopA()
		checkContiguous(t, fmt.Sprintf("member b on moved partition %d", moved), k.offsets[moved], 10, 20)
	})
}

// TestStuckPartitionDoesNotBlockOthers: a handler stuck on one partition (a target retrying forever)
// fills that partition's queue; the source pauses it and the other partitions go on.
func TestStuckPartitionDoesNotBlockOthers(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 2)
		cfg := testConfig(t, c, topic)
		cfg.BatchSize = 10
		cfg.MaxBatchBytes = 4000 // a small queue bound, so that partition 0 fills it quickly
		k := newSink()
		start(t, newSource(t, cfg), func(ctx context.Context, b *Batch) error {
			if b.Partition == 0 {
				<-ctx.Done()
				return ctx.Err()
			}
			return k.handler(ctx, b)
		})
		for i := 0; i < 5; i++ {
			c.Produce(t, append(records(topic, 0, i*200, 200), records(topic, 1, i*200, 200)...)...)
		}
		k.waitFor(t, 1000, 60*time.Second)
		checkContiguous(t, "partition 1 beside a stuck partition 0", k.offsets[1], 0, 1000)
	})
}

// TestCloseAbortsBlockedJoin: a member that stopped taking part in the group (it holds rebalances and never
// re-joins) keeps the source's join waiting for up to the rebalance timeout. Close with a deadline must end
// Run by then: it aborts the client (Abort), so that the blocked join, commit and leave give up, and it
// returns only once Run has (no goroutine outlives it; TestMain checks).
func TestCloseAbortsBlockedJoin(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	c.Produce(t, records(topic, 0, 0, 1)...)
	cfg := testConfig(t, c, topic)
	stuck := c.Client(t, kgo.ConsumerGroup(cfg.ConsumerGroupID), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.BlockRebalanceOnPoll(), kgo.RebalanceTimeout(60*time.Second))
	t.Cleanup(stuck.AllowRebalance) // runs before the client's own cleanup closes it
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil { // joined and holding the partition: it now blocks the group's rebalances
		if len(stuck.PollFetches(ctx).Records()) > 0 {
			break
		}
	}

	s := newSource(t, cfg)
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	errc := make(chan error, 1)
	go func() { errc <- s.Run(runCtx, newSink().handler) }()
	admin := c.Admin(t)
	kafkatest.Eventually(t, 20*time.Second, func() error {
		gs, err := admin.DescribeGroups(ctx, cfg.ConsumerGroupID)
		if err != nil {
			return err
		}
		if st := gs[cfg.ConsumerGroupID].State; st != "PreparingRebalance" {
			return fmt.Errorf("group is %s, want PreparingRebalance", st)
		}
		return nil
	})

	closeCtx, cancelClose := context.WithTimeout(context.Background(), time.Second)
	defer cancelClose()
	start := time.Now()
	err := s.Close(closeCtx)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close during a blocked join = %v, want the deadline's error", err)
	}
	if took > 5*time.Second {
		t.Errorf("Close with a 1s deadline took %v during a blocked join, want about 1s", took)
	}
	// Run's internals are done when Close returns (runDone); Run itself returns right after, on its own
	// goroutine, so allow it a moment under a loaded scheduler.
	select {
	case <-errc:
	case <-time.After(2 * time.Second):
		t.Error("Run had not returned 2s after Close did")
	}
}

// TestBusyPartitionIsNotPaused: a handler that is slow but keeps returning batches (a target taking 50 ms
// a batch) holds a full queue for longer than stallLimit. Its partition must go on being fetched, not be
// paused: a pause drops franz-go's buffered data, and the resumed partition's next fetch then waits for
// the fetch in flight for the other partitions, up to the broker's fetch wait (5 s) when they have caught
// up, which made the same run take 2 s one time and 7 s the next. A stuck handler is still paused
// (TestPauseWhenQueueFull).
func TestBusyPartitionIsNotPaused(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 2)
		c.Produce(t, records(topic, 0, 0, 200)...)
		c.Produce(t, records(topic, 1, 0, 1)...)
		cfg := testConfig(t, c, topic)
		cfg.BatchSize = 10
		cfg.MaxBatchBytes = 4000 // the queue is full at 4000 bytes of record data, about 50 of these
		k := newSink()
		busy := make(chan struct{}, 1)
		s := newSource(t, cfg)
		start(t, s, func(ctx context.Context, b *Batch) error {
			if b.Partition == 0 {
				select {
				case busy <- struct{}{}:
				default:
				}
				select {
				case <-time.After(50 * time.Millisecond):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return k.handler(ctx, b)
		})
		<-busy
		began := time.Now()
		// Fetched while the worker works through the first 200 (about a second): they fill its queue.
		c.Produce(t, records(topic, 0, 200, 200)...)
		var paused atomic.Bool
		done := make(chan struct{})
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			for {
				select {
				case <-done:
					return
				case <-time.After(10 * time.Millisecond):
				}
				s.mu.Lock()
				cl := s.cl
				s.mu.Unlock()
				if cl != nil && len(cl.PauseFetchPartitions(nil)[topic]) > 0 {
					paused.Store(true)
				}
			}
		}()
		// Produced once a pause would have happened (stallLimit after the queue filled): fetched only
		// after the worker took up its queue, which a pause delayed by the fetch wait of partition 1.
		time.Sleep(stallLimit + 200*time.Millisecond)
		c.Produce(t, records(topic, 0, 400, 200)...)
		k.waitFor(t, 601, 60*time.Second)
		t.Logf("600 records at 50 ms per batch of 10 (3 s of handling) took %v", time.Since(began).Round(time.Millisecond))
		close(done)
		<-watched
		if paused.Load() {
			t.Error("partition 0 was paused while its handler kept returning batches")
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		checkContiguous(t, "busy partition 0", k.offsets[0], 0, 600)
	})
}
