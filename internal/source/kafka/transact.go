package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatxn"
)

// Exactly-once mode (Config.ExactlyOnce; the pipe's TargetParameters.KafkaParameters.ExactlyOnce).
//
// The source's one client is a kgo.GroupTransactSession: it consumes, produces the target's records (the
// Kafka target gets it as a kafkatxn.Producer in the handler's context) and commits the source offsets
// inside the same transaction, so a read_committed reader of the target topic sees each source record's
// output exactly once, or not at all while its transaction is open or after it aborted.
//
// Design: one transaction per round. A round is one poll of at most roundBatches batches per assigned
// partition: Begin, hand the polled records to the partitions' workers (which cut and deliver their
// batches as usual: partitions in parallel, each partition's batches one after the other, under the
// runtime's concurrency limiter; the batching window is ignored, as a round's records are all there),
// wait until every
// polled record's batch was handled, then End, which flushes, commits the offsets of everything polled
// (that is, everything delivered) with TxnOffsetCommit and commits the transaction. The session commits
// what was polled, not what was marked, so a round must not end while polled records are still queued;
// that is why the poll loop does not poll ahead in this mode (franz-go still fetches ahead in the
// background, so the next round's records are usually there when End returns). No produce runs during
// End: the workers are idle once their records are handled. Per-partition order holds within a round
// (one batch at a time per partition) and across rounds (rounds are sequential).
//
// Failures: a record the target cannot produce dooms the round's transaction (a Kafka transaction cannot
// commit part of what it produced, and a retry inside it would store records twice): the round's
// context is cancelled, so the runtime abandons its retries, the round's remaining batches are skipped,
// and End aborts, which rewinds the consumer to the last committed offsets; the next round reads those
// records again. A handler error that is not a doomed round stops Run, as without transactions.
//
// Rebalances and crashes: rebalances are held back for the whole round (BlockRebalanceOnPoll until
// End returns), so a revocation never cuts a round; a partition lost mid-round (the session expired)
// makes the session abort it. The transactional ID is the static member's instance ID, stable per
// pipe and node, so a restarted node fences its killed predecessor (InitProducerID, done before
// consuming: the predecessor's open transaction is aborted by the broker, and pending offsets it
// committed in it no longer hold up the restart's offset fetch), and a zombie that lost its partitions cannot commit: its
// TxnOffsetCommit carries a stale member or generation and is refused (KIP-447), and the session aborts.
// A stopping pipe aborts the open round: what it delivered is read again by the next run, invisible to
// read_committed readers until then.

// ExactlyOnce configures the exactly-once mode of a Source.
type ExactlyOnce struct {
	// TargetBrokers are the Kafka target's bootstrap servers. New checks that they answer with the
	// source's cluster ID: one transaction cannot span two clusters.
	TargetBrokers []string
}

// roundBatches bounds a round (one transaction) to about this many batches per assigned partition. A
// round's output becomes visible to read_committed readers only when it commits, and a crash throws
// away the open round's work, so rounds are kept short; each costs an End (a flush, the offset commit,
// a heartbeat and EndTxn: a few round trips), which a round of several batches per partition amortises.
const roundBatches = 50

// txnTimeout is the transaction timeout: the broker aborts a transaction left open this long (a round
// that outlives it fails its End and stops Run). A round is one poll's records, delivered to a Kafka
// topic, which takes well under a second; the delivery timeout (30 s) bounds a slow one.
const txnTimeout = time.Minute

// txnDeliveryTimeout bounds how long a record produced in a transaction may wait for the broker, as the
// Kafka target's own producer does.
const txnDeliveryTimeout = 30 * time.Second

// errRoundAborted is what the producer answers for records of a doomed round.
var errRoundAborted = errors.New("the transaction is being aborted after an earlier record failed; the batch will be read again")

