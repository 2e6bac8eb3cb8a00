// Package kafka is the self-managed Apache Kafka source of a pipe: a franz-go group consumer that hands
// the pipe runtime batches of one partition at a time, in offset order, and commits a batch's offsets
// only after the runtime acknowledged it.
//
// Behaviour, following EventBridge Pipes (decisions where Pipes is silent are marked):
//
//   - Consumer group: Config.ConsumerGroupID, or when empty "sluice-" + the pipe name. (Decision: Pipes
//     generates a unique ID; Sluice derives a stable one so that a pipe re-created from the same
//     definition resumes where it stopped.)
//   - Starting position: TRIM_HORIZON reads from the oldest record, LATEST (the default when empty, as
//     in the Pipes console) from the end. It is used only when the group has no committed offset for a
//     partition; a group with offsets resumes from them.
//   - Out-of-range offsets: when a committed offset no longer exists (retention deleted it while the
//     pipe was stopped) the partition resumes per the starting position; when retention deletes records
//     under a running consumer it resumes at the oldest remaining record (fewest records lost, franz-go's
//     behaviour). Both are logged as warnings.
//   - Batches: records of one partition, cut at BatchSize (1..10000, default 100), at BatchWindow after
//     the batch's first record (0: whatever is already fetched), or before the encoded events would
//     exceed MaxBatchBytes (default 6 MB, Pipes' payload limit), whichever comes first. A single record
//     larger than MaxBatchBytes is delivered alone.
//   - Concurrency: one goroutine per assigned partition, so partitions are processed (and their records
//     turned into events) concurrently, off the poll loop, which only hands each fetch's records over;
//     within a partition the next batch is handed out only after the handler returned for the previous
//     one.
//   - Commits: a batch whose handler returned nil is marked and committed at once, asynchronously: one
//     commit is in flight per source, and the next carries the newest marks of every partition
//     acknowledged meanwhile (commit.go); revocation and shutdown commit synchronously, and a periodic
//     commit (CommitInterval) retries a failed one. A batch whose handler failed or was abandoned is
//     never committed. After a crash the batches acknowledged since the last commit started are read
//     again (at-least-once, as Pipes): about one batch per partition, not a commit interval's worth.
//   - Group membership (decision; Pipes does not say): static (group.instance.id, membership.go), so
//     that a restarted member takes its partitions back at once instead of after the session timeout.
//     The instance ID is Config.InstanceID, or "<group>-<hostname>", with "-<n>" added for the n-th
//     concurrent source of the same group on one host. A clean stop leaves the group at once; a crashed
//     member's partitions wait for its restart, or for SessionTimeout (default 45 s), whichever is first.
//   - Exactly-once (Config.ExactlyOnce; transact.go): the client is a transactional session, the
//     handler produces the target's records through the kafkatxn.Producer in its context, and each poll
//     is one transaction carrying those records and the source offsets; a failed record aborts the
//     transaction and its records are read again. The transactional ID is the instance ID.
//   - Rebalances: a revoked partition's context is cancelled, its in-flight handler waited for, its
//     acknowledged offsets committed, and only then does the rebalance proceed; records queued for it
//     are dropped and read again by the new owner.
//   - Memory: a partition's queue is full at MaxBatchBytes of record data (or 2×BatchSize, at least
//     10000, records). While a queue is full the source stops polling, so franz-go stops fetching after
//     its one buffered fetch; a full queue whose worker has not asked for a batch for half a second (a
//     handler stuck retrying) has its partition's fetching paused, so that the other partitions go on,
//     until its worker takes the queue up. A worker that keeps handling batches is never paused: franz-go
//     drops the buffered data of a paused partition, and its resumed fetch can wait for the fetch in
//     flight for the others (up to the broker's fetch wait).
//
// Errors from New name the pipe, the brokers and the cause (unreachable broker, missing topic, rejected
// credentials, untrusted broker certificate, wrong key password, malformed secret); New checks them with
// a metadata request bounded by ConnectTimeout before any consuming starts.
package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/event"
	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Defaults and limits of Config.
