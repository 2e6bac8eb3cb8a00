package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
)

// loadTarget throttles (429) while throttle is set, and records how many Deliver calls overlap.
type loadTarget struct {
	throttle  atomic.Bool
	mu        sync.Mutex
	cur, peak int
	delivered atomic.Int64
}

func (l *loadTarget) Deliver(ctx context.Context, b plugin.Batch) error {
	events := b.Payloads
	l.mu.Lock()
	l.cur++
	l.peak = max(l.peak, l.cur)
	l.mu.Unlock()
	defer func() { l.mu.Lock(); l.cur--; l.mu.Unlock() }()
	time.Sleep(5 * time.Millisecond) // let partitions overlap
	if l.throttle.Load() {
		return &plugin.ThrottledError{Err: errors.New("429 Too Many Requests"), RetryAfter: 10 * time.Millisecond}
	}
	l.delivered.Add(int64(len(events)))
	return nil
}

// TestConcurrencyAdaptsToTheTarget: executions run in parallel up to one per partition; a throttling target
// brings the pipe down to one execution at a time, and it grows again once the target recovers (the
// "fewer consumers when the target is overloaded" of Pipes' Kafka scaling).
func TestConcurrencyAdaptsToTheTarget(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		const partitions, n = 4, 200
		topic := c.CreateTopic(t, partitions)
		recs, _ := orderRecords(topic, n, partitions)
		c.Produce(t, recs...)

		tgt := &loadTarget{}
		tgt.throttle.Store(true)
		reg := plugin.NewRegistry()
		reg.AddTarget(fileSpec(tgt))
		def := definition(t, c, topic, spec{batchSize: 1, target: "file:///unused"})
		r := start(t, def, deps(t, reg))

		kafkatest.Eventually(t, 30*time.Second, func() error {
			if got := r.p.Concurrency(); got != 1 {
				return fmt.Errorf("Concurrency() = %d while the target throttles, want 1", got)
			}
			return nil
		})
		tgt.throttle.Store(false)
		waitCommitted(t, c, groupOf(def), topic, endOffsets(n, partitions))
		if got := r.p.Concurrency(); got < 2 {
			t.Errorf("Concurrency() = %d after %d successes, want it to have grown back (>= 2)", got, n)
		}
		tgt.mu.Lock()
		peak := tgt.peak
		tgt.mu.Unlock()
		if peak > partitions {
			t.Errorf("peak concurrent Deliver calls = %d, want <= %d (one per partition)", peak, partitions)
		}
		if got := tgt.delivered.Load(); got < n {
			t.Errorf("delivered %d events, want >= %d", got, n)
		}
	})
}