// checkSameCluster asks the source's and the target's brokers for their cluster ID, with the source's
// connection options (in exactly-once mode the source's client produces the target's records).
func (s *Source) checkSameCluster(ctx context.Context) error {
	eo := s.cfg.ExactlyOnce
	if len(eo.TargetBrokers) == 0 {
		return s.errorf("checking the exactly-once target", fmt.Errorf("%w: ExactlyOnce without TargetBrokers", ErrConfig))
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	clusterID := func(brokers []string) (string, error) {
		opts := append(append([]kgo.Opt{}, s.opts...), kgo.WithLogger(nil), kgo.RequestRetries(2), kgo.SeedBrokers(brokers...))
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrConfig, err)
		}
		defer cl.Close()
		md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
		if err != nil {
			return "", s.classify(err)
		}
		if md.Cluster == "" {
			return "", errors.New("the brokers report no cluster ID (Kafka 0.10.1 or later is needed)")
		}
		return md.Cluster, nil
	}
	src, err := clusterID(s.cfg.Brokers)
	if err != nil {
		return s.errorf("reading the source cluster's ID for ExactlyOnce", err)
	}
	dst, err := clusterID(eo.TargetBrokers)
	if err != nil {
		return fmt.Errorf("pipe %s: reading the cluster ID of the exactly-once target (brokers %s): %w", s.cfg.Pipe, strings.Join(eo.TargetBrokers, ","), err)
	}
	if src != dst {
		return fmt.Errorf("pipe %s: %w: ExactlyOnce needs the target on the source's cluster: the target's brokers %s belong to cluster %q, the source's brokers %s to cluster %q, and one Kafka transaction cannot span two clusters",
			s.cfg.Pipe, ErrConfig, strings.Join(eo.TargetBrokers, ","), dst, strings.Join(s.cfg.Brokers, ","), src)
	}
	return nil
}

// round is one transaction: the records of one poll, their delivery and their offsets. It is the
// kafkatxn.Producer the Kafka target produces through.
type round struct {
	cl     *kgo.Client
	ctx    context.Context // cancelled when the round is doomed
	cancel context.CancelCauseFunc
	doomed atomic.Bool

	mu      sync.Mutex
	want    map[int32]int64   // per partition: the offset after the round's last record
	reached map[int32]int64   // per partition: the offset after the last handled batch
	workers map[int32]*worker // the workers the records were pushed to
	changed chan struct{}     // capacity 1: reached moved
}

func newRound(cl *kgo.Client) *round {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &round{cl: cl, ctx: ctx, cancel: cancel, want: map[int32]int64{}, reached: map[int32]int64{},
		workers: map[int32]*worker{}, changed: make(chan struct{}, 1)}
}

// doom makes the round abort: its batches' contexts are cancelled and its remaining batches skipped.
func (r *round) doom(err error) {
	if r.doomed.CompareAndSwap(false, true) {
		r.cancel(err)
	}
}

// ProduceSync implements kafkatxn.Producer.
func (r *round) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	if r.doomed.Load() {
		res := make(kgo.ProduceResults, len(rs))
		for i, rec := range rs {
			res[i] = kgo.ProduceResult{Record: rec, Err: errRoundAborted}
		}
		return res
	}
	res := r.cl.ProduceSync(ctx, rs...)
	if err := res.FirstErr(); err != nil {
		r.doom(fmt.Errorf("producing in the transaction: %w", err))
	}
	return res
}

// expect adds part's polled records up to next (exclusive), about to be pushed to w, to the round: wait
// returns only once their batches are handled. Records polled without a worker (w nil) doom the round
// instead: committing the offsets of records nobody delivers would lose them.
func (r *round) expect(part int32, w *worker, next int64) {
	if w == nil {
		r.doom(fmt.Errorf("records of partition %d polled without its worker", part))
		return
	}
	r.mu.Lock()
	r.want[part] = next
	r.workers[part] = w
	r.mu.Unlock()
}

