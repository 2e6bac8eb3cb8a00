package cluster

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// members runs, for each node the cluster assigns the pipe "p" to, a real consumer in the pipe's
// group, as the supervisor runs a pipe member: it processes each record (taking delay), counts it
// as delivered and commits after processing. While throttling is set, each batch counts as throttled
// by the target on that node (what sluice_pipe_executions_throttled_total counts).
type members struct {
	c     *kafkatest.Cluster
	topic string
	group string

	delay      atomic.Int64 // per record, in microseconds
	throttling atomic.Bool

	mu        sync.Mutex
	running   map[string]func() // node -> stop
	delivered map[string]int    // "partition/offset" -> deliveries
	throttled map[string]float64
	err       error // the first member that could not start
}

func (m *members) apply(ctx context.Context, node string, pipes []string) {
	m.mu.Lock()
	stop, ok := m.running[node]
	m.mu.Unlock()
	want := slices.Contains(pipes, "p")
	switch {
	case want && !ok:
		mctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); m.run(mctx, node) }()
		m.mu.Lock()
		m.running[node] = func() { cancel(); <-done }
		m.mu.Unlock()
	case !want && ok:
		stop()
		m.mu.Lock()
		delete(m.running, node)
		m.mu.Unlock()
	}
}

func (m *members) run(ctx context.Context, node string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(m.c.Bootstrap...), kgo.ConsumerGroup(m.group), kgo.ConsumeTopics(m.topic),
		kgo.ClientID(node), kgo.SessionTimeout(6*time.Second),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
			_ = cl.CommitMarkedOffsets(ctx)
		}),
		kgo.AutoCommitMarks())
	if err != nil {
		m.mu.Lock()
		m.err = fmt.Errorf("member on %s: %w", node, err)
		m.mu.Unlock()
		return
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = cl.CommitMarkedOffsets(cctx)
		cl.CloseAllowingRebalance()
	}()
	for ctx.Err() == nil {
		fs := cl.PollRecords(ctx, 20)
		recs := fs.Records()
		for _, r := range recs {
			time.Sleep(time.Duration(m.delay.Load()) * time.Microsecond)
			m.mu.Lock()
			m.delivered[strconv.Itoa(int(r.Partition))+"/"+strconv.FormatInt(r.Offset, 10)]++
			m.mu.Unlock()
			cl.MarkCommitRecords(r)
		}
		if len(recs) > 0 {
			if m.throttling.Load() {
				m.mu.Lock()
				m.throttled[node]++
				m.mu.Unlock()
			}
			_ = cl.CommitMarkedOffsets(ctx)
		}
	}
}

func (m *members) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.running)
}

// TestScalingByLag: a backlog on a 12-partition topic grows the pipe from 1 member to one on each of
// the 3 nodes; once idle it shrinks back to 1; grown again by a backlog, a target that keeps
// throttling shrinks it although the lag is high. Every record produced is delivered.
func TestScalingByLag(t *testing.T) {
	each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 12)
		m := &members{c: c, topic: topic, group: topic + "-group", running: map[string]func(){},
			delivered: map[string]int{}, throttled: map[string]float64{}}
		t.Cleanup(func() {
			m.mu.Lock()
			stops := m.running
			m.running = map[string]func(){}
			m.mu.Unlock()
			for _, s := range stops {
				s()
			}
		})
		adm := c.Admin(t)
		f := &fleet{t: t, c: c, name: "sluice-" + kafkatest.TopicName(t), session: sessionFor(c), cfg: func(cfg *Config) {
			cfg.ScaleInterval = time.Second
			cfg.PlaceInterval = 250 * time.Millisecond
			cfg.StatusInterval = 250 * time.Millisecond
			cfg.Policy = ScalePolicy{IdleLag: 10, IdleChecks: 2, HighLag: 200}
			cfg.Pipes = func(context.Context) ([]Pipe, error) { return []Pipe{{Name: "p"}}, nil }
			cfg.Lag = func(ctx context.Context, pipe string) (int64, int, error) { return LagOf(ctx, adm, m.topic, m.group) }
			node := cfg.NodeID
			cfg.Status = func() NodeStatus {
				m.mu.Lock()
				defer m.mu.Unlock()
				return NodeStatus{Throttled: map[string]float64{"p": m.throttled[node]}}
			}
		}}
		nodes := []*testNode{f.start("n1", m.apply), f.start("n2", m.apply), f.start("n3", m.apply)}
		waitOneLeader(t, 30*time.Second, nodes...)
		waitNodes(t, 30*time.Second, nodes...)
		waitMembers := func(what string, want int, d time.Duration) {
			t.Helper()
			start := time.Now()
			kafkatest.Eventually(t, d, func() error {
				if got := m.count(); got != want {
					return fmt.Errorf("%s: %d members, want %d", what, got, want)
				}
				return nil
			})
			t.Logf("%s: %d members after %s", what, want, time.Since(start).Round(100*time.Millisecond))
		}
		waitMembers("start", 1, 20*time.Second)

		produced := 0
		produce := func(n int) {
			recs := make([]*kgo.Record, n)
			for i := range recs {
				recs[i] = &kgo.Record{Topic: topic, Partition: int32(i % 12), Value: []byte(strconv.Itoa(produced + i))}
			}
			c.Produce(t, recs...)
			produced += n
		}
		// Phase 1: a backlog a member drains at ~500 records/s grows the pipe to one member per node.
		m.delay.Store(2000)
		produce(12000)
		waitMembers("backlog", 3, 30*time.Second)
		// Phase 2: fast members drain it; the idle pipe shrinks back to one member.
		m.delay.Store(0)
		waitMembers("idle", 1, 30*time.Second)
		// Phase 3: a new backlog grows it again; then the target throttles and the pipe shrinks.
		m.delay.Store(5000)
		produce(12000)
		waitMembers("backlog again", 3, 30*time.Second)
		m.throttling.Store(true)
		waitMembers("throttled", 1, 30*time.Second)
		m.throttling.Store(false)
		m.delay.Store(0)
		kafkatest.Eventually(t, 60*time.Second, func() error {
			lag, _, err := LagOf(context.Background(), adm, topic, m.group)
			if err != nil || lag != 0 {
				return fmt.Errorf("lag %d, err %v", lag, err)
			}
			return nil
		})
		m.mu.Lock()
		if m.err != nil {
			t.Error(m.err)
		}
		got, dups := len(m.delivered), 0
		for _, n := range m.delivered {
			dups += n - 1
		}
		m.mu.Unlock()
		if got != produced {
			t.Errorf("delivered %d distinct records, want %d (lost %d)", got, produced, produced-got)
		}
		t.Logf("delivered %d records, %d redelivered after rebalances", got, dups)
		if os.Getenv("SLUICE_CLUSTER_DEBUG") != "" {
			t.Log(nodes[0].Assignments())
		}
	})
}
