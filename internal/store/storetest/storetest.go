// Package storetest is the conformance suite of store.Store: every implementation (the bbolt store,
// the Kafka-topic store of cluster mode) runs Run, so that the supervisor and the API can rely on one
// behaviour — errors, quotas, compare-and-set updates, read-your-writes and Watch — whichever store a
// server uses.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/store"
)

// Run runs the conformance suite as subtests of t. newStore must return a fresh, empty store for each
// call (it may be called several times by one subtest, never for a store shared with another
// subtest) and register its own cleanup (t.Cleanup) to close it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateGetListDelete", func(t *testing.T) { testCRUD(t, newStore(t)) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("Quota", func(t *testing.T) { testQuota(t, newStore(t)) })
	t.Run("ConcurrentCreateOneName", func(t *testing.T) { testCreateRace(t, newStore(t)) })
	t.Run("ConcurrentCreateQuota", func(t *testing.T) { testQuotaRace(t, newStore(t)) })
	t.Run("UpdateCompareAndSet", func(t *testing.T) { testCAS(t, newStore(t)) })
	t.Run("NoLostUpdates", func(t *testing.T) { testNoLostUpdates(t, newStore(t)) })
	t.Run("WatchSeesEveryWrite", func(t *testing.T) { testWatch(t, newStore(t)) })
	t.Run("WatchEndsWithContext", func(t *testing.T) { testWatchCancel(t, newStore(t)) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelled(t, newStore(t)) })
}

// Record returns a valid record named name, as the API writes one (CREATING, RUNNING desired).
func Record(name string) *store.Record {
	t0 := time.Date(2026, 11, 25, 13, 0, 0, 123456789, time.UTC)
	return &store.Record{
		Name:             name,
		Definition:       json.RawMessage(`{"Source":"smk://127.0.0.1:9092","Target":"file:///tmp/out.jsonl","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"orders"}}}`),
		DesiredState:     "RUNNING",
		CurrentState:     "CREATING",
		Tags:             map[string]string{"team": "payments"},
		CreationTime:     t0,
		LastModifiedTime: t0,
	}
}

// normalized drops what the store owns (format version, revision) and normalises JSON spacing.
func normalized(t *testing.T, r *store.Record) *store.Record {
	t.Helper()
	c := r.Clone()
	c.Version, c.Revision = 0, 0
	var v any
	if err := json.Unmarshal(c.Definition, &v); err != nil {
		t.Fatalf("record %s: definition is not JSON: %v", r.Name, err)
	}
	c.Definition, _ = json.Marshal(v)
	return c
}

func mustCreate(t *testing.T, s store.Store, r *store.Record) {
	t.Helper()
	if err := s.Create(t.Context(), r, 0); err != nil {
		t.Fatalf("Create(%s): %v", r.Name, err)
	}
}

func names(recs []*store.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Name
	}
	return out
}

func testCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, n := range []string{"b", "a", "c"} {
		r := Record(n)
		mustCreate(t, s, r)
		if r.Revision != 1 {
			t.Errorf("Create(%s) set Revision %d, want 1", n, r.Revision)
		}
		// Read-your-writes: once Create returns, this store serves the record.
		got, err := s.Get(ctx, n)
		if err != nil {
			t.Fatalf("Get(%s) right after Create: %v", n, err)
		}
		if got.Revision != 1 {
			t.Errorf("Get(%s).Revision = %d, want 1", n, got.Revision)
		}
		if diff := cmp.Diff(normalized(t, Record(n)), normalized(t, got)); diff != "" {
			t.Errorf("Get(%s) differs from the record created (-want +got):\n%s", n, diff)
		}
	}
	if err := s.Create(ctx, Record("a"), 0); !errors.Is(err, store.ErrExists) {
		t.Errorf("Create(a) again = %v, want ErrExists", err)
	}
	// Get returns a copy: changing it changes nothing stored.
	got, _ := s.Get(ctx, "a")
	got.Tags["team"] = "changed"
	got.CurrentState = "RUNNING"
	again, err := s.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if again.Tags["team"] != "payments" || again.CurrentState != "CREATING" {
		t.Errorf("changing a record returned by Get changed the store: %+v", again)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(list), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("List = %v, want %v (name order)", got, want)
	}
	if n, err := s.Count(ctx); err != nil || n != 3 {
		t.Errorf("Count = %d, %v; want 3", n, err)
	}
	if err := s.Delete(ctx, "b"); err != nil {
		t.Fatalf("Delete(b): %v", err)
	}
	if _, err := s.Get(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(b) after Delete = %v, want ErrNotFound", err)
	}
	list, _ = s.List(ctx)
	if got, want := names(list), []string{"a", "c"}; !slices.Equal(got, want) {
		t.Errorf("List after Delete = %v, want %v", got, want)
	}
	if n, _ := s.Count(ctx); n != 2 {
		t.Errorf("Count after Delete = %d, want 2", n)
	}
	// A deleted name can be created again, from revision 1.
	r := Record("b")
	mustCreate(t, s, r)
	if r.Revision != 1 {
		t.Errorf("re-Create(b) set Revision %d, want 1", r.Revision)
	}
}

func testUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, Record("p"))
	out, err := s.Update(ctx, "p", func(r *store.Record) error {
		if r.CurrentState != "CREATING" || r.Revision != 1 {
			return fmt.Errorf("fn saw %s at revision %d, want CREATING at 1", r.CurrentState, r.Revision)
		}
		r.CurrentState = "RUNNING"
		r.StateReason = "because"
		r.Tags = map[string]string{"k": "v"}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if out.Revision != 2 || out.CurrentState != "RUNNING" {
		t.Errorf("Update returned %s at revision %d, want RUNNING at 2", out.CurrentState, out.Revision)
	}
	got, err := s.Get(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != 2 || got.CurrentState != "RUNNING" || got.StateReason != "because" || got.Tags["k"] != "v" || len(got.Tags) != 1 {
		t.Errorf("Get after Update = %+v", got)
	}
	// An error from fn writes nothing and comes back as is (wrapped).
	errFn := errors.New("refused by fn")
	_, err = s.Update(ctx, "p", func(r *store.Record) error {
		r.CurrentState = "STOPPED"
		return errFn
	})
	if !errors.Is(err, errFn) {
		t.Errorf("Update with a failing fn = %v, want its error", err)
	}
	got, _ = s.Get(ctx, "p")
	if got.Revision != 2 || got.CurrentState != "RUNNING" {
		t.Errorf("a failed Update wrote: %s at revision %d", got.CurrentState, got.Revision)
	}
	// The revision is the store's: fn cannot set it.
	out, err = s.Update(ctx, "p", func(r *store.Record) error { r.Revision = 100; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if out.Revision != 3 {
		t.Errorf("Update where fn set Revision 100 stored revision %d, want 3", out.Revision)
	}
	if _, err := s.Update(ctx, "p", func(r *store.Record) error { r.Name = "q"; return nil }); err == nil {
		t.Error("Update renaming the record succeeded")
	}
	if _, err := s.Get(ctx, "q"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(q) after a refused rename = %v, want ErrNotFound", err)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.Get(ctx, "none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get = %v, want ErrNotFound", err)
	}
	called := false
	if _, err := s.Update(ctx, "none", func(*store.Record) error { called = true; return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Update = %v, want ErrNotFound", err)
	}
	if called {
		t.Error("Update of a missing record called fn")
	}
	if err := s.Delete(ctx, "none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete = %v, want ErrNotFound", err)
	}
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List of an empty store = %v, %v; want none", names(list), err)
	}
	if n, err := s.Count(ctx); err != nil || n != 0 {
		t.Errorf("Count of an empty store = %d, %v; want 0", n, err)
	}
}

func testQuota(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range 3 {
		if err := s.Create(ctx, Record("p"+strconv.Itoa(i)), 3); err != nil {
			t.Fatalf("Create p%d under a quota of 3: %v", i, err)
		}
	}
	if err := s.Create(ctx, Record("p9"), 3); !errors.Is(err, store.ErrQuota) {
		t.Errorf("fourth Create under a quota of 3 = %v, want ErrQuota", err)
	}
	if err := s.Create(ctx, Record("p0"), 3); !errors.Is(err, store.ErrExists) {
		t.Errorf("Create of an existing name at the quota = %v, want ErrExists", err)
	}
	if err := s.Delete(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, Record("p9"), 3); err != nil {
		t.Errorf("Create after a Delete made room: %v", err)
	}
	if n, _ := s.Count(ctx); n != 3 {
		t.Errorf("Count = %d, want 3", n)
	}
}

// testCreateRace: concurrent creates of one name give exactly one success; the others ErrExists.
func testCreateRace(t *testing.T, s store.Store) {
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := Record("same")
			r.StateReason = strconv.Itoa(i)
			errs[i] = s.Create(t.Context(), r, 0)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("creates %d and %d of one name both succeeded", winner, i)
			}
			winner = i
		case !errors.Is(err, store.ErrExists):
			t.Errorf("create %d = %v, want success or ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no create succeeded")
	}
	got, err := s.Get(t.Context(), "same")
	if err != nil {
		t.Fatal(err)
	}
	if got.StateReason != strconv.Itoa(winner) {
		t.Errorf("stored record is create %s's, but create %d succeeded", got.StateReason, winner)
	}
}

// testQuotaRace: concurrent creates never exceed the quota.
func testQuotaRace(t *testing.T, s store.Store) {
	const n, quota = 10, 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.Create(t.Context(), Record("q"+strconv.Itoa(i)), quota) })
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrQuota):
			t.Errorf("create %d = %v, want success or ErrQuota", i, err)
		}
	}
	if ok != quota {
		t.Errorf("%d creates succeeded under a quota of %d", ok, quota)
	}
	if c, _ := s.Count(t.Context()); c != quota {
		t.Errorf("Count = %d, want %d", c, quota)
	}
}

