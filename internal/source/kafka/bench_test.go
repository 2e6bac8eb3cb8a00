package kafka

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

const (
	benchRecords    = 100_000
	benchPartitions = 4
	benchValueSize  = 1024
)

// BenchmarkConsume1KB compares the source (records consumed, turned into Pipes events, batched and
// acknowledged) with a bare franz-go poll loop reading the same topic in the same run. Each reports
// records/s measured from the first record received to the last, so connection and group-join time
// count for neither; the parent logs source/bare.
//
//	go test ./internal/source/kafka -run XXX -bench Consume1KB -benchtime 3x
func BenchmarkConsume1KB(b *testing.B) {
	for _, name := range []string{"kfake", "kafka"} {
		b.Run(name, func(b *testing.B) {
			var c *kafkatest.Cluster
			if name == "kfake" {
				c = kafkatest.Kfake(b)
			} else {
				c = kafkatest.Real(b)
			}
			topic := c.CreateTopic(b, benchPartitions)
			produceBench(b, c, topic)
			var bare, src float64
			b.Run("bare-poll-loop", func(b *testing.B) { bare = benchBare(b, c, topic) })
			b.Run("source", func(b *testing.B) { src = benchSource(b, c, topic) })
			if bare > 0 {
				b.Logf("%s: source %.0f records/s, bare poll loop %.0f records/s, ratio %.2f", name, src, bare, src/bare)
			}
		})
	}
}

func produceBench(b testing.TB, c *kafkatest.Cluster, topic string) {
	b.Helper()
	cl := c.Client(b, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(5*time.Millisecond))
	value := make([]byte, benchValueSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var failed atomic.Value
	done := make(chan struct{}, 1024)
	for i := 0; i < benchRecords; i++ {
		r := &kgo.Record{Key: []byte(fmt.Sprintf("key-%d", i)), Value: value, Partition: int32(i % benchPartitions)}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Store(err)
			}
		})
	}
	close(done)
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if err, _ := failed.Load().(error); err != nil {
		b.Fatalf("producing the benchmark topic: %v", err)
	}
}

// benchBare reads the whole topic with a plain poll loop (no group, no processing) b.N times.
func benchBare(b *testing.B, c *kafkatest.Cluster, topic string) float64 {
	var total time.Duration
	for i := 0; i < b.N; i++ {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap...), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		var first time.Time
		for n < benchRecords {
			fs := cl.PollFetches(context.Background())
			if err := fs.Err0(); err != nil {
				b.Fatal(err)
			}
			if first.IsZero() && fs.NumRecords() > 0 {
				first = time.Now()
			}
			n += fs.NumRecords()
		}
		total += time.Since(first)
		cl.Close()
	}
	rate := float64(benchRecords*b.N) / total.Seconds()
	b.ReportMetric(rate, "records/s")
	return rate
}

// benchSource reads the whole topic with the source, a new consumer group each time, b.N times.
func benchSource(b *testing.B, c *kafkatest.Cluster, topic string) float64 {
	var total time.Duration
	for i := 0; i < b.N; i++ {
		cfg := testConfig(b, c, topic)
		cfg.ConsumerGroupID = fmt.Sprintf("bench-%s-%d-%d", topic, i, time.Now().UnixNano())
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		cfg.ClientOpts = nil
		s := newSource(b, cfg)
		var n atomic.Int64
		var first atomic.Int64
		all := make(chan time.Time, 1)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			errc <- s.Run(ctx, func(_ context.Context, bt *Batch) error {
				first.CompareAndSwap(0, time.Now().UnixNano())
				if n.Add(int64(len(bt.Records))) == benchRecords {
					all <- time.Now()
				}
				return nil
			})
		}()
		select {
		case end := <-all:
			total += end.Sub(time.Unix(0, first.Load()))
		case <-time.After(5 * time.Minute):
			b.Fatalf("source read %d of %d records in 5 minutes", n.Load(), benchRecords)
		}
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
	rate := float64(benchRecords*b.N) / total.Seconds()
	b.ReportMetric(rate, "records/s")
	return rate
}
