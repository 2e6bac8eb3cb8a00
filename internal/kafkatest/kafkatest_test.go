package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRoundTrip proves CreateTopic, Produce and Client on both clusters:
// records come back from every partition in the order they were written.
func TestRoundTrip(t *testing.T) {
	Each(t, func(t *testing.T, c *Cluster) {
		topic := c.CreateTopic(t, 3)
		var recs []*kgo.Record
		for p := int32(0); p < 3; p++ {
			for i := 0; i < 5; i++ {
				recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(fmt.Sprintf("p%d-%d", p, i))})
			}
		}
		c.Produce(t, recs...)
		got := consume(t, c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())), len(recs))
		for p := int32(0); p < 3; p++ {
			for i, v := range got[p] {
				if want := fmt.Sprintf("p%d-%d", p, i); v != want {
					t.Errorf("partition %d record %d = %q, want %q", p, i, v, want)
				}
			}
			if len(got[p]) != 5 {
				t.Errorf("partition %d: got %d records, want 5", p, len(got[p]))
			}
		}
	})
}

// consume polls cl until n records arrived and returns their values by
// partition.
func consume(t *testing.T, cl *kgo.Client, n int) map[int32][]string {
	t.Helper()
	got := map[int32][]string{}
	total := 0
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for total < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", total, n, err)
		}
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("fetching %s/%d: %v", topic, p, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Partition] = append(got[r.Partition], string(r.Value))
			total++
		})
	}
	return got
}

func TestEventually(t *testing.T) {
	calls := 0
	Eventually(t, 5*time.Second, func() error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if calls != 3 {
		t.Errorf("Eventually called f %d times, want 3", calls)
	}
}

func TestTopicNameUnique(t *testing.T) {
	a, b := TopicName(t), TopicName(t)
	if a == b {
		t.Errorf("TopicName returned %q twice", a)
	}
}
