package concurrency

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestAIMD runs in a synctest bubble, where time.Sleep moves the limiter's clock past the cooldown at once.
func TestAIMD(t *testing.T) { synctest.Test(t, testAIMD) }

func testAIMD(t *testing.T) {
	l := New(8, WithCooldown(time.Second))
	ctx := context.Background()
	step := func(o Outcome) {
		t.Helper()
		if err := l.Acquire(ctx); err != nil {
			t.Fatalf("Acquire = %v, want nil", err)
		}
		l.Release(o)
	}
	if got := l.Limit(); got != 8 {
		t.Fatalf("initial Limit() = %d, want 8 (starts at the ceiling)", got)
	}
	step(Overloaded)
	if got := l.Limit(); got != 4 {
		t.Fatalf("Limit() after overload = %d, want 4", got)
	}
	step(Overloaded) // within the cooldown: no second cut
	if got := l.Limit(); got != 4 {
		t.Fatalf("Limit() after a second overload within the cooldown = %d, want 4", got)
	}
	time.Sleep(time.Second)
	step(Overloaded)
	time.Sleep(time.Second)
	step(Overloaded)
	time.Sleep(time.Second)
	step(Overloaded) // 4 -> 2 -> 1 -> 1: never below one
	if got := l.Limit(); got != 1 {
		t.Fatalf("Limit() after repeated overloads = %d, want 1", got)
	}
	step(Failed)
	if got := l.Limit(); got != 1 {
		t.Fatalf("Limit() after a permanent failure = %d, want 1 (no signal about load)", got)
	}
	// Additive increase: about one more slot per limit's worth of successes.
	for range 2 {
		step(Success)
	}
	if got := l.Limit(); got != 2 {
		t.Fatalf("Limit() after 2 successes from 1 = %d, want 2", got)
	}
	for range 100 {
		step(Success)
	}
	if got := l.Limit(); got != 8 {
		t.Fatalf("Limit() after many successes = %d, want the ceiling 8", got)
	}
	if got := l.InFlight(); got != 0 {
		t.Fatalf("InFlight() = %d, want 0", got)
	}
}

// TestAcquireBlocksAtTheLimitAndServesInOrder runs in a synctest bubble, so that synctest.Wait tells when
// a goroutine has queued (it is then durably blocked on its channel).
func TestAcquireBlocksAtTheLimitAndServesInOrder(t *testing.T) {
	synctest.Test(t, testAcquireBlocksAtTheLimitAndServesInOrder)
}

func testAcquireBlocksAtTheLimitAndServesInOrder(t *testing.T) {
	l := New(1)
	ctx := context.Background()
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Acquire(ctx); err != nil {
				t.Errorf("Acquire = %v", err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			l.Release(Success)
		}()
		// Let goroutine i queue before i+1, so the expected order is known.
		synctest.Wait()
		if n := waiters(l); n != i+1 {
			t.Fatalf("%d waiters after goroutine %d blocked, want %d", n, i, i+1)
		}
	}
	if got := l.InFlight(); got != 1 {
		t.Fatalf("InFlight() = %d, want 1 while the others wait", got)
	}
	l.Release(Success)
	wg.Wait()
	if len(order) != 3 || order[0] != 0 || order[1] != 1 || order[2] != 2 {
		t.Fatalf("waiters served in order %v, want [0 1 2]", order)
	}
}

func TestAcquireHonoursContext(t *testing.T) { synctest.Test(t, testAcquireHonoursContext) }

func testAcquireHonoursContext(t *testing.T) {
	l := New(1)
	if err := l.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.Acquire(ctx) }()
	synctest.Wait()
	if n := waiters(l); n != 1 {
		t.Fatalf("%d waiters, want 1", n)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire after cancel = %v, want context.Canceled", err)
	}
	l.Release(Success)
	if got := l.InFlight(); got != 0 {
		t.Fatalf("InFlight() = %d after the cancelled waiter left, want 0", got)
	}
}

func TestSetMax(t *testing.T) {
	l := New(8)
	l.SetMax(2)
	if got := l.Limit(); got != 2 {
		t.Fatalf("Limit() after SetMax(2) = %d, want 2", got)
	}
	l.SetMax(0)
	if got := l.Limit(); got != 1 {
		t.Fatalf("Limit() after SetMax(0) = %d, want 1", got)
	}
}

// TestConcurrentUse hammers the limiter from many goroutines (run with -race) and checks the bound holds.
func TestConcurrentUse(t *testing.T) {
	l := New(4, WithCooldown(0))
	var mu sync.Mutex
	cur, peak := 0, 0
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if err := l.Acquire(context.Background()); err != nil {
					t.Errorf("Acquire = %v", err)
					return
				}
				mu.Lock()
				cur++
				peak = max(peak, cur)
				mu.Unlock()
				mu.Lock()
				cur--
				mu.Unlock()
				o := Success
				if (g+i)%17 == 0 {
					o = Overloaded
				}
				l.Release(o)
			}
		}()
	}
	wg.Wait()
	if peak > 4 {
		t.Fatalf("peak concurrency %d, want <= 4", peak)
	}
	if got := l.InFlight(); got != 0 {
		t.Fatalf("InFlight() = %d, want 0", got)
	}
}

// waiters is the number of blocked Acquire calls.
func waiters(l *Limiter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.waiters)
}
