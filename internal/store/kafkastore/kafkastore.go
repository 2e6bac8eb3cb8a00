// Package kafkastore keeps pipe records in compacted Kafka topics, so that many `sluice serve --cluster`
// nodes share them without a consensus layer of their own, the way Kafka Connect's distributed mode keeps
// its configurations.
//
// Two topics per cluster, created when missing (one partition each, cleanup.policy=compact, the broker's
// default replication factor unless Options.Replication says otherwise):
//
//   - __sluice-<cluster>-pipes: one record per write, keyed by pipe name. The value is the pipe's record
//     as JSON (the same document the bbolt store keeps), a delete is a tombstone. Headers carry the
//     operation, the record's new revision, a unique write token, and for update and delete the revision
//     and token the writer read (compare-and-set). One partition gives every node the same total order.
//   - __sluice-<cluster>-status: runtime status, keyed "pipe/<name>/<node>" (the node's CurrentState,
//     StateReason, members and partitions of that pipe, for the revision it runs) and "node/<node>"
//     heartbeats. Status is per node so that nodes never contend on it; reads merge it (Store.Get).
//
// Every node reads both topics from the start into memory with a direct consumer (no group) and keeps
// following them; Open returns once the node has read up to the end offsets it found, so a new node
// serves the full list as soon as it has caught up. Reads are served from memory.
//
// Writes are ordered through the pipes topic: a writer appends its record and waits until it has read it
// back (read-your-writes). Every node applies the log in order with the same rule (apply in apply.go),
// so all agree on the winner without talking to each other: a create whose name is live loses, an update
// or delete whose expected revision is stale loses. The writer learns the outcome from its own reading of
// the log and answers store.ErrExists, store.ErrConflict or store.ErrNotFound when it lost.
//
// Compaction keeps the last record of each key, which may be a losing one. So a writer that lost appends
// a "reassert" of the winning state behind its record (a no-op for nodes that read the full log), and
// deletes' tombstones are kept (delete.retention.ms is set very long) so that revisions never go back.
//
// Producing uses an idempotent producer with acks=all. When the broker cannot be reached a write fails
// after Options.WriteTimeout with ErrUnavailable (the API answers ServiceUnavailableException): the
// outcome is then unknown, as with any remote store, and a later read shows it. Reads keep answering
// from memory, possibly stale, while the node is cut off.
package kafkastore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/store"
)

// Defaults of Options.
const (
	DefaultWriteTimeout      = 10 * time.Second
	DefaultHeartbeatInterval = 2 * time.Second
	DefaultNodeTimeout       = 10 * time.Second
)

// retainTombstones is delete.retention.ms of the pipes topic (100 years): a delete's tombstone carries
// the revision, which must stay known for compare-and-set to stay sound.
const retainTombstones = "3153600000000"

// ErrUnavailable is returned by writes when the record could not be written or read back in time
// (the broker is unreachable, or the node has fallen behind); the write's outcome is unknown.
var ErrUnavailable = errors.New("cluster store unavailable")

var namePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Options configure Open.
type Options struct {
	// Brokers are the seed brokers of the cluster's own Kafka.
	Brokers []string
	// Cluster names the cluster; its topics are __sluice-<Cluster>-pipes and __sluice-<Cluster>-status.
	Cluster string
	// Node identifies this node in status and heartbeats ([A-Za-z0-9._-], up to 64 characters).
	Node string
	// ClientOpts are added to every client (authentication, dialer); see internal/kafkaauth.
	ClientOpts []kgo.Opt
	// Replication is the replication factor of topics this creates; 0 means the broker's default.
	Replication int16
	// WriteTimeout bounds a write: producing it and reading it back. 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// HeartbeatInterval is how often the node announces itself; NodeTimeout is how long after its last
	// heartbeat another node's status is still believed. 0 means the defaults.
	HeartbeatInterval, NodeTimeout time.Duration
	// Logger receives warnings (fetch errors, undecodable records); nil discards them.
	Logger *slog.Logger
}

