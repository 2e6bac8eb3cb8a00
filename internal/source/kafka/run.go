package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// shutdownCommitTimeout bounds the final commit of acknowledged offsets.
const shutdownCommitTimeout = 10 * time.Second

// Run joins the consumer group and hands batches to h until ctx ends or h fails. It returns nil when
// ctx ended, or h's error (wrapped, naming the pipe, partition and offsets) when h failed outside a
// revocation or shutdown; that batch is not committed. Credentials rejected, authorization denied or
// the broker certificate no longer trusted while consuming also end Run with that error; other fetch
// errors are retried and logged (once a minute per message). Acknowledged batches are committed
// before Run returns. Run may be called again after it returned.
func (s *Source) Run(ctx context.Context, h Handler) error {
	if h == nil {
		return fmt.Errorf("running the source of pipe %s: %w: nil handler", s.cfg.Pipe, ErrConfig)
	}
	s.mu.Lock()
	if s.stop != nil {
		s.mu.Unlock()
		return fmt.Errorf("running the source of pipe %s: already running", s.cfg.Pipe)
	}
	runCtx, stop := context.WithCancel(ctx)
	// The client's own context outlives runCtx (the shutdown still commits and leaves the group) and ends
	// only on Abort, which fails the client's in-flight requests, a blocked group join included.
	clientCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	s.stop, s.abort, s.runDone, s.failErr = stop, abort, make(chan struct{}), nil
	s.handler, s.runCtx = h, runCtx
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		close(s.runDone)
		s.stop, s.abort = nil, nil
		s.mu.Unlock()
		stop()
		abort()
	}()

	instanceID, release, err := s.claimInstanceID()
	if err != nil {
		return s.errorf("choosing the group instance ID", err)
	}
	defer release()
	s.mu.Lock()
	s.instanceID = instanceID
	s.mu.Unlock()
	if s.cfg.ExactlyOnce != nil {
		return s.runTransactional(runCtx, clientCtx, instanceID) // transact.go
	}

	opts := s.clientOpts(clientCtx, instanceID,
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(s.cfg.CommitInterval),
		kgo.AutoCommitCallback(s.commitDone),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return s.errorf("creating the consumer", fmt.Errorf("%w: %v", ErrConfig, err))
	}
	s.mu.Lock()
	s.cl = cl
	s.mu.Unlock()
	s.com.Store(startCommitter(clientCtx, s, cl))
	s.log.Info("kafka source started", "brokers", strings.Join(s.cfg.Brokers, ","), "topic", s.cfg.Topic,
		"consumer_group", s.group, "instance_id", instanceID, "starting_position", s.cfg.StartingPosition)

	errs := newErrorLog(s.log)
	for {
		s.waitForRoom(runCtx)
		fetches, ok, fatal := s.poll(runCtx, cl, errs, 0)
		if !ok {
			break
		}
		s.handOut(fetches, nil)
		cl.AllowRebalance()
		if fatal != nil {
			s.fail(fatal)
		}
		if runCtx.Err() != nil {
			break
		}
	}
	s.shutdown(cl)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failErr
}

// clientOpts are the client options of both modes: the consumer group with static membership, the
// starting position, rebalances held back from each poll until the poll loop allows them (the
// exactly-once round holds them until its End returned), the partition callbacks; then the mode's own
// (extra), then Config.ClientOpts, last so that they override any.
func (s *Source) clientOpts(clientCtx context.Context, instanceID string, extra ...kgo.Opt) []kgo.Opt {
	reset := kgo.NewOffset().AtEnd()
	if s.cfg.StartingPosition == TrimHorizon {
		reset = kgo.NewOffset().AtStart()
	}
	opts := append(append([]kgo.Opt{}, s.opts...),
		kgo.WithContext(clientCtx),
		kgo.ConsumerGroup(s.group),
		kgo.InstanceID(instanceID),
		kgo.SessionTimeout(s.cfg.SessionTimeout),
		kgo.ConsumeTopics(s.cfg.Topic),
		kgo.ConsumeResetOffset(reset),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.lost),
	)
	opts = append(opts, extra...)
	return append(opts, s.cfg.ClientOpts...)
}