// handled records that the batches of part up to next (exclusive) are done with.
func (r *round) handled(part int32, next int64) {
	r.mu.Lock()
	if next > r.reached[part] {
		r.reached[part] = next
	}
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// wait returns true when every record of the round was handled, false when ctx ended first. A worker
// stopped mid-round (its partition lost, or the source stopping) dooms the round.
func (r *round) wait(ctx context.Context, s *Source) bool {
	tick := time.NewTicker(50 * time.Millisecond) // a stopped worker does not signal
	defer tick.Stop()
	for {
		r.mu.Lock()
		done := true
		for p, want := range r.want {
			if r.reached[p] >= want {
				continue
			}
			s.mu.Lock()
			alive := s.workers[p] == r.workers[p]
			s.mu.Unlock()
			if !alive {
				r.doom(fmt.Errorf("partition %d stopped before its records were delivered", p))
				continue
			}
			done = false
		}
		r.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-r.changed:
		case <-tick.C:
		case <-ctx.Done():
			return false
		}
	}
}

// txnHandler wraps h for exactly-once mode: the batch's context carries the round's producer and is
// cancelled when the round is doomed; a doomed round's batches are skipped (they are read again after
// the abort), and every handled batch is reported to the round.
func (s *Source) txnHandler(h Handler) Handler {
	return func(ctx context.Context, b *Batch) error {
		r := s.round.Load()
		if r == nil {
			return fmt.Errorf("batch of partition %d handed out outside a transaction", b.Partition)
		}
		next := b.Records[len(b.Records)-1].Offset + 1
		if r.doomed.Load() {
			r.handled(b.Partition, next)
			return nil
		}
		hctx, cancel := context.WithCancelCause(kafkatxn.NewContext(ctx, r))
		stop := context.AfterFunc(r.ctx, func() { cancel(context.Cause(r.ctx)) })
		err := h(hctx, b)
		stop()
		cancel(nil)
		if err != nil {
			if ctx.Err() != nil {
				return err // revoked or stopping: abandoned (the round is doomed by wait)
			}
			if !r.doomed.Load() {
				return err
			}
		}
		r.handled(b.Partition, next)
		return nil
	}
}