// NodeStatus is one node's runtime status of one pipe, as published on the status topic.
type NodeStatus struct {
	// Node is the publishing node.
	Node string `json:"node"`
	// Revision is the pipe record's revision the node acted on; a status of an older revision is not
	// shown as the pipe's state.
	Revision uint64 `json:"revision"`
	// CurrentState and StateReason are the node's view of the pipe's state.
	CurrentState string `json:"currentState"`
	StateReason  string `json:"stateReason,omitempty"`
	// Members and Partitions are the consumer group members the node runs for the pipe and the
	// partitions they own (filled by work distribution).
	Members    []string `json:"members,omitempty"`
	Partitions []int32  `json:"partitions,omitempty"`
	// LastModifiedTime is set when the status change also touched the record's modification time.
	LastModifiedTime time.Time `json:"lastModifiedTime,omitzero"`
	// Time is when the node published it.
	Time time.Time `json:"time"`

	offset int64 // status-topic offset: later published wins
}

// Store is the Kafka-topic pipe store. It is safe for concurrent use.
type Store struct {
	o                  Options
	cl                 *kgo.Client
	pipes, status      string
	tokenPrefix        string
	seq                atomic.Uint64
	log                *slog.Logger
	cancel             context.CancelFunc
	wg                 sync.WaitGroup
	done               chan struct{}
	closeOnce          sync.Once
	lastFetchErrLogged time.Time

	mu         sync.Mutex
	entries    map[string]*entry
	pipesNext  int64 // next offset to apply, per topic
	statusNext int64
	progress   chan struct{} // closed and replaced after every applied batch
	waiters    map[string]chan outcome
	statuses   map[string]map[string]*NodeStatus // pipe -> node -> status
	nodes      map[string]time.Time              // node -> when its last heartbeat was seen
	ownStatus  map[string]bool                   // pipes this node published status for
	watchers   []*watcher
	caughtUp   bool // Open has read to the end offsets it found
	live       int  // live entries
}

// outcome is what the applier tells a waiting writer about its record.
type outcome struct {
	won   bool
	quota bool  // a create lost to the pipe quota
	cur   entry // the entry after the record was applied
}

// Open creates the cluster's topics when missing, reads them to their current end, and starts following
// them. ctx bounds the catch-up.
func Open(ctx context.Context, o Options) (*Store, error) {
	if len(o.Brokers) == 0 {
		return nil, errors.New("opening the cluster store: no brokers")
	}
	if !namePattern.MatchString(o.Cluster) {
		return nil, fmt.Errorf("opening the cluster store: cluster name %q: want 1 to 64 of A-Z a-z 0-9 . _ -", o.Cluster)
	}
	if !namePattern.MatchString(o.Node) {
		return nil, fmt.Errorf("opening the cluster store: node ID %q: want 1 to 64 of A-Z a-z 0-9 . _ -", o.Node)
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.NodeTimeout <= 0 {
		o.NodeTimeout = DefaultNodeTimeout
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		o: o, log: log.With("cluster", o.Cluster, "node", o.Node),
		pipes:  "__sluice-" + o.Cluster + "-pipes",
		status: "__sluice-" + o.Cluster + "-status",
		done:   make(chan struct{}), progress: make(chan struct{}),
		entries: map[string]*entry{}, waiters: map[string]chan outcome{},
		statuses: map[string]map[string]*NodeStatus{}, nodes: map[string]time.Time{}, ownStatus: map[string]bool{},
	}
	var nonce [6]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("opening the cluster store: %w", err)
	}
	s.tokenPrefix = o.Node + "." + hex.EncodeToString(nonce[:]) + "."

	ends, err := s.ensureTopics(ctx)
	if err != nil {
		return nil, err
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID("sluice-" + o.Cluster + "-" + o.Node),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			s.pipes:  {0: kgo.NewOffset().AtStart()},
			s.status: {0: kgo.NewOffset().AtStart()},
		}),
		// Idempotent (franz-go's default) with acks=all: a retried produce is not duplicated, and a
		// write acknowledged is on every in-sync replica.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(o.WriteTimeout),
		kgo.FetchMaxWait(time.Second),
	}, o.ClientOpts...)
	s.cl, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("opening the cluster store: creating the Kafka client: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go s.consume(runCtx)
	go s.heartbeat(runCtx)
	if err := s.waitFor(ctx, func() bool { return s.pipesNext >= ends[0] && s.statusNext >= ends[1] }); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening the cluster store: reading %s and %s up to offsets %d and %d: %w", s.pipes, s.status, ends[0], ends[1], err)
	}
	s.mu.Lock()
	s.caughtUp = true
	s.mu.Unlock()
	return s, nil
}