const (
	DefaultBatchSize      = 100
	MaxBatchSize          = 10000
	MaxBatchWindow        = 300 * time.Second
	DefaultMaxBatchBytes  = plugin.MaxPayloadBytes
	DefaultCommitInterval = time.Second
	DefaultConnectTimeout = 10 * time.Second
	// DefaultSessionTimeout is the group session timeout: how long a crashed member's partitions wait
	// for it to come back before the group gives them to the others (Kafka's default).
	DefaultSessionTimeout = 45 * time.Second
	MinSessionTimeout     = 6 * time.Second  // the broker's default group.min.session.timeout.ms
	MaxSessionTimeout     = 30 * time.Minute // the broker's default group.max.session.timeout.ms
)

// minQueued is the least number of records a partition's queue takes before it counts as full.
const minQueued = 10000

// stallLimit is how long the poll loop waits for a full queue to be taken up before it pauses that
// partition's fetching and polls for the others again.
const stallLimit = 500 * time.Millisecond

// Starting positions.
const (
	TrimHorizon = "TRIM_HORIZON"
	Latest      = "LATEST"
)

// Config configures a Source.
type Config struct {
	// Pipe is the pipe's name, used in errors, logs and the default consumer group.
	Pipe string
	// Brokers are the bootstrap servers, host:port each (Source plus AdditionalBootstrapServers).
	Brokers []string
	// Topic is the one topic read.
	Topic string
	// StartingPosition is TRIM_HORIZON or LATEST (default LATEST).
	StartingPosition string
	// BatchSize is the most records per batch, 1..10000 (0 means 100).
	BatchSize int
	// BatchWindow is how long to gather records after a batch's first one, 0..300s.
	BatchWindow time.Duration
	// MaxBatchBytes bounds the encoded events of a batch (JSON array size; 0 means 6 MB).
	MaxBatchBytes int
	// ConsumerGroupID is the group; empty means "sluice-" + Pipe.
	ConsumerGroupID string
	// InstanceID is the static group member's group.instance.id; empty means "<group>-<hostname>" (plus
	// "-<n>" for the n-th concurrent source of the group on this host; see membership.go). Two members
	// with the same InstanceID fence each other: set it only to a value unique to this process.
	InstanceID string
	// SessionTimeout is the group session timeout, MinSessionTimeout..MaxSessionTimeout (0 means 45s).
	SessionTimeout time.Duration
	// Auth selects the authentication; Secrets resolves its references.
	Auth    kafkaauth.Auth
	Secrets plugin.SecretResolver
	// Logger receives the source's logs (default slog.Default()).
	Logger *slog.Logger

	// CommitInterval is how often the periodic commit runs (0 means 1s); it retries a failed commit when
	// no acknowledged batch follows. Acknowledged batches are committed as they are acknowledged, and
	// revocation and shutdown always commit.
	CommitInterval time.Duration
	// ConnectTimeout bounds New's connection check (0 means 10s).
	ConnectTimeout time.Duration
	// ReuseEventBuffers makes a partition's batches share one event buffer, so Record.Event is valid
	// only until the handler returns (Key and Value stay valid). It halves the bytes allocated per
	// record and saves about 30% of the CPU time per 1 KB record consumed; use it when nothing
	// keeps events past the handler. It is not the default because keeping them is easy to do without
	// noticing: net/http, for one, may go on reading a request body that is an event after Client.Do
	// returned (when the server answered before reading it all, or the request was cancelled).
	ReuseEventBuffers bool
	// ExactlyOnce, when set, runs the source in exactly-once mode with a Kafka target on the same
	// cluster (transact.go): the handler produces through the kafkatxn.Producer in its context, and the
	// records it produces and the source offsets are committed in one transaction per poll.
	ExactlyOnce *ExactlyOnce
	// ClientOpts are extra franz-go options appended last (tuning and tests: session timeouts, fetch sizes).
	ClientOpts []kgo.Opt
}

// Record is one Kafka record with its Pipes event. Event, Key and Value stay valid after the handler
// returns, unless Config.ReuseEventBuffers is set, in which case Event is valid until it returns.
type Record struct {
	Event     json.RawMessage
	Key       []byte // nil for a null key
	Value     []byte // nil for a null value
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
}

