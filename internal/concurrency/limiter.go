// Package concurrency bounds how many of a pipe's partitions run an execution at the same time, and adapts
// that bound to the target, as EventBridge Pipes scales its Kafka consumers: up to one per partition while
// the target keeps up, fewer when the target is overloaded.
//
// In Sluice one franz-go consumer serves every partition a pipe is assigned, with one worker per
// partition, so "one consumer per partition" is the natural ceiling: at most one execution per partition
// (order within a partition requires it) and so at most as many executions as partitions. The Limiter is
// the "fewer when overloaded" half: additive increase, multiplicative decrease (AIMD, as TCP congestion
// control), driven by what each execution reports:
//
//   - Overloaded (the target throttled with 429 or a throttling code, answered 5xx, or timed out): the
//     limit halves, at most once per Cooldown so that the executions that were already in flight when the
//     target started struggling do not collapse it to one at once;
//   - Success: the limit grows by 1/limit, so by about one after a limit's worth of successes;
//   - Failed (a permanent failure, a bad record): no change, because it says nothing about load.
//
// The limit never drops below one, so a pipe always makes progress, and starts at the ceiling: a healthy
// target sees every partition in parallel from the first batch, as it does without a limiter.
package concurrency

import (
	"context"
	"sync"
	"time"
)

// Outcome is what an execution reports when it releases its slot.
type Outcome int

// The outcomes.
const (
	// Success: the execution delivered.
	Success Outcome = iota
	// Overloaded: the target (or enrichment) throttled, failed with a server error, or timed out.
	Overloaded
	// Failed: the execution failed for a reason that says nothing about load (a permanent error).
	Failed
)

// DefaultCooldown is the minimum time between two decreases.
const DefaultCooldown = time.Second

// Limiter is an adaptive bound on concurrent executions. The zero value is not usable; use New.
// A Limiter is safe for concurrent use.
type Limiter struct {
	mu       sync.Mutex
	limit    float64 // current bound, 1 <= limit <= max
	max      int
	inflight int
	cooldown time.Duration
	lastCut  time.Time
	waiters  []chan struct{} // FIFO of blocked Acquire calls
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithCooldown sets the minimum time between two decreases (default DefaultCooldown).
func WithCooldown(d time.Duration) Option { return func(l *Limiter) { l.cooldown = d } }

// New returns a Limiter whose bound starts at, and never exceeds, max (at least 1).
func New(max int, opts ...Option) *Limiter {
	if max < 1 {
		max = 1
	}
	l := &Limiter{limit: float64(max), max: max, cooldown: DefaultCooldown}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Limit returns the current bound (an integer: the number of executions that may run at once).
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}

// InFlight returns the number of executions holding a slot.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight
}

// SetMax changes the ceiling (for example when the pipe's partition assignment changes). The current
// bound is clamped to it; raising the ceiling does not raise the bound at once, successes do.
func (l *Limiter) SetMax(max int) {
	if max < 1 {
		max = 1
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.max = max
	if l.limit > float64(max) {
		l.limit = float64(max)
	}
	l.wakeLocked()
}

// Acquire blocks until a slot is free or ctx ends; it returns ctx's error in the latter case. Waiters are
// served in arrival order, so a partition cannot be starved by the others.
func (l *Limiter) Acquire(ctx context.Context) error {
	l.mu.Lock()
	if len(l.waiters) == 0 && l.inflight < int(l.limit) {
		l.inflight++
		l.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()

	select {
	case <-ch:
		return nil // wakeLocked counted us in
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, w := range l.waiters {
			if w == ch {
				l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Woken concurrently with the cancellation: we hold a slot; hand it on.
		l.inflight--
		l.wakeLocked()
		return ctx.Err()
	}
}

// Release returns a slot and adapts the bound to the execution's outcome.
func (l *Limiter) Release(o Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	switch o {
	case Success:
		l.limit += 1 / l.limit
		if l.limit > float64(l.max) {
			l.limit = float64(l.max)
		}
	case Overloaded:
		now := time.Now()
		if l.lastCut.IsZero() || now.Sub(l.lastCut) >= l.cooldown {
			l.limit /= 2
			if l.limit < 1 {
				l.limit = 1
			}
			l.lastCut = now
		}
	}
	l.wakeLocked()
}

// wakeLocked hands free slots to waiters in order.
func (l *Limiter) wakeLocked() {
	for len(l.waiters) > 0 && l.inflight < int(l.limit) {
		ch := l.waiters[0]
		l.waiters = l.waiters[1:]
		l.inflight++
		close(ch)
	}
}