// ensureTopics creates the two topics when missing, checks that each has one partition, and returns
// their end offsets.
func (s *Store) ensureTopics(ctx context.Context) ([2]int64, error) {
	var ends [2]int64
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(s.o.Brokers...)}, s.o.ClientOpts...)...)
	if err != nil {
		return ends, fmt.Errorf("opening the cluster store: creating the Kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	rf := s.o.Replication
	if rf == 0 {
		rf = -1 // the broker's default.replication.factor
	}
	compact := "compact"
	for _, t := range []struct {
		name string
		cfg  map[string]*string
	}{
		{s.pipes, map[string]*string{"cleanup.policy": &compact, "delete.retention.ms": ptr(retainTombstones)}},
		{s.status, map[string]*string{"cleanup.policy": &compact}},
	} {
		resp, err := adm.CreateTopic(ctx, 1, rf, t.cfg, t.name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return ends, fmt.Errorf("opening the cluster store: creating topic %s on %v: %w", t.name, s.o.Brokers, err)
		}
	}
	// Wait for the topics' metadata: a topic just created may not have a leader yet.
	var listed kadm.ListedOffsets
	deadline := time.Now().Add(15 * time.Second)
	for {
		listed, err = adm.ListEndOffsets(ctx, s.pipes, s.status)
		if err == nil {
			err = listed.Error()
		}
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return ends, fmt.Errorf("opening the cluster store: reading the end offsets of %s and %s: %w", s.pipes, s.status, err)
	}
	for i, topic := range []string{s.pipes, s.status} {
		parts := listed[topic]
		if len(parts) != 1 {
			return ends, fmt.Errorf("opening the cluster store: topic %s has %d partitions; it must have exactly 1 (writes are ordered through it)", topic, len(parts))
		}
		ends[i] = parts[0].Offset
	}
	return ends, nil
}

func ptr(s string) *string { return &s }

// waitFor waits until cond (called with s.mu held) holds, after an applied batch, or ctx ends.
func (s *Store) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, ch := cond(), s.progress
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-s.done:
			return errors.New("store closed")
		}
	}
}

// consume follows both topics and applies every record, in log order.
func (s *Store) consume(ctx context.Context) {
	defer s.wg.Done()
	for {
		fs := s.cl.PollFetches(ctx)
		if fs.IsClientClosed() || ctx.Err() != nil {
			return
		}
		fs.EachError(func(topic string, p int32, err error) {
			if time.Since(s.lastFetchErrLogged) > 10*time.Second {
				s.lastFetchErrLogged = time.Now()
				s.log.Warn("reading the cluster store", "topic", topic, "partition", p, "error", err)
			}
		})
		s.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			switch r.Topic {
			case s.pipes:
				s.applyPipe(r)
				s.pipesNext = r.Offset + 1
			case s.status:
				s.applyStatus(r)
				s.statusNext = r.Offset + 1
			}
		})
		close(s.progress)
		s.progress = make(chan struct{})
		s.mu.Unlock()
	}
}