// poll polls cl once for at most limit records (0: all that is buffered; the exactly-once round passes
// its bound) and logs the fetch errors that are retried, once a minute per message. ok is false when the
// client was closed: rebalances are allowed again and the poll loop must end. fatal is a fetch error
// that must stop Run: credentials rejected, authorization denied or the broker certificate no longer
// trusted. Otherwise rebalances stay held back (BlockRebalanceOnPoll) until the caller allows them.
func (s *Source) poll(ctx context.Context, cl *kgo.Client, errs *errorLog, limit int) (fetches kgo.Fetches, ok bool, fatal error) {
	fetches = cl.PollRecords(ctx, limit)
	if fetches.IsClientClosed() {
		cl.AllowRebalance()
		return nil, false, nil
	}
	fetches.EachError(func(topic string, part int32, err error) {
		if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			return
		}
		cerr := s.classify(err)
		if errors.Is(cerr, ErrAuthentication) || errors.Is(cerr, ErrUntrustedBroker) || errors.Is(cerr, ErrAuthorization) {
			fatal = s.errorf("consuming", cerr)
			return
		}
		errs.log(topic, part, cerr)
	})
	return fetches, true, fatal
}

// handOut pushes each partition's polled records to the partition's worker, which cuts and handles their
// batches. The records of a partition without a worker (lost since they were fetched) are dropped: its
// next owner reads them from the committed offset. track, when not nil, is told of every partition's
// records first, with its worker (nil when there is none) and the offset after its last record: in
// exactly-once mode it is the open round's expect, which waits for those records to be handled.
func (s *Source) handOut(fetches kgo.Fetches, track func(part int32, w *worker, next int64)) {
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		s.mu.Lock()
		w := s.workers[p.Partition]
		s.mu.Unlock()
		if track != nil {
			track(p.Partition, w, p.Records[len(p.Records)-1].Offset+1)
		}
		if w != nil {
			w.push(p.Records, p.HighWatermark)
		}
	})
}

// waitForRoom returns when no partition's queue is full (partitions paused here excepted), or when ctx
// ends. Not polling is what keeps memory bounded; it does not hold up rebalances, which run between polls.
//
// A full queue whose worker has not asked for a new batch for stallLimit (a handler stuck retrying) has
// its partition's fetching paused, so that the others go on. A worker that keeps handling batches is
// waited for however long it takes, never paused: pausing drops franz-go's buffered data of the
// partition, and after the resume its next fetch waits until the fetch in flight for the other
// partitions returns, up to the broker's fetch wait (5 s) when they have caught up. That pause and resume
// of a busy partition is what made the same run take 2 s one time and 7 s the next.
func (s *Source) waitForRoom(ctx context.Context) {
	var timer *time.Timer
	var seen map[*worker]uint64 // progress of the full workers when the timer was last started
	for {
		s.mu.Lock()
		var full []*worker
		var progress []uint64
		for _, w := range s.workers {
			if f, p := w.full(); f {
				full = append(full, w)
				progress = append(progress, p)
			}
		}
		s.mu.Unlock()
		if len(full) == 0 {
			return
		}
		if timer == nil {
			timer = time.NewTimer(stallLimit)
			defer timer.Stop()
			seen = make(map[*worker]uint64, len(full))
			for i, w := range full {
				seen[w] = progress[i]
			}
		}
		select {
		case <-s.room:
		case <-ctx.Done():
			return
		case <-timer.C:
			next := make(map[*worker]uint64, len(full))
			for _, w := range full {
				f, p := w.full()
				if last, ok := seen[w]; ok && f && p == last {
					w.pause() // no batch asked for since the timer started: stuck
					continue
				}
				next[w] = p
			}
			seen = next
			timer.Reset(stallLimit)
		case <-time.After(50 * time.Millisecond): // a revoked partition's worker does not signal
		}
	}
}

// fail records the first handler or fatal error and stops Run.
func (s *Source) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr == nil {
		s.failErr = err
		s.stop()
	}
}

// shutdown stops every worker (waiting for in-flight handlers), commits what they acknowledged and
// leaves the group, so that the partitions move to another member at once.
func (s *Source) shutdown(cl *kgo.Client) {
	s.stopWorkers(cl, s.assignedParts())
	if c := s.com.Swap(nil); c != nil {
		c.close()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.runCtx), shutdownCommitTimeout)
	defer cancel()
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		s.log.Error("committing acknowledged offsets at shutdown; they will be read again", "error", err)
	}
	s.leaveAndClose(ctx, cl)
}

// assignedParts lists the partitions that have a worker.
func (s *Source) assignedParts() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts := make([]int32, 0, len(s.workers))
	for p := range s.workers {
		parts = append(parts, p)
	}
	return parts
}

