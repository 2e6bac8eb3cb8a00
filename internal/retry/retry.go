// Package retry decides what happens when a pipe's execution fails: which failures are retried, how long
// to wait (exponential backoff with full jitter, honouring Retry-After), when to give up
// (MaximumRetryAttempts, MaximumRecordAgeInSeconds), and, once a batch has exhausted its retries, how to
// isolate the records that fail by bisecting it so that the rest is delivered and only those are
// dead-lettered.
//
// The rules, chosen to keep Pipes' default and add Lambda's Kafka-mapping controls on top:
//
//   - Without a dead-letter destination a record is never given up: the batch is retried until it
//     succeeds (Pipes' behaviour, which blocks the partition), whatever MaximumRetryAttempts or
//     MaximumRecordAgeInSeconds say, because there is nowhere to put a record that is given up and a
//     record must always be delivered, dead-lettered or left uncommitted in Kafka. A permanent failure is
//     then retried at the backoff cap rather than in a tight loop.
//   - With a dead-letter destination a batch is given up when a call fails permanently, when it has been
//     retried MaximumRetryAttempts times (-1 or absent: forever), or when its oldest record is older than
//     MaximumRecordAgeInSeconds (-1 or absent: no limit). A given-up batch of one record is
//     dead-lettered; a larger one is split in two halves, each run in turn (left first, so delivery order
//     is kept), each with a fresh retry budget; a half whose records are already too old gets a single
//     attempt. Records that succeed in a half are delivered once; only the records that fail alone are
//     returned as Failures.
//   - Throttling counts as a retry; the wait is the larger of the backoff and the Retry-After asked for.
//   - Bisecting re-runs the whole execution (enrichment included) on each half: an enrichment's output
//     depends on its input batch, as Pipes re-invokes it on every retry.
package retry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults for the backoff.
const (
	DefaultBase = 100 * time.Millisecond
	DefaultCap  = 30 * time.Second
)

// sleep waits d or until ctx is done, returning ctx's error in that case. (Tests run the policy in a
// testing/synctest bubble, where the wait takes no real time.)
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Policy is a pipe's retry policy. The zero value retries forever with the default backoff.
type Policy struct {
	// Base and Cap bound the backoff: attempt n waits a uniformly random time in [0, min(Cap, Base*2^(n-1))).
	Base, Cap time.Duration
	// MaxRetries is MaximumRetryAttempts: retries after the first attempt; negative means forever.
	MaxRetries int
	// MaxRecordAge is MaximumRecordAgeInSeconds; zero or negative means no limit.
	MaxRecordAge time.Duration
	// DeadLetter is true when the pipe has a dead-letter destination, the condition for ever giving up.
	DeadLetter bool
	// Rand returns a number in [0, 1) for the jitter; defaults to math/rand/v2.Float64.
	Rand func() float64
}

// FromPipe builds the policy of a pipe's SelfManagedKafkaParameters extension fields (nil = absent).
func FromPipe(maximumRetryAttempts, maximumRecordAgeInSeconds *int, deadLetter bool) Policy {
	p := Policy{MaxRetries: -1, DeadLetter: deadLetter}
	if maximumRetryAttempts != nil {
		p.MaxRetries = *maximumRetryAttempts
	}
	if maximumRecordAgeInSeconds != nil && *maximumRecordAgeInSeconds > 0 {
		p.MaxRecordAge = time.Duration(*maximumRecordAgeInSeconds) * time.Second
	}
	return p
}

// Reason says why a record was given up.
type Reason string

// The reasons, as written in dead-letter records.
const (
	ReasonPermanent        Reason = "permanent-failure"
	ReasonRetriesExhausted Reason = "retries-exhausted"
	ReasonRecordTooOld     Reason = "record-age-exceeded"
)

// Failure is a record given up: its index in the batch, the last error, why, and how many executions
// included it.
type Failure struct {
	Index    int
	Err      error
	Class    Class
	Reason   Reason
	Attempts int
}

// Attempt describes a failed execution about to be retried, for logs and metrics.
type Attempt struct {
	Lo, Hi  int // the range of the batch that was executed
	Attempt int // 1 for the first failure of this range
	Err     error
	Class   Class
	Delay   time.Duration // the wait before the next attempt
}

// Exec runs the execution (enrichment + target) for records [lo, hi) of the batch.
type Exec func(ctx context.Context, lo, hi int) error