// applyPipe applies one pipes-topic record (s.mu held).
func (s *Store) applyPipe(r *kgo.Record) {
	o, err := decodeOp(r)
	if err != nil {
		// Every node skips the same record, so they still agree.
		s.log.Warn("skipping an undecodable record of the cluster store", "topic", r.Topic, "offset", r.Offset, "error", err)
		return
	}
	cur := s.entries[o.name]
	next, won, quota := apply(cur, o, s.live)
	if next != nil {
		s.entries[o.name] = next
	}
	if (cur != nil && cur.live) != (next != nil && next.live) {
		if next != nil && next.live {
			s.live++
		} else {
			s.live--
		}
	}
	if won && !next.live {
		delete(s.statuses, o.name)
		if s.ownStatus[o.name] {
			delete(s.ownStatus, o.name)
			s.cl.Produce(context.Background(), &kgo.Record{Topic: s.status, Key: []byte(statusKey(o.name, s.o.Node))}, nil)
		}
	}
	if ch, ok := s.waiters[o.write]; ok {
		out := outcome{won: won, quota: quota}
		if next != nil {
			out.cur = *next
		} else {
			// Lost to the quota on a name never seen: the state to reassert is its absence, at the
			// loser's revision so that it replaces the loser on a node reading a compacted log.
			out.cur = entry{rev: o.rev, token: o.write + ".absent"}
		}
		ch <- out
	}
	if won {
		for _, w := range s.watchers {
			w.push(o.name)
		}
	}
}

func decodeOp(r *kgo.Record) (*op, error) {
	o := &op{name: string(r.Key)}
	var err error
	for _, h := range r.Headers {
		v := string(h.Value)
		switch h.Key {
		case "op":
			o.kind = v
		case "token":
			o.write = v
		case "state-token":
			o.token = v
		case "rev":
			o.rev, err = parseRev(v)
		case "expect-rev":
			o.expRev, err = parseRev(v)
		case "expect-token":
			o.expTok = v
		case "max-pipes":
			var n uint64
			n, err = parseRev(v)
			o.max = int(min(n, 1<<31))
		}
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", h.Key, err)
		}
	}
	switch o.kind {
	case opCreate, opUpdate, opDelete, opReassert:
	default:
		return nil, fmt.Errorf("unknown operation %q", o.kind)
	}
	if o.token == "" {
		o.token = o.write
	}
	if o.name == "" || o.write == "" {
		return nil, errors.New("no key or no token")
	}
	if r.Value != nil {
		var rec store.Record
		if err := json.Unmarshal(r.Value, &rec); err != nil {
			return nil, fmt.Errorf("decoding pipe %s: %w", o.name, err)
		}
		if rec.Name != o.name {
			return nil, fmt.Errorf("decoding pipe %s: %w: record names %q", o.name, store.ErrFormat, rec.Name)
		}
		if rec.Version < 1 || rec.Version > store.FormatVersion {
			return nil, fmt.Errorf("decoding pipe %s: %w: version %d (this build reads up to %d)", o.name, store.ErrFormat, rec.Version, store.FormatVersion)
		}
		o.rec = &rec
	}
	if (o.kind == opCreate || o.kind == opUpdate) && o.rec == nil {
		return nil, fmt.Errorf("%s of pipe %s without a record", o.kind, o.name)
	}
	return o, nil
}

