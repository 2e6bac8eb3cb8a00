package kafka

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestCommitAfterEveryBatch guards the commit after every acknowledged batch: with the periodic commit
// set far out, the group's committed offset of each partition reaches the end of the acknowledged
// batches while the source keeps running, so a crash now would replay nothing.
func TestCommitAfterEveryBatch(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 2)
		c.Produce(t, append(records(topic, 0, 0, 55), records(topic, 1, 0, 37)...)...)
		cfg := testConfig(t, c, topic)
		cfg.BatchSize = 10
		cfg.CommitInterval = time.Hour
		k := newSink()
		start(t, newSource(t, cfg), k.handler)
		k.waitFor(t, 92, 60*time.Second)
		adm := c.Admin(t)
		want := map[int32]int64{0: 55, 1: 37}
		kafkatest.Eventually(t, 10*time.Second, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			offs, err := adm.FetchOffsets(ctx, cfg.ConsumerGroupID)
			if err != nil {
				return fmt.Errorf("fetching the committed offsets: %w", err)
			}
			for p, w := range want {
				o, ok := offs.Lookup(topic, p)
				if !ok || o.At != w {
					return fmt.Errorf("partition %d: committed offset %d (found %v), want %d", p, o.At, ok, w)
				}
			}
			return nil
		})
	})
}

// TestCommitCoalesces guards the one-commit-in-flight rule: batches acknowledged faster than commits
// return are carried by the next commit, so there are far fewer commits than batches, and the last
// commit still carries the newest offsets.
func TestCommitCoalesces(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	c.Produce(t, records(topic, 0, 0, 2000)...)
	cfg := testConfig(t, c, topic)
	cfg.BatchSize = 1 // 2000 batches, acknowledged as fast as the worker cuts them
	cfg.CommitInterval = time.Hour
	var commits commitCounter
	cfg.ClientOpts = append(cfg.ClientOpts, kgo.WithHooks(&commits))
	k := newSink()
	stop := start(t, newSource(t, cfg), k.handler)
	k.waitFor(t, 2000, 60*time.Second)
	adm := c.Admin(t)
	kafkatest.Eventually(t, 10*time.Second, func() error {
		offs, err := adm.FetchOffsets(context.Background(), cfg.ConsumerGroupID)
		if err != nil {
			return err
		}
		if o, _ := offs.Lookup(topic, 0); o.At != 2000 {
			return fmt.Errorf("committed offset %d, want 2000", o.At)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	n := commits.n.Load()
	if n >= 2000 {
		t.Errorf("%d commits for 2000 batches, want fewer (coalesced)", n)
	}
	t.Logf("%d commits for 2000 batches", n)
}

// commitCounter counts the OffsetCommit requests a client writes.
type commitCounter struct{ n atomic.Int64 }

func (c *commitCounter) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == kmsg.OffsetCommit.Int16() && err == nil {
		c.n.Add(1)
	}
}
