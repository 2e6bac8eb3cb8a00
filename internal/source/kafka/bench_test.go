package kafka

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

const (
	benchRecords    = 400_000
	benchPartitions = 4
	benchValueSize  = 1024
)

// BenchmarkConsume1KB compares the source (records consumed, turned into Pipes events, batched and
// acknowledged) with a bare franz-go poll loop reading the same topic in the same run. Every iteration
// reads the whole topic once with each of: the bare loop, the source, and the source with
// ReuseEventBuffers, interleaved (in an order rotating from one iteration to the next) so that machine
// load hits all three alike. Both read with franz-go's default fetch options. Rates are measured from the
// first record received to the last, so connection and group-join time count for none; the metrics are
// the medians over the iterations, and ratio = source / bare. The cpu-ns/record metrics are this
// process's CPU time (user and system, kfake included when it serves) per record over a whole read,
// connecting included, which shows how much of the difference is work rather than waiting.
//
//	go test ./internal/source/kafka -run XXX -bench Consume1KB -benchtime 7x
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
			modes := []struct {
				name      string
				read      func() float64
				rate, cpu []float64
			}{
				{name: "bare", read: func() float64 { return benchBare(b, c, topic) }},
				{name: "source", read: func() float64 { return benchSource(b, c, topic, false) }},
				{name: "reuse", read: func() float64 { return benchSource(b, c, topic, true) }},
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range modes {
					m := &modes[(i+j)%len(modes)]
					before := cpuTime(b)
					m.rate = append(m.rate, m.read())
					m.cpu = append(m.cpu, float64((cpuTime(b)-before).Nanoseconds())/benchRecords)
				}
			}
			for _, m := range modes {
				b.ReportMetric(median(m.rate), m.name+"-records/s")
				b.ReportMetric(median(m.cpu), m.name+"-cpu-ns/record")
			}
			mb := median(modes[0].rate)
			b.ReportMetric(median(modes[1].rate)/mb, "ratio")
			b.ReportMetric(median(modes[2].rate)/mb, "reuse-ratio")
		})
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
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

// benchBare reads the whole topic once with a plain poll loop (no group, no processing).
func benchBare(b *testing.B, c *kafkatest.Cluster, topic string) float64 {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
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
	return float64(benchRecords) / time.Since(first).Seconds()
}

// benchSource reads the whole topic once with the source and a new consumer group; reuse sets
// Config.ReuseEventBuffers.
func benchSource(b *testing.B, c *kafkatest.Cluster, topic string, reuse bool) float64 {
	cfg := testConfig(b, c, topic)
	cfg.ConsumerGroupID = fmt.Sprintf("bench-%s-%d", topic, time.Now().UnixNano())
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.ClientOpts = nil
	cfg.ReuseEventBuffers = reuse
	s := newSource(b, cfg)
	var n, first atomic.Int64
	all := make(chan time.Time, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
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
	var elapsed time.Duration
	select {
	case end := <-all:
		elapsed = end.Sub(time.Unix(0, first.Load()))
	case <-time.After(5 * time.Minute):
		b.Fatalf("source read %d of %d records in 5 minutes", n.Load(), benchRecords)
	}
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	return float64(benchRecords) / elapsed.Seconds()
}