// write appends one record for name and waits until this node has applied it.
//
// expect is the state an update or delete read; state is the state a reassert carries (its revision is
// rev, its token is written as state-token).
func (s *Store) write(ctx context.Context, kind, name string, rec *store.Record, rev uint64, expect, state *entry, maxPipes int) (outcome, error) {
	token := s.tokenPrefix + strconv.FormatUint(s.seq.Add(1), 10)
	kr := &kgo.Record{Topic: s.pipes, Key: []byte(name), Headers: []kgo.RecordHeader{
		{Key: "op", Value: []byte(kind)},
		{Key: "rev", Value: []byte(strconv.FormatUint(rev, 10))},
		{Key: "token", Value: []byte(token)},
	}}
	if state != nil {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: "state-token", Value: []byte(state.token)})
	}
	if maxPipes > 0 {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: "max-pipes", Value: []byte(strconv.Itoa(maxPipes))})
	}
	if expect != nil {
		kr.Headers = append(kr.Headers,
			kgo.RecordHeader{Key: "expect-rev", Value: []byte(strconv.FormatUint(expect.rev, 10))},
			kgo.RecordHeader{Key: "expect-token", Value: []byte(expect.token)})
	}
	if rec != nil {
		c := *rec
		c.Version = store.FormatVersion
		c.CreationTime = c.CreationTime.UTC()
		c.LastModifiedTime = c.LastModifiedTime.UTC()
		if len(c.Definition) == 0 || !json.Valid(c.Definition) {
			return outcome{}, fmt.Errorf("encoding pipe %s: definition is not valid JSON", name)
		}
		data, err := json.Marshal(&c)
		if err != nil {
			return outcome{}, fmt.Errorf("encoding pipe %s: %w", name, err)
		}
		kr.Value = data
	}
	ch := make(chan outcome, 1)
	s.mu.Lock()
	s.waiters[token] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiters, token)
		s.mu.Unlock()
	}()
	wctx, cancel := context.WithTimeout(ctx, s.o.WriteTimeout)
	defer cancel()
	if _, err := s.produce(wctx, ctx, kr); err != nil {
		return outcome{}, fmt.Errorf("writing pipe %s to %s: %w", name, s.pipes, err)
	}
	select {
	case out := <-ch:
		return out, nil
	case <-wctx.Done():
		if ctx.Err() != nil {
			return outcome{}, fmt.Errorf("reading back pipe %s from %s: %w", name, s.pipes, ctx.Err())
		}
		return outcome{}, fmt.Errorf("reading back pipe %s from %s: %w: not read back within %s", name, s.pipes, ErrUnavailable, s.o.WriteTimeout)
	case <-s.done:
		return outcome{}, fmt.Errorf("writing pipe %s: %w: store closed", name, ErrUnavailable)
	}
}

// produce writes one record and waits for its acknowledgement until wctx ends. franz-go keeps a
// buffered record until its delivery timeout, which it checks only on produce attempts: with no broker
// reachable there are none, so the wait is bounded here. A record abandoned so may still be written
// later (the outcome is unknown, as the ErrUnavailable it answers says). ctx is the caller's, to tell
// its cancellation from unavailability.
func (s *Store) produce(wctx, ctx context.Context, r *kgo.Record) (*kgo.Record, error) {
	type result struct {
		r   *kgo.Record
		err error
	}
	done := make(chan result, 1)
	s.cl.Produce(wctx, r, func(r *kgo.Record, err error) { done <- result{r, err} })
	select {
	case res := <-done:
		if res.err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, res.err)
		}
		return res.r, nil
	case <-wctx.Done():
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: not acknowledged within %s", ErrUnavailable, s.o.WriteTimeout)
	}
}

// reassert appends the state this node holds for name behind a record of this node that lost, so that
// compaction, which keeps a key's last record, keeps the winner's state and not the loser's. It repeats
// while another write came in between (bounded), and gives up quietly: the loser's answer stands, and
// only a node started after compaction could see the loser's state.
func (s *Store) reassert(ctx context.Context, name string, cur entry) {
	for range 5 {
		out, err := s.write(ctx, opReassert, name, cur.rec, cur.rev, nil, &cur, 0)
		if err != nil {
			s.log.Warn("reasserting a pipe's state after a lost write", "pipe", name, "error", err)
			return
		}
		// Done when the state at the reassert's place in the log is the one it carries.
		if out.cur.rev == cur.rev && out.cur.token == cur.token && out.cur.live == cur.live {
			return
		}
		cur = out.cur
	}
}

// lost reasserts and returns the error a losing writer answers.
func (s *Store) lost(ctx context.Context, name string, out outcome, whenLive error) error {
	s.reassert(context.WithoutCancel(ctx), name, out.cur)
	if out.cur.live {
		return whenLive
	}
	return store.ErrNotFound
}