// leaveAndClose leaves the consumer group, so that the partitions move to another member at once, and
// closes the client. A static member's Close does not leave the group: stop the group management first
// (so that the client does not rejoin behind the leave), then leave with the instance ID.
func (s *Source) leaveAndClose(ctx context.Context, cl *kgo.Client) {
	memberID, _ := cl.GroupMetadata()
	if err := cl.LeaveGroupContext(ctx); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("stopping the group membership", "error", err)
	}
	if err := s.leaveGroup(ctx, cl, memberID); err != nil {
		s.log.Warn("leaving the consumer group; the partitions move to another member after the session timeout",
			"consumer_group", s.group, "instance_id", s.instanceID, "error", err)
	}
	cl.Close()
	s.mu.Lock()
	s.cl = nil
	s.mu.Unlock()
	s.log.Info("kafka source stopped", "topic", s.cfg.Topic, "consumer_group", s.group)
}

// assigned starts a worker per newly assigned partition.
func (s *Source) assigned(_ context.Context, cl *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for topic, parts := range m {
		for _, p := range parts {
			if _, ok := s.workers[p]; ok || topic != s.cfg.Topic {
				continue
			}
			w := newWorker(s.runCtx, s, cl, topic, p)
			s.workers[p] = w
			go w.run()
		}
	}
	s.log.Info("partitions assigned", "topic", s.cfg.Topic, "partitions", m[s.cfg.Topic])
}

// revoked stops the revoked partitions' workers, waiting for their in-flight handlers, then commits
// what they acknowledged, before the rebalance goes on. In exactly-once mode nothing is committed here:
// offsets are committed only in transactions (the workers' marks are not), and the session aborts a
// transaction that a revocation interrupts. (Rounds hold rebalances back, so a revocation normally comes
// between rounds, with every worker idle.)
func (s *Source) revoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	parts := m[s.cfg.Topic]
	s.stopWorkers(cl, parts)
	if s.cfg.ExactlyOnce == nil {
		if err := cl.CommitMarkedOffsets(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Warn("committing acknowledged offsets of revoked partitions; they will be read again", "error", err)
		}
	}
	if len(parts) > 0 {
		s.log.Info("partitions revoked", "topic", s.cfg.Topic, "partitions", parts)
	}
}

// lost stops the lost partitions' workers; committing would fail, so nothing is committed.
func (s *Source) lost(_ context.Context, cl *kgo.Client, m map[string][]int32) {
	parts := m[s.cfg.Topic]
	s.stopWorkers(cl, parts)
	if len(parts) > 0 {
		s.log.Warn("partitions lost; their acknowledged but uncommitted batches will be read again", "topic", s.cfg.Topic, "partitions", parts)
	}
}

// stopWorkers cancels the workers of parts, waits for them and forgets them; their partitions are
// un-paused so that a later assignment fetches them.
func (s *Source) stopWorkers(cl *kgo.Client, parts []int32) {
	s.mu.Lock()
	var ws []*worker
	for _, p := range parts {
		if w, ok := s.workers[p]; ok {
			ws = append(ws, w)
			delete(s.workers, p)
		}
	}
	s.mu.Unlock()
	for _, w := range ws {
		w.cancel()
	}
	for _, w := range ws {
		<-w.done
	}
	if len(parts) > 0 {
		cl.ResumeFetchPartitions(map[string][]int32{s.cfg.Topic: parts})
	}
}

// commitDone logs failed periodic commits; the offsets stay marked and the next commit retries them.
func (s *Source) commitDone(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
	if err == nil && resp != nil {
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err = kerr.ErrorForCode(p.ErrorCode); err != nil {
					break
				}
			}
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("committing acknowledged offsets; retrying at the next commit", "error", err)
	}
}

// errorLog logs fetch errors at most once a minute per distinct message.
type errorLog struct {
	l    *slog.Logger
	mu   sync.Mutex
	last map[string]time.Time
}

func newErrorLog(l *slog.Logger) *errorLog { return &errorLog{l: l, last: map[string]time.Time{}} }

func (e *errorLog) log(topic string, part int32, err error) {
	msg := err.Error()
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.last[msg]; ok && time.Since(t) < time.Minute {
		return
	}
	e.last[msg] = time.Now()
	e.l.Warn("fetch error; retrying", "topic", topic, "partition", part, "error", err)
}
