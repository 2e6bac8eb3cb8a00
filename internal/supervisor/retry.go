package supervisor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Default bounds of Backoff: the first retry after about a second, doubling up to five minutes.
const (
	DefaultInitial = time.Second
	DefaultMax     = 5 * time.Minute
)

// Backoff is the wait before retry n (n = 1 after the first failed attempt): Initial·2^(n-1), capped at
// Max, of which a random part up to half is taken off ("equal jitter": waits keep growing, as the
// StateReason shows, while pipes that failed together spread out). Zero fields take the defaults.
type Backoff struct {
	Initial, Max time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultInitial
	}
	if b.Max <= 0 {
		b.Max = DefaultMax
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	return b
}

// Delay returns the wait before retry n (n >= 1).
func (b Backoff) Delay(n int) time.Duration {
	b = b.withDefaults()
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if half := d / 2; half > 0 {
		d -= rand.N(half + 1)
	}
	return d
}

// Retrying describes a failed attempt that will be retried.
type Retrying struct {
	Attempt int           // the attempt that failed, from 1
	Err     error         // why it failed (transient)
	Delay   time.Duration // the wait before the next attempt
	Next    time.Time     // when the next attempt starts
}

// Reason is the text a pipe's StateReason and the logs show while the pipe retries, for example
// "retrying in 8s, at 13:20:05Z (attempt 4 failed): connecting to broker ...: connection refused".
func (r Retrying) Reason() string {
	return fmt.Sprintf("retrying in %s, at %s (attempt %d failed): %v", Round(r.Delay),
		r.Next.UTC().Format("15:04:05Z"), r.Attempt, r.Err)
}

// Round makes a duration readable in logs and reasons: milliseconds below a second, tenths below ten
// seconds, whole seconds above.
func Round(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < 10*time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// Retry calls attempt until it returns nil, an error that is not Transient, or ctx ends, and returns
// that result (ctx's error when ctx ended first). Before each wait it calls onRetry, when not nil.
// A panic in attempt is not recovered here: the caller's boundary turns it into a failure.
func Retry(ctx context.Context, b Backoff, attempt func(ctx context.Context) error, onRetry func(Retrying)) error {
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !Transient(err) {
			return err
		}
		d := b.Delay(n)
		if onRetry != nil {
			onRetry(Retrying{Attempt: n, Err: err, Delay: d, Next: time.Now().Add(d)})
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
