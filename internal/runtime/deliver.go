package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/concurrency"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/retry"
	"github.com/sluicehq/sluice/internal/source/kafka"
)

// This file is the delivery policy: what happens when an execution fails. deliver is called once
// per non-empty filtered batch and returns nil only when the batch may be committed: every event was
// delivered, or given up and stored in the dead-letter destination. It returns the context's error when
// the pipe stops first; the batch then stays uncommitted and is read again.
//
// The policy is package retry's (its package comment has the rules): without a DeadLetterConfig, Pipes'
// behaviour, every failure is retried until it succeeds and a poison record blocks its partition; with
// one, MaximumRetryAttempts and MaximumRecordAgeInSeconds bound the retries, an exhausted batch is
// bisected, the records that fail alone are dead-lettered and the rest delivered. Each attempt is one
// execution (enrichment + target) bounded by the execution limit (guarantees.timeout, 5 minutes by
// default, as Pipes), logged and measured by runExecution (execution.go).

// Backoff is the delay between attempts: a uniformly random wait below Initial·2^(n-1), capped at Max
// (full jitter, so that partitions retrying together spread out).
type Backoff struct {
	Initial, Max time.Duration
}

// Default backoff bounds.
const (
	DefaultBackoffInitial = retry.DefaultBase
	DefaultBackoffMax     = retry.DefaultCap
)

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultBackoffInitial
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	return b
}