// counter reads the "n" tag that the update tests increment.
func counter(r *store.Record) int {
	n, _ := strconv.Atoi(r.Tags["n"])
	return n
}

func increment(r *store.Record) error {
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	r.Tags["n"] = strconv.Itoa(counter(r) + 1)
	return nil
}

// testCAS: two Updates at once. Each function waits (briefly) for the other to have read the record,
// so that a store that does not serialise updates sees two writers of the same revision: then one
// wins and the other gets ErrConflict. A store that serialises them (bbolt) runs them one after the
// other, and both succeed. Either way no update is lost: the counter equals the successes.
func testCAS(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, Record("p"))
	var entered sync.WaitGroup
	entered.Add(2)
	both := make(chan struct{})
	go func() { entered.Wait(); close(both) }()
	var once [2]sync.Once
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			_, errs[i] = s.Update(ctx, "p", func(r *store.Record) error {
				once[i].Do(entered.Done)
				select {
				case <-both:
				case <-time.After(300 * time.Millisecond): // a serialising store holds the other one back
				}
				return increment(r)
			})
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("update %d = %v, want success or ErrConflict", i, err)
		}
	}
	if ok == 0 {
		t.Fatal("neither of two concurrent updates succeeded")
	}
	got, err := s.Get(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if counter(got) != ok || got.Revision != uint64(1+ok) {
		t.Errorf("after %d successful updates: counter %d, revision %d; want %d and %d", ok, counter(got), got.Revision, ok, 1+ok)
	}
	t.Logf("two concurrent updates: %d succeeded, %d got ErrConflict", ok, 2-ok)
}