// Batch is what Run works on.
type Batch struct {
	// Len is the number of records.
	Len int
	// Timestamp returns record i's Kafka timestamp, for MaxRecordAge; nil disables the age limit.
	Timestamp func(i int) time.Time
	// Exec runs a range of the batch.
	Exec Exec
	// OnRetry, when set, is called before each wait.
	OnRetry func(Attempt)
	// OnGiveUp, when set, is called when a range is given up, before it is split (or dead-lettered when
	// it is one record).
	OnGiveUp func(lo, hi int, reason Reason, err error)
}

// Run executes the batch under the policy. It returns the records that were given up (empty when
// everything was delivered, never non-empty without DeadLetter), in batch order. The error is non-nil
// only when ctx ended first; the batch's outcome is then unknown and it must not be committed.
func (p Policy) Run(ctx context.Context, b Batch) ([]Failure, error) {
	if b.Len == 0 {
		return nil, nil
	}
	r := runner{p: p, b: b}
	if r.p.Rand == nil {
		r.p.Rand = rand.Float64
	}
	if r.p.Base <= 0 {
		r.p.Base = DefaultBase
	}
	if r.p.Cap <= 0 {
		r.p.Cap = DefaultCap
	}
	if err := r.run(ctx, 0, b.Len, 0); err != nil {
		return nil, err
	}
	return r.failures, nil
}

type runner struct {
	p        Policy
	b        Batch
	failures []Failure
}

// run executes [lo, hi) until it succeeds or is given up; prior is the number of executions its records
// have already been part of.
func (r *runner) run(ctx context.Context, lo, hi, prior int) error {
	for attempt := 1; ; attempt++ {
		err := r.b.Exec(ctx, lo, hi)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("executing records %d to %d: %w", lo, hi-1, ctx.Err())
		}
		class, after := Classify(err)
		if r.p.DeadLetter {
			reason, giveUp := Reason(""), false
			switch {
			case class == Permanent:
				reason, giveUp = ReasonPermanent, true
			case r.tooOld(lo, hi): // also makes a too-old half of a bisected batch a single attempt
				reason, giveUp = ReasonRecordTooOld, true
			case r.p.MaxRetries >= 0 && attempt > r.p.MaxRetries:
				reason, giveUp = ReasonRetriesExhausted, true
			}
			if giveUp {
				return r.giveUp(ctx, lo, hi, prior+attempt, reason, class, err)
			}
		}
		delay := r.backoff(attempt)
		if class == Permanent {
			// Only without a dead-letter destination: wait as long as the policy allows before knocking again.
			delay = r.p.Cap
		}
		delay = max(delay, after)
		if r.b.OnRetry != nil {
			r.b.OnRetry(Attempt{Lo: lo, Hi: hi, Attempt: attempt, Err: err, Class: class, Delay: delay})
		}
		if err := sleep(ctx, delay); err != nil {
			return fmt.Errorf("waiting to retry records %d to %d: %w", lo, hi-1, err)
		}
	}
}

func (r *runner) giveUp(ctx context.Context, lo, hi, attempts int, reason Reason, class Class, err error) error {
	if r.b.OnGiveUp != nil {
		r.b.OnGiveUp(lo, hi, reason, err)
	}
	if hi-lo == 1 {
		r.failures = append(r.failures, Failure{Index: lo, Err: err, Class: class, Reason: reason, Attempts: attempts})
		return nil
	}
	mid := lo + (hi-lo)/2
	if err := r.run(ctx, lo, mid, attempts); err != nil {
		return err
	}
	return r.run(ctx, mid, hi, attempts)
}

// tooOld reports whether the oldest record of [lo, hi) is older than MaxRecordAge.
func (r *runner) tooOld(lo, hi int) bool {
	if r.p.MaxRecordAge <= 0 || r.b.Timestamp == nil {
		return false
	}
	now := time.Now()
	for i := lo; i < hi; i++ {
		if now.Sub(r.b.Timestamp(i)) > r.p.MaxRecordAge {
			return true
		}
	}
	return false
}

// backoff returns the full-jitter wait after the attempt-th failure.
func (r *runner) backoff(attempt int) time.Duration {
	ceiling := r.p.Cap
	if shift := attempt - 1; shift < 62 {
		if d := r.p.Base << shift; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	return time.Duration(r.p.Rand() * float64(ceiling))
}