// Batch is consecutive records of one partition, in offset order.
type Batch struct {
	Topic     string
	Partition int32
	Records   []Record
}

// Handler processes a batch. Returning nil acknowledges it (its offsets are committed); ctx is
// cancelled when the partition is revoked or the source stops, and an error returned then abandons the
// batch (it is read again later). Any other error stops Run, which returns it.
type Handler func(ctx context.Context, b *Batch) error

// Source reads one topic as a consumer group member. Create it with New, run it with Run.
type Source struct {
	cfg   Config
	group string
	opts  []kgo.Opt // connection and auth options
	enc   *event.Encoder
	log   *slog.Logger
	// maxQueued is the record count at which a partition's queue is full (see the package doc).
	maxQueued int
	// room is signalled by workers taking up their queue, for the poll loop waiting in waitForRoom.
	room chan struct{}
	// com commits after every acknowledged batch; set for the duration of Run.
	com atomic.Pointer[committer]
	// instanceID is the static member ID of the running (or last) Run.
	instanceID string
	// round is the open transaction in exactly-once mode (transact.go).
	round atomic.Pointer[round]

	mu      sync.Mutex
	cl      *kgo.Client
	workers map[int32]*worker
	stop    context.CancelFunc // cancels a running Run
	abort   context.CancelFunc // cancels the running client's context (Abort)
	runDone chan struct{}      // closed when Run returns
	failErr error              // first handler or fatal error
	handler Handler
	runCtx  context.Context
}

// New validates cfg, resolves its secrets and checks, with a metadata request bounded by
// cfg.ConnectTimeout, that a broker answers, accepts the credentials, presents a trusted certificate and
// has the topic. It does not join the group; Run does.
func New(ctx context.Context, cfg Config) (*Source, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Source{
		cfg:     cfg,
		group:   cfg.ConsumerGroupID,
		enc:     event.NewEncoder(cfg.Brokers),
		log:     cfg.Logger,
		workers: map[int32]*worker{},
		// Bytes bound memory; the count matters only for tiny records, and must not be so low that
		// fetching stalls on every fetch response (about 1 MB per partition).
		maxQueued: max(2*cfg.BatchSize, minQueued),
		room:      make(chan struct{}, 1),
	}
	if s.group == "" {
		s.group = "sluice-" + cfg.Pipe
	}
	if err := kafkaauth.CheckBrokers(cfg.Auth.Egress, cfg.Brokers); err != nil {
		return nil, s.errorf("checking the brokers", err)
	}
	auth := cfg.Auth
	auth.DialTimeout = cfg.ConnectTimeout // kgo.DialTimeout below does not reach the dialer Options returns
	authOpts, err := kafkaauth.Options(ctx, auth, cfg.Secrets)
	if errors.Is(err, kafkaauth.ErrUnsupportedMechanism) {
		return nil, s.errorf("configuring authentication", fmt.Errorf("%w: %w", ErrConfig, err))
	}
	if err != nil {
		return nil, s.errorf("reading credentials", secretError(err))
	}
	s.opts = append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID("sluice"),
		kgo.WithLogger(kgoLogger{s.log}),
		kgo.DialTimeout(cfg.ConnectTimeout),
	}, authOpts...)
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if cfg.ExactlyOnce != nil {
		if err := s.checkSameCluster(ctx); err != nil { // transact.go
			return nil, err
		}
	}
	return s, nil
}