// testNoLostUpdates: writers that retry on ErrConflict, as the supervisor does, lose nothing.
func testNoLostUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, Record("p"))
	const writers, each = 4, 10
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			for range each {
				for {
					_, err := s.Update(ctx, "p", increment)
					if errors.Is(err, store.ErrConflict) {
						conflicts.Add(1)
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Update: %v", err)
	}
	got, err := s.Get(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if counter(got) != writers*each || got.Revision != 1+writers*each {
		t.Errorf("counter %d at revision %d, want %d at %d", counter(got), got.Revision, writers*each, 1+writers*each)
	}
	t.Logf("%d updates by %d writers, %d conflicts retried", writers*each, writers, conflicts.Load())
}

// watchLog collects the names a Watch reports and checks that calls never overlap.
type watchLog struct {
	mu       sync.Mutex
	seen     []string
	inFlight atomic.Int32
	overlap  atomic.Bool
}

func (w *watchLog) fn(name string) {
	if w.inFlight.Add(1) > 1 {
		w.overlap.Store(true)
	}
	defer w.inFlight.Add(-1)
	time.Sleep(time.Millisecond) // widen the window in which an overlapping call would show
	w.mu.Lock()
	w.seen = append(w.seen, name)
	w.mu.Unlock()
}

func (w *watchLog) names() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.seen)
}

// waitFor waits until the log holds want (in order, other names filtered out).
func (w *watchLog) waitFor(t *testing.T, want []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []string
		for _, n := range w.names() {
			if slices.Contains(want, n) {
				got = append(got, n)
			}
		}
		if len(got) >= len(want) {
			if !slices.Equal(got, want) {
				t.Fatalf("Watch reported %v, want %v (every write, in order)", got, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Watch reported %v within 10s, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testWatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, Record("before")) // written before Watch: not reported
	var w watchLog
	s.Watch(ctx, w.fn)
	var want []string
	write := func(name string, f func() error) {
		t.Helper()
		if err := f(); err != nil {
			t.Fatalf("writing %s: %v", name, err)
		}
		want = append(want, name)
	}
	for _, n := range []string{"w1", "w2", "w3"} {
		write(n, func() error { return s.Create(ctx, Record(n), 0) })
	}
	for _, n := range []string{"w2", "w1", "w2", "before"} {
		write(n, func() error { _, err := s.Update(ctx, n, increment); return err })
	}
	write("w3", func() error { return s.Delete(ctx, "w3") })
	write("w1", func() error { return s.Delete(ctx, "w1") })
	// Failed writes change nothing and report nothing.
	if err := s.Create(ctx, Record("w2"), 0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("Create(w2) again = %v, want ErrExists", err)
	}
	if _, err := s.Update(ctx, "w2", func(*store.Record) error { return errors.New("no") }); err == nil {
		t.Fatal("failing Update succeeded")
	}
	// A marker write: once it is seen, everything before it has been reported.
	write("marker", func() error { return s.Create(ctx, Record("marker"), 0) })
	w.waitFor(t, want)
	got := w.names()
	for i, n := range got {
		if n == "marker" && i != len(got)-1 {
			t.Errorf("Watch reported %v after the last write", got[i+1:])
		}
	}
	if w.overlap.Load() {
		t.Error("Watch called fn concurrently; want one call at a time")
	}
}

func testWatchCancel(t *testing.T, s store.Store) {
	ctx := t.Context()
	var stopped, live watchLog
	wctx, cancel := context.WithCancel(ctx)
	s.Watch(wctx, stopped.fn)
	s.Watch(ctx, live.fn)
	mustCreate(t, s, Record("a"))
	stopped.waitFor(t, []string{"a"})
	cancel()
	mustCreate(t, s, Record("b"))
	live.waitFor(t, []string{"a", "b"})
	time.Sleep(50 * time.Millisecond)
	if got := stopped.names(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("a watcher whose context ended reported %v, want only [a]", got)
	}
}

func testCancelled(t *testing.T, s store.Store) {
	mustCreate(t, s, Record("p"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	checks := map[string]error{
		"Create": s.Create(ctx, Record("q"), 0),
		"Update": func() error { _, err := s.Update(ctx, "p", increment); return err }(),
		"Delete": s.Delete(ctx, "p"),
	}
	for op, err := range checks {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want context.Canceled", op, err)
		}
	}
	got, err := s.Get(t.Context(), "p")
	if err != nil {
		t.Fatalf("Get(p) after cancelled writes: %v", err)
	}
	if got.Revision != 1 {
		t.Errorf("a cancelled Update wrote: revision %d", got.Revision)
	}
	if _, err := s.Get(t.Context(), "q"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cancelled Create wrote: Get(q) = %v", err)
	}
}