// runTransactional is Run's exactly-once variant: the client is a GroupTransactSession and every poll
// is one transaction (see the comment at the top of this file).
func (s *Source) runTransactional(runCtx, clientCtx context.Context, instanceID string) error {
	// A round's records are all polled before its batches are cut, and no more arrive until it ends:
	// waiting for more (BatchWindow) would only delay the round's commit. No worker runs yet.
	s.cfg.BatchWindow = 0
	opts := s.clientOpts(clientCtx, instanceID,
		// Records of aborted transactions upstream are not events (an exactly-once chain of pipes).
		// (Offset fetches always require stable offsets in this franz-go: a new owner waits for a
		// pending transaction's offsets.)
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.TransactionalID(instanceID),
		kgo.TransactionTimeout(txnTimeout),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(txnDeliveryTimeout),
	)
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return s.errorf("creating the transactional consumer", fmt.Errorf("%w: %v", ErrConfig, err))
	}
	cl := sess.Client()
	s.mu.Lock()
	s.cl = cl
	s.handler = s.txnHandler(s.handler)
	s.mu.Unlock()
	// Fence the predecessor at once. franz-go initializes the producer ID only at the first produce,
	// but a killed predecessor that had sent its TxnOffsetCommit and not its EndTxn leaves pending
	// offsets, and the group's offset fetch (RequireStable) waits for them to resolve before this member
	// consumes anything, which would be the transaction timeout. InitProducerID with the same
	// transactional ID aborts that transaction now.
	pctx, cancel := context.WithTimeout(clientCtx, s.cfg.ConnectTimeout+txnDeliveryTimeout)
	_, _, err = cl.ProducerID(pctx)
	cancel()
	if err != nil {
		sess.Close()
		s.mu.Lock()
		s.cl = nil
		s.mu.Unlock()
		return s.errorf("initializing the transactional producer (transactional ID "+instanceID+")", s.classify(err))
	}
	s.log.Info("kafka source started (exactly-once)", "brokers", strings.Join(s.cfg.Brokers, ","), "topic", s.cfg.Topic,
		"consumer_group", s.group, "instance_id", instanceID, "transactional_id", instanceID,
		"starting_position", s.cfg.StartingPosition)

	// The poll and the hand-out are Run's (poll, handOut); what differs from Run's loop: no waitForRoom
	// (every queue is empty between rounds) but a bound on the poll, a fatal fetch error stops Run
	// before anything is handed out, the round tracks what it hands out and waits until all of it was
	// handled, and rebalances stay held back until the round's End returned.
	errs := newErrorLog(s.log)
	var open *round
	for runCtx.Err() == nil {
		s.mu.Lock()
		limit := roundBatches * s.cfg.BatchSize * max(1, len(s.workers))
		s.mu.Unlock()
		// s.poll polls the client: the session's PollRecords is a mere wrapper of the client's.
		fetches, ok, fatal := s.poll(runCtx, cl, errs, limit)
		if !ok {
			break
		}
		if fatal != nil {
			sess.AllowRebalance()
			s.fail(fatal)
			break
		}
		if fetches.NumRecords() == 0 {
			sess.AllowRebalance()
			continue
		}
		if err := sess.Begin(); err != nil {
			sess.AllowRebalance()
			s.fail(s.errorf("beginning a transaction", err))
			break
		}
		r := newRound(cl)
		s.round.Store(r)
		open = r
		s.handOut(fetches, r.expect)
		if !r.wait(runCtx, s) {
			break // stopping: shutdownTransactional aborts the round once its handlers returned
		}
		if err := s.endRound(clientCtx, sess, r); err != nil {
			sess.AllowRebalance()
			s.fail(err)
			break
		}
		open = nil
		sess.AllowRebalance()
	}
	s.shutdownTransactional(clientCtx, sess, open)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failErr
}

// endRound ends the round's transaction: a commit unless the round is doomed (the session itself
// aborts when the group rebalanced or the commit of the offsets failed); an abort rewinds the consumer
// to the committed offsets, so the round's records are read again. Its errors are not retryable (the
// session's transactional state is unknown): they stop Run, and the restart fences whatever is left.
func (s *Source) endRound(ctx context.Context, sess *kgo.GroupTransactSession, r *round) error {
	defer s.round.Store(nil)
	want := kgo.TryCommit
	if r.doomed.Load() {
		want = kgo.TryAbort
	}
	committed, err := sess.End(ctx, want)
	if err != nil {
		return s.errorf("ending the transaction", err)
	}
	if !committed {
		cause := context.Cause(r.ctx)
		if cause == nil {
			cause = errors.New("the group rebalanced or the offset commit was refused")
		}
		s.log.Warn("transaction aborted; its records will be read and delivered again", "topic", s.cfg.Topic, "reason", cause.Error())
	}
	return nil
}

// shutdownTransactional stops every worker (waiting for in-flight handlers), aborts the open round's
// transaction (what it delivered is read again by the next run, and never seen by read_committed
// readers), leaves the group and closes the client.
func (s *Source) shutdownTransactional(ctx context.Context, sess *kgo.GroupTransactSession, open *round) {
	parts := s.assignedParts()
	if open != nil {
		open.doom(errors.New("the source is stopping"))
	}
	cl := sess.Client()
	s.stopWorkers(cl, parts)
	ctx, cancel := context.WithTimeout(ctx, shutdownCommitTimeout)
	defer cancel()
	if open != nil {
		if err := s.endRound(ctx, sess, open); err != nil {
			s.log.Warn("aborting the open transaction at shutdown; the broker aborts it at its timeout or when this member restarts", "error", err)
		}
	}
	// The open round's poll still holds rebalances back; leaving the group waits for them.
	sess.AllowRebalance()
	s.leaveAndClose(ctx, cl) // the session's Close is the client's
}