func (cfg *Config) setDefaults() error {
	var problems []string
	if cfg.Pipe == "" {
		problems = append(problems, "Pipe is empty")
	}
	if len(cfg.Brokers) == 0 {
		problems = append(problems, "no Brokers")
	}
	if cfg.Topic == "" {
		problems = append(problems, "Topic is empty")
	}
	switch cfg.StartingPosition {
	case "":
		cfg.StartingPosition = Latest
	case Latest, TrimHorizon:
	default:
		problems = append(problems, fmt.Sprintf("StartingPosition %q is not TRIM_HORIZON or LATEST", cfg.StartingPosition))
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxBatchSize {
		problems = append(problems, fmt.Sprintf("BatchSize %d outside 1..%d", cfg.BatchSize, MaxBatchSize))
	}
	if cfg.BatchWindow < 0 || cfg.BatchWindow > MaxBatchWindow {
		problems = append(problems, fmt.Sprintf("BatchWindow %s outside 0..%s", cfg.BatchWindow, MaxBatchWindow))
	}
	if cfg.MaxBatchBytes == 0 {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if cfg.MaxBatchBytes < 0 {
		problems = append(problems, fmt.Sprintf("MaxBatchBytes %d is negative", cfg.MaxBatchBytes))
	}
	if len(cfg.ConsumerGroupID) > 200 {
		problems = append(problems, "ConsumerGroupID longer than 200 characters")
	}
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = DefaultCommitInterval
	}
	if cfg.InstanceID != "" {
		if err := CheckInstanceID(cfg.InstanceID); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.SessionTimeout < MinSessionTimeout || cfg.SessionTimeout > MaxSessionTimeout {
		problems = append(problems, fmt.Sprintf("SessionTimeout %s outside %s..%s", cfg.SessionTimeout, MinSessionTimeout, MaxSessionTimeout))
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(problems) > 0 {
		return fmt.Errorf("kafka source of pipe %s: %w: %s", cfg.Pipe, ErrConfig, strings.Join(problems, "; "))
	}
	return nil
}

// errorf names the pipe, the brokers and what was being done.
func (s *Source) errorf(doing string, err error) error {
	return fmt.Errorf("pipe %s: %s (brokers %s, topic %s): %w", s.cfg.Pipe, doing, strings.Join(s.cfg.Brokers, ","), s.cfg.Topic, err)
}

// check asks a broker for the topic's metadata with a short-lived client.
func (s *Source) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	// The client logs nothing: every failure it would log is returned, classified, below.
	opts := append(append([]kgo.Opt{}, s.opts...), kgo.WithLogger(nil), kgo.RequestRetries(2))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return s.errorf("creating the Kafka client", fmt.Errorf("%w: %v", ErrConfig, err))
	}
	defer cl.Close()
	md, err := kadm.NewClient(cl).Metadata(ctx, s.cfg.Topic)
	if err == nil {
		td, ok := md.Topics[s.cfg.Topic]
		switch {
		case !ok:
			err = fmt.Errorf("%w: topic %q does not exist", ErrTopicNotFound, s.cfg.Topic)
		case td.Err != nil:
			err = td.Err
		}
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s: %w", s.cfg.ConnectTimeout, err)
		}
		return s.errorf("connecting", s.classify(err))
	}
	return nil
}

// GroupID returns the consumer group the source joins.
func (s *Source) GroupID() string { return s.group }

// InstanceID returns the static member ID of the running Run (or of the last one), empty before the
// first Run.
func (s *Source) InstanceID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.instanceID
}

// Lag returns, per partition being consumed, how many records the partition holds past the last
// acknowledged one (as of the latest fetch).
func (s *Source) Lag() map[int32]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int32]int64, len(s.workers))
	for p, w := range s.workers {
		out[p] = w.lag()
	}
	return out
}

// Close stops a running Run and waits for it to return. When ctx ends first it aborts the shutdown (Abort)
// and waits for Run, which then returns promptly, before returning ctx's error.
func (s *Source) Close(ctx context.Context) error {
	s.mu.Lock()
	stop, done := s.stop, s.runDone
	s.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.Abort()
		<-done
		return fmt.Errorf("closing the source of pipe %s: %w", s.cfg.Pipe, ctx.Err())
	}
}

// Abort makes a stopping Run return now: it cancels the consumer client's context, so that a shutdown
// blocked on the group (a join in progress waits for every member to rejoin, up to a dead member's session
// timeout; LeaveGroup and the final commit wait for that join) or on an unreachable broker gives up.
// Nothing unacknowledged is committed; acknowledged offsets not yet committed are read again by the next
// member (at-least-once), and the group forgets this member when its session times out. Abort does not stop
// Run by itself (cancel Run's context, or Close); it is a no-op when Run is not running.
func (s *Source) Abort() {
	s.mu.Lock()
	abort := s.abort
	s.mu.Unlock()
	if abort != nil {
		abort()
	}
}