// Create appends a create of r and answers once it has read it back: store.ErrExists when a pipe of that
// name was live at that point of the log (another node's create came first). maxPipes (> 0) is checked
// against this node's view before writing: concurrent creates on several nodes may pass it together.
// On success r.Revision is set.
func (s *Store) Create(ctx context.Context, r *store.Record, maxPipes int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("creating pipe %s: %w", r.Name, err)
	}
	if r.Name == "" {
		return errors.New("creating pipe: empty name")
	}
	s.mu.Lock()
	cur := s.entries[r.Name]
	n := s.live
	s.mu.Unlock()
	var rev uint64 = 1
	if cur != nil {
		if cur.live {
			return fmt.Errorf("creating pipe %s: %w", r.Name, store.ErrExists)
		}
		rev = cur.rev + 1
	}
	if maxPipes > 0 && n >= maxPipes {
		return fmt.Errorf("creating pipe %s: %w", r.Name, store.ErrQuota)
	}
	c := r.Clone()
	c.Revision = 1
	out, err := s.write(ctx, opCreate, r.Name, c, rev, nil, nil, maxPipes)
	if err != nil {
		return fmt.Errorf("creating pipe %s: %w", r.Name, err)
	}
	if !out.won {
		if out.quota {
			s.reassert(context.WithoutCancel(ctx), r.Name, out.cur)
			return fmt.Errorf("creating pipe %s: %w", r.Name, store.ErrQuota)
		}
		return fmt.Errorf("creating pipe %s: %w", r.Name, s.lost(ctx, r.Name, out, store.ErrExists))
	}
	r.Revision = 1
	return nil
}

// Get returns the record of a pipe with its runtime status merged in (see merge), or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (*store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading pipe %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[name]
	if e == nil || !e.live {
		return nil, fmt.Errorf("reading pipe %s: %w", name, store.ErrNotFound)
	}
	return s.mergeLocked(e.rec), nil
}

// Update lets fn change a copy of the pipe's record and writes it, compare-and-set: the write wins only
// if nobody wrote the pipe between this node's read and the write's place in the log; otherwise it
// answers store.ErrConflict (store.ErrNotFound when the pipe was deleted meanwhile). An error of fn is
// returned (wrapped) and nothing is written. fn must not change the record's Name.
//
// A change of CurrentState and StateReason only (and LastModifiedTime), as the supervisor makes, is this
// node's runtime status: it is published on the status topic for the record's revision, never conflicts,
// and does not bump the revision. This node's watchers are told of it (as of any write of this
// process); other nodes' watchers are not.
func (s *Store) Update(ctx context.Context, name string, fn func(r *store.Record) error) (*store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("updating pipe %s: %w", name, err)
	}
	s.mu.Lock()
	e := s.entries[name]
	var cur entry
	var old *store.Record
	if e != nil && e.live {
		cur, old = *e, s.mergeLocked(e.rec)
	}
	s.mu.Unlock()
	if old == nil {
		return nil, fmt.Errorf("updating pipe %s: %w", name, store.ErrNotFound)
	}
	r := old.Clone()
	if err := fn(r); err != nil {
		return nil, fmt.Errorf("updating pipe %s: %w", name, err)
	}
	if r.Name != name {
		return nil, fmt.Errorf("updating pipe %s: renaming a record (to %s) is not supported", name, r.Name)
	}
	if statusOnly(old, r) {
		st := NodeStatus{Revision: old.Revision, CurrentState: r.CurrentState, StateReason: r.StateReason}
		if !r.LastModifiedTime.Equal(old.LastModifiedTime) {
			st.LastModifiedTime = r.LastModifiedTime.UTC()
		}
		if err := s.PublishStatus(ctx, name, st); err != nil {
			return nil, fmt.Errorf("updating pipe %s: %w", name, err)
		}
		// store.Store's Watch reports every write of this process, and the supervisor relies on it: its
		// Resume writes STARTING and leaves the rest to the pass the notification brings. Without it a
		// restarted node's pipe would show STARTING (its status, the latest) on every node forever.
		s.mu.Lock()
		for _, w := range s.watchers {
			w.push(name)
		}
		s.mu.Unlock()
		return s.Get(ctx, name)
	}
	r.Revision = old.Revision + 1
	out, err := s.write(ctx, opUpdate, name, r, cur.rev+1, &cur, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("updating pipe %s: %w", name, err)
	}
	if !out.won {
		return nil, fmt.Errorf("updating pipe %s: %w", name, s.lost(ctx, name, out, store.ErrConflict))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mergeLocked(out.cur.rec), nil
}

