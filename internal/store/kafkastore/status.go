package kafkastore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/store"
)

// Status-topic keys. Pipe names and node IDs cannot contain "/".
func statusKey(pipe, node string) string { return "pipe/" + pipe + "/" + node }
func nodeKey(node string) string         { return "node/" + node }

// heartbeatValue is a node's heartbeat on the status topic.
type heartbeatValue struct {
	Node string    `json:"node"`
	Time time.Time `json:"time"`
}

// applyStatus applies one status-topic record (s.mu held).
func (s *Store) applyStatus(r *kgo.Record) {
	key := string(r.Key)
	switch {
	case strings.HasPrefix(key, "node/"):
		node := strings.TrimPrefix(key, "node/")
		if r.Value == nil {
			delete(s.nodes, node)
			return
		}
		// Liveness is judged on this node's clock: a heartbeat read live counts from now; one read while
		// catching up from when it was written, so that a long-dead node is not revived by its old records.
		seen := time.Now()
		if !s.caughtUp && r.Timestamp.Before(seen) {
			seen = r.Timestamp
		}
		s.nodes[node] = seen
	case strings.HasPrefix(key, "pipe/"):
		pipe, node, ok := strings.Cut(strings.TrimPrefix(key, "pipe/"), "/")
		if !ok {
			return
		}
		if r.Value == nil {
			delete(s.statuses[pipe], node)
			return
		}
		var st NodeStatus
		if err := json.Unmarshal(r.Value, &st); err != nil {
			s.log.Warn("skipping an undecodable status record", "topic", r.Topic, "offset", r.Offset, "error", err)
			return
		}
		st.Node, st.offset = node, r.Offset
		if s.statuses[pipe] == nil {
			s.statuses[pipe] = map[string]*NodeStatus{}
		}
		s.statuses[pipe][node] = &st
	}
}

// aliveLocked reports whether node's status is believed: this node, or one whose heartbeat was seen
// within Options.NodeTimeout.
func (s *Store) aliveLocked(node string) bool {
	if node == s.o.Node {
		return true
	}
	seen, ok := s.nodes[node]
	return ok && time.Since(seen) < s.o.NodeTimeout
}

// mergeLocked returns a copy of rec with the runtime status of the live nodes merged in: CurrentState
// and StateReason come from the status last published for rec's revision by a live node; when no node
// has published one, from the record (as its last writer set them, e.g. CREATING or STOPPING).
func (s *Store) mergeLocked(rec *store.Record) *store.Record {
	out := rec.Clone()
	var best *NodeStatus
	for node, st := range s.statuses[rec.Name] {
		if st.Revision != rec.Revision || !s.aliveLocked(node) {
			continue
		}
		if best == nil || st.offset > best.offset {
			best = st
		}
	}
	if best != nil {
		out.CurrentState, out.StateReason = best.CurrentState, best.StateReason
		if best.LastModifiedTime.After(out.LastModifiedTime) {
			out.LastModifiedTime = best.LastModifiedTime
		}
	}
	return out
}

// Statuses returns the runtime status every live node published for the pipe (any revision), in node
// order.
func (s *Store) Statuses(name string) []NodeStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []NodeStatus
	for node, st := range s.statuses[name] {
		if s.aliveLocked(node) {
			c := *st
			c.Members = append([]string(nil), st.Members...)
			c.Partitions = append([]int32(nil), st.Partitions...)
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

// Nodes returns the IDs of the nodes believed alive (this one included), sorted.
func (s *Store) Nodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{s.o.Node}
	for node := range s.nodes {
		if node != s.o.Node && s.aliveLocked(node) {
			out = append(out, node)
		}
	}
	sort.Strings(out)
	return out
}

// PublishStatus publishes this node's runtime status of a pipe and waits until it has read it back, so
// that a following Get on this node shows it. st.Node and st.Time are set here.
func (s *Store) PublishStatus(ctx context.Context, name string, st NodeStatus) error {
	st.Node, st.Time = s.o.Node, time.Now().UTC()
	data, err := json.Marshal(&st)
	if err != nil {
		return fmt.Errorf("encoding the status of pipe %s: %w", name, err)
	}
	s.mu.Lock()
	s.ownStatus[name] = true
	s.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, s.o.WriteTimeout)
	defer cancel()
	r, err := s.produce(wctx, ctx, &kgo.Record{Topic: s.status, Key: []byte(statusKey(name, s.o.Node)), Value: data})
	if err != nil {
		return fmt.Errorf("publishing the status of pipe %s to %s: %w", name, s.status, err)
	}
	if err := s.waitFor(wctx, func() bool { return s.statusNext > r.Offset }); err != nil {
		return fmt.Errorf("reading back the status of pipe %s: %w: %w", name, ErrUnavailable, err)
	}
	return nil
}

// heartbeat announces this node on the status topic every Options.HeartbeatInterval.
func (s *Store) heartbeat(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.o.HeartbeatInterval)
	defer t.Stop()
	for {
		data, _ := json.Marshal(heartbeatValue{Node: s.o.Node, Time: time.Now().UTC()})
		s.cl.Produce(ctx, &kgo.Record{Topic: s.status, Key: []byte(nodeKey(s.o.Node)), Value: data}, func(_ *kgo.Record, err error) {
			if err != nil && ctx.Err() == nil {
				s.log.Warn("publishing the node heartbeat", "topic", s.status, "error", err)
			}
		})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watcher queues the names of changed pipes for one Watch callback, so that a slow callback never
// holds up the log.
type watcher struct {
	mu   sync.Mutex
	q    []string
	wake chan struct{}
}

func (w *watcher) push(name string) {
	w.mu.Lock()
	w.q = append(w.q, name)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Watch calls fn, on its own goroutine and in log order, with the name of every pipe changed by a winning
// write of any node, from the records applied after Watch is called, until ctx ends or the store closes.
// Status changes are reported only when this node made them through Update (store.Store's contract:
// every write of this process); other nodes' status changes, and PublishStatus, are not.
func (s *Store) Watch(ctx context.Context, fn func(name string)) {
	w := &watcher{wake: make(chan struct{}, 1)}
	s.mu.Lock()
	s.watchers = append(s.watchers, w)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			for i, x := range s.watchers {
				if x == w {
					s.watchers = append(s.watchers[:i], s.watchers[i+1:]...)
					break
				}
			}
			s.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.done:
				return
			case <-w.wake:
			}
			w.mu.Lock()
			q := w.q
			w.q = nil
			w.mu.Unlock()
			for _, name := range q {
				if ctx.Err() != nil {
					return
				}
				fn(name)
			}
		}
	}()
}
