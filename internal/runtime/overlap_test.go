package runtime_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
)

// slowTarget is a target that takes a while per call and counts the calls in flight per partition: a
// delivery during which the source prepares the partition's next batch (kafka.Config.Overlap).
type slowTarget struct {
	recorder
	delay time.Duration
	mu    sync.Mutex
	busy  map[string]bool // partition -> a call is in flight
	twice []string
}

func (s *slowTarget) Deliver(ctx context.Context, b plugin.Batch) error {
	part := "?"
	if len(b.Payloads) > 0 {
		var m struct{ Partition json.Number }
		if err := json.Unmarshal(b.Payloads[0], &m); err == nil {
			part = m.Partition.String()
		}
	}
	s.mu.Lock()
	if s.busy[part] {
		s.twice = append(s.twice, part)
	}
	s.busy[part] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.busy[part] = false
		s.mu.Unlock()
	}()
	time.Sleep(s.delay)
	return s.recorder.Deliver(ctx, b)
}

// TestOverlapDelivery runs filter + target template pipes with the next batch prepared during the current
// one's delivery (the default) and without (Deps.NoOverlap). Either way every matching record is delivered
// exactly once with its own rendered payload, a partition's batches reach the target one at a time and in
// offset order, failed attempts are delivered again rendered the same, and everything is committed.
func TestOverlapDelivery(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		for _, noOverlap := range []bool{false, true} {
			t.Run(fmt.Sprintf("NoOverlap=%v", noOverlap), func(t *testing.T) {
				const n, parts = 120, 3
				topic := c.CreateTopic(t, parts)
				recs, orders := orderRecords(topic, n, parts)
				c.Produce(t, recs...)
				tgt := &slowTarget{delay: 10 * time.Millisecond, busy: map[string]bool{}}
				tgt.fail = func(call int) error {
					if call%7 == 3 {
						return errors.New("503 from target")
					}
					return nil
				}
				def := definition(t, c, topic, spec{
					filters:        []string{paidOver50},
					batchSize:      4,
					target:         "file:///unused",
					targetTemplate: `{"partition": <$.partition>, "offset": <$.offset>, "id": <$.value.orderId>, "order": <$.value>, "key": "<$.key>"}`, // a text key stays base64
				})
				d := deps(t, fileRegistry(tgt))
				d.NoOverlap = noOverlap
				start(t, def, d)
				waitCommitted(t, c, groupOf(def), topic, endOffsets(n, parts))

				// The calls per partition, in call order; every 7th call from the 3rd failed, and the
				// partition's next call retries the same records, rendered again.
				type call struct {
					failed   bool
					payloads []string
				}
				byPart := map[string][]call{}
				for i, c := range tgt.snapshot() {
					p := field(t, c[0], "partition")
					byPart[p] = append(byPart[p], call{failed: i%7 == 2, payloads: c})
				}
				delivered := map[string][]int{} // partition -> offsets, in delivery order
				seen := map[string]int{}
				for p, calls := range byPart {
					for i, c := range calls {
						if c.failed {
							if i+1 >= len(calls) || !slices.Equal(calls[i+1].payloads, c.payloads) {
								t.Fatalf("partition %s: call %d failed and the next call does not retry it alike", p, i)
							}
							continue
						}
						for _, line := range c.payloads {
							var m struct {
								Partition, Offset json.Number
								ID, Key           string
								Order             json.RawMessage
							}
							if err := json.Unmarshal([]byte(line), &m); err != nil {
								t.Fatalf("payload %s: %v", line, err)
							}
							off, _ := strconv.Atoi(m.Offset.String())
							pn, _ := strconv.Atoi(m.Partition.String())
							i := off*parts + pn // records go round-robin over the partitions
							if i >= n || orders[i].OrderID != m.ID || m.Key != base64.StdEncoding.EncodeToString([]byte(m.ID)) || string(m.Order) != string(recs[i].Value) {
								t.Fatalf("payload %s is not the rendering of record %d (%s)", line, i, recs[min(i, n-1)].Value)
							}
							delivered[p] = append(delivered[p], off)
							seen[m.ID]++
						}
					}
				}
				for _, o := range orders {
					if want := map[bool]int{true: 1, false: 0}[o.Status == "PAID"]; seen[o.OrderID] != want {
						t.Errorf("order %s (%s) delivered %d times, want %d", o.OrderID, o.Status, seen[o.OrderID], want)
					}
				}
				for p, offs := range delivered {
					for i := 1; i < len(offs); i++ {
						if offs[i] <= offs[i-1] {
							t.Fatalf("partition %s: offset %d delivered after %d", p, offs[i], offs[i-1])
						}
					}
				}
				tgt.mu.Lock()
				defer tgt.mu.Unlock()
				if len(tgt.twice) > 0 {
					t.Errorf("two deliveries of one partition at once (partitions %v)", tgt.twice)
				}
			})
		}
	})
}

// fileRegistry is a registry whose file kind builds t.
func fileRegistry(t plugin.Target) *plugin.Registry {
	reg := plugin.NewRegistry()
	reg.AddTarget(fileSpec(t))
	return reg
}