// statusOnly reports whether b differs from a in runtime status fields only.
func statusOnly(a, b *store.Record) bool {
	return a.Version == b.Version && a.Name == b.Name && bytes.Equal(a.Definition, b.Definition) &&
		a.DesiredState == b.DesiredState && maps.Equal(a.Tags, b.Tags) && a.CreationTime.Equal(b.CreationTime) &&
		a.Revision == b.Revision
}

// Delete appends a tombstone for the pipe; it returns store.ErrNotFound when there is none. A delete
// is not conditional: when another write comes first it tries again on the new state.
func (s *Store) Delete(ctx context.Context, name string) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("deleting pipe %s: %w", name, err)
		}
		s.mu.Lock()
		e := s.entries[name]
		var cur entry
		if e != nil {
			cur = *e
		}
		s.mu.Unlock()
		if e == nil || !cur.live {
			return fmt.Errorf("deleting pipe %s: %w", name, store.ErrNotFound)
		}
		out, err := s.write(ctx, opDelete, name, nil, cur.rev+1, &cur, nil, 0)
		if err != nil {
			return fmt.Errorf("deleting pipe %s: %w", name, err)
		}
		if out.won {
			return nil
		}
		if attempt == 9 {
			return fmt.Errorf("deleting pipe %s: %w", name, s.lost(ctx, name, out, store.ErrConflict))
		}
		s.reassert(context.WithoutCancel(ctx), name, out.cur)
	}
}

// List returns every live pipe in name order, status merged.
func (s *Store) List(ctx context.Context) ([]*store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing pipes: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*store.Record
	for _, e := range s.entries {
		if e.live {
			out = append(out, s.mergeLocked(e.rec))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Count returns the number of live pipes.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("counting pipes: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live, nil
}

// Node returns this node's ID.
func (s *Store) Node() string { return s.o.Node }

// Topics returns the names of the pipes and status topics.
func (s *Store) Topics() (pipes, status string) { return s.pipes, s.status }

// Close stops following the topics. On a clean close the node withdraws its status and heartbeat, so
// that other nodes stop showing them at once rather than after Options.NodeTimeout.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.cl != nil {
			s.mu.Lock()
			recs := []*kgo.Record{{Topic: s.status, Key: []byte(nodeKey(s.o.Node))}}
			for name := range s.ownStatus {
				recs = append(recs, &kgo.Record{Topic: s.status, Key: []byte(statusKey(name, s.o.Node))})
			}
			s.mu.Unlock()
			// Best effort, bounded: a crashed node's status expires anyway. The wait is on a timer, not on
			// ProduceSync, which can outlive its context: when a record of the partition is stuck in a request
			// to a broker that went away, the tombstones queue behind it and franz-go fails them only once the
			// client closes (below). A node closing while Kafka is down used to hang here for good.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			sent := make(chan struct{})
			go func() {
				_ = s.cl.ProduceSync(ctx, recs...)
				close(sent)
			}()
			select {
			case <-sent:
			case <-ctx.Done():
			}
			cancel()
		}
		if s.cancel != nil {
			s.cancel()
		}
		close(s.done)
		if s.cl != nil {
			s.cl.Close()
		}
		s.wg.Wait()
	})
	return nil
}
