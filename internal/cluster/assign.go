package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Keys of the assignments topic.
const (
	keyLeader = "leader" // the leader's claim: LeaderRecord
	keyPipe   = "pipe/"  // + pipe name: Assignment; a tombstone when the pipe has no members anywhere
	keyNode   = "node/"  // + node ID: NodeStatus
)

// LeaderRecord is written by a node when it becomes leader; its Epoch fences older leaders.
type LeaderRecord struct {
	Node  string `json:"node"`
	Epoch int64  `json:"epoch"`
}

// Assignment says which nodes run a member of a pipe.
type Assignment struct {
	Pipe   string   `json:"pipe"`
	Nodes  []string `json:"nodes"`
	Epoch  int64    `json:"epoch"`  // the writing leader's epoch
	Leader string   `json:"leader"` // the writing leader's node ID
	Reason string   `json:"reason"` // the last scaling decision's reason
}

// NodeStatus is what a node tells the leader about itself.
type NodeStatus struct {
	Node string `json:"node"`
	// Throttled counts, per pipe, the executions the target throttled on this node since it started
	// (cumulative; the leader takes differences between checks).
	Throttled map[string]float64 `json:"throttled,omitempty"`
	// Partitions counts, per pipe, the source partitions this node's member owns.
	Partitions map[string]int `json:"partitions,omitempty"`
	Time       time.Time      `json:"time"`
}

// board is one node's view of the assignments topic, read from its start by a plain consumer (no
// group: every node reads every record). Records from a leader older than the newest claim are
// ignored.
type board struct {
	cl    *kgo.Client
	topic string
	log   *slog.Logger

	mu      sync.Mutex
	epoch   int64
	leader  string
	pipes   map[string]Assignment
	nodes   map[string]NodeStatus
	changed chan struct{}
	offset  int64 // the next offset to read
}

func newBoard(ctx context.Context, opts []kgo.Opt, adm *kadm.Client, prefix string, log *slog.Logger) (*board, error) {
	topic := prefix + "-assignments"
	compact := "compact"
	if err := ensureTopic(ctx, adm, topic, map[string]*string{"cleanup.policy": &compact}); err != nil {
		return nil, err
	}
	all := append(append([]kgo.Opt{}, opts...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(30*time.Second), // a node cut off from Kafka gives up its writes
	)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("reading the cluster topic %s: %w", topic, err)
	}
	return &board{cl: cl, topic: topic, log: log, pipes: map[string]Assignment{}, nodes: map[string]NodeStatus{},
		changed: make(chan struct{})}, nil
}

func (b *board) run(ctx context.Context) {
	for ctx.Err() == nil {
		fs := b.cl.PollFetches(ctx)
		fs.EachError(func(t string, p int32, err error) {
			if ctx.Err() == nil {
				b.log.Warn("reading the cluster topic", "topic", t, "error", err)
			}
		})
		b.mu.Lock()
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			b.applyLocked(r)
			b.offset = r.Offset + 1
			n++
		})
		if n > 0 {
			close(b.changed)
			b.changed = make(chan struct{})
		}
		b.mu.Unlock()
	}
}

func (b *board) applyLocked(r *kgo.Record) {
	key := string(r.Key)
	switch {
	case key == keyLeader:
		var l LeaderRecord
		if err := json.Unmarshal(r.Value, &l); err != nil || l.Epoch < b.epoch {
			return
		}
		b.epoch, b.leader = l.Epoch, l.Node
	case strings.HasPrefix(key, keyPipe):
		name := strings.TrimPrefix(key, keyPipe)
		if r.Value == nil {
			delete(b.pipes, name)
			return
		}
		var a Assignment
		if err := json.Unmarshal(r.Value, &a); err != nil {
			b.log.Warn("ignoring an unreadable assignment", "pipe", name, "error", err)
			return
		}
		if a.Epoch < b.epoch {
			return // a deposed leader's write
		}
		b.pipes[name] = a
	case strings.HasPrefix(key, keyNode):
		var s NodeStatus
		if r.Value == nil {
			delete(b.nodes, strings.TrimPrefix(key, keyNode))
			return
		}
		if err := json.Unmarshal(r.Value, &s); err == nil {
			b.nodes[s.Node] = s
		}
	}
}

// catchUp waits until the board has read every record written before the call. A topic just
// created may not be known to every broker yet: listing its end is retried until ctx ends.
func (b *board) catchUp(ctx context.Context) error {
	adm := kadm.NewClient(b.cl)
	var end int64
	for {
		ends, err := adm.ListEndOffsets(ctx, b.topic)
		if err == nil {
			if o, ok := ends.Lookup(b.topic, 0); !ok {
				err = fmt.Errorf("no partition 0 listed")
			} else if err = o.Err; err == nil {
				end = o.Offset
				break
			}
		}
		b.log.Debug("listing the end of the cluster topic; retrying", "topic", b.topic, "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("listing the end of %s: %w (last error: %v)", b.topic, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	for {
		b.mu.Lock()
		done, ch := b.offset >= end, b.changed
		b.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("reading %s to offset %d: %w", b.topic, end, ctx.Err())
		case <-ch:
		}
	}
}

// snapshot returns copies of the board's state and a channel closed at its next change.
func (b *board) snapshot() (epoch int64, pipes map[string]Assignment, nodes map[string]NodeStatus, changed <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.epoch, maps.Clone(b.pipes), maps.Clone(b.nodes), b.changed
}

func (b *board) produce(ctx context.Context, key string, v any) error {
	var val []byte
	if v != nil {
		var err error
		if val, err = json.Marshal(v); err != nil {
			return fmt.Errorf("encoding %s: %w", key, err)
		}
	}
	r := &kgo.Record{Topic: b.topic, Partition: 0, Key: []byte(key), Value: val}
	if err := b.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		return fmt.Errorf("writing %s to %s: %w", key, b.topic, err)
	}
	return nil
}

// nodesOf returns the pipes assigned to node, sorted.
func nodesOf(pipes map[string]Assignment, node string) []string {
	var out []string
	for name, a := range pipes {
		if slices.Contains(a.Nodes, node) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