// deliver runs the executions of one batch's filtered events under the pipe's retry policy and
// dead-letters what it gives up.
func (p *Pipe) deliver(ctx context.Context, b *kafka.Batch, events []json.RawMessage, ahead *preRendered) error {
	g := p.g
	if p.src != nil {
		// The ceiling is one execution per assigned partition ("up to one consumer per partition").
		p.limiter.SetMax(p.src.Assigned())
	}
	recs, err := recordsOf(b, events)
	if err != nil {
		return fmt.Errorf("pipe %s: %w", p.name, err)
	}
	// delivered is how many leading events of the batch are known delivered: an attempt that failed after
	// delivering some (a failed chunk after good ones, a plugin.PartialError) is retried from the first
	// event not delivered, which keeps per-key order (the policy runs ranges in order, left to right) and
	// sends no event twice that the target acknowledged before the failure.
	delivered := 0
	failures, err := g.policy.Run(ctx, retry.Batch{
		Len:       len(events),
		Timestamp: func(i int) time.Time { return recs[i].Timestamp },
		Exec: func(ctx context.Context, lo, hi int) error {
			start := min(max(lo, delivered), hi)
			if start == hi {
				return nil // delivered by an earlier attempt of a range holding this one
			}
			if err := p.limiter.Acquire(ctx); err != nil {
				return err
			}
			var pre *preRendered
			if start == 0 && hi == len(events) {
				pre, ahead = ahead, nil // the payloads rendered ahead serve the first whole-batch attempt only
			}
			done, err := p.runExecution(ctx, events[start:hi], pre)
			p.limiter.Release(loadOutcome(ctx, err))
			delivered = max(delivered, start+done)
			return err
		},
		OnRetry: func(a retry.Attempt) {
			if g.metrics != nil {
				g.metrics.Retry(metrics.StageExecution, retryOutcome(a.Class))
			}
			p.log.Warn("execution failed; retrying", "topic", b.Topic, "partition", b.Partition,
				"first_offset", recs[a.Lo].Offset, "last_offset", recs[a.Hi-1].Offset, "events", a.Hi-a.Lo,
				"attempt", a.Attempt, "class", a.Class.String(), "retry_in", a.Delay, "error", a.Err)
		},
		OnGiveUp: func(lo, hi int, reason retry.Reason, err error) {
			msg := "giving up on records; bisecting to isolate the failing ones"
			if hi-lo == 1 {
				msg = "giving up on a record; dead-lettering it"
			}
			p.log.Warn(msg, "topic", b.Topic, "partition", b.Partition, "first_offset", recs[lo].Offset,
				"last_offset", recs[hi-1].Offset, "reason", string(reason), "error", err)
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if len(failures) == 0 {
		return nil
	}
	return p.deadLetter(ctx, recs, failures)
}

// deadLetter stores the given-up records in the dead-letter destination, retrying until it accepts them
// (a record is never dropped) or the pipe stops.
func (p *Pipe) deadLetter(ctx context.Context, recs []*kafka.Record, failures []retry.Failure) error {
	g := p.g
	now := time.Now()
	letters := make([]json.RawMessage, len(failures))
	for i, f := range failures {
		r := recs[f.Index]
		dl := retry.NewDeadLetter(p.name, p.vars.PipeArn, f, retry.RecordInfo{
			Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp, Event: r.Event,
		}, now)
		data, err := json.Marshal(dl)
		if err != nil {
			return fmt.Errorf("pipe %s: encoding the dead letter of %s/%d@%d: %w", p.name, r.Topic, r.Partition, r.Offset, err)
		}
		letters[i] = data
	}
	policy := retry.Policy{MaxRetries: -1, Base: g.policy.Base, Cap: g.policy.Cap}
	// delivered is how many leading letters the destination has acknowledged: as on the target path
	// (deliver), a retry resumes at the first one not stored (after a failed chunk, or the first failed
	// entry of a plugin.PartialError), so that the destination gets no letter twice that it accepted.
	delivered := 0
	_, err := policy.Run(ctx, retry.Batch{
		Len: len(letters),
		Exec: func(ctx context.Context, lo, hi int) error {
			start := min(max(lo, delivered), hi)
			if start == hi {
				return nil
			}
			dctx, cancel := context.WithTimeout(ctx, g.timeout)
			defer cancel()
			err := p.guard("the dead-letter destination "+g.dlqArn, func() error {
				for i := start; i < hi; {
					j := chunkEnd(i, hi, g.dlqMax)
					if err := g.dlq.Deliver(dctx, plugin.Batch{Payloads: letters[i:j], Inputs: letters[i:j]}); err != nil {
						delivered = max(delivered, i+deliveredBefore(err, j-i))
						return err
					}
					delivered = max(delivered, j)
					i = j
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("writing %d dead letters to %s: %w", hi-start, g.dlqArn, err)
			}
			return nil
		},
		OnRetry: func(a retry.Attempt) {
			if g.metrics != nil {
				g.metrics.Retry(metrics.StageDeadLetter, retryOutcome(a.Class))
			}
			p.log.Error("dead-letter destination failed; retrying", "destination", g.dlqArn, "records", len(letters),
				"attempt", a.Attempt, "retry_in", a.Delay, "error", a.Err)
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if g.metrics != nil {
		g.metrics.RecordsDeadLettered.Add(float64(len(failures)))
	}
	for _, f := range failures {
		r := recs[f.Index]
		p.log.Error("record dead-lettered", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset,
			"reason", string(f.Reason), "attempts", f.Attempts, "destination", g.dlqArn, "error", f.Err)
	}
	return nil
}

func retryOutcome(c retry.Class) string {
	switch c {
	case retry.Throttled:
		return metrics.OutcomeThrottled
	case retry.Timeout:
		return metrics.OutcomeTimeout
	default:
		return metrics.OutcomeError
	}
}

// loadOutcome tells the concurrency limiter what an execution's result says about the target's load:
// throttling, timeouts and retryable failures (5xx, network errors) mean fewer executions at once; a
// permanent failure or the pipe stopping says nothing about load.
func loadOutcome(ctx context.Context, err error) concurrency.Outcome {
	if err == nil {
		return concurrency.Success
	}
	if ctx.Err() != nil {
		return concurrency.Failed
	}
	switch c, _ := retry.Classify(err); c {
	case retry.Throttled, retry.Timeout, retry.Retryable:
		return concurrency.Overloaded
	default:
		return concurrency.Failed
	}
}
