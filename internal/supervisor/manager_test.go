package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
	"github.com/sluicehq/sluice/internal/supervisor/supervisortest"
)

// errRefused is what dialling a broker that is down gives.
var errRefused = fmt.Errorf("connecting to broker 127.0.0.1:1: %w",
	&net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}})

// flakyFactory fails transiently (refused) until healed, then builds the scripted runner.
type flakyFactory struct {
	*supervisortest.Factory
	mu      sync.Mutex
	healed  bool
	attempt map[string]int
}

func (f *flakyFactory) build(ctx context.Context, def *pipe.Definition, hooks supervisor.Hooks) (supervisor.Runner, error) {
	f.mu.Lock()
	f.attempt[def.Name]++
	healed := f.healed
	f.mu.Unlock()
	if !healed {
		return nil, errRefused
	}
	return f.Factory.Build(ctx, def, hooks)
}

func (f *flakyFactory) setHealed(v bool) {
	f.mu.Lock()
	f.healed = v
	f.mu.Unlock()
}

func (f *flakyFactory) attempts(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempt[name]
}

func newFlaky(t *testing.T, b supervisor.Backoff) (*harness, *flakyFactory) {
	ff := &flakyFactory{Factory: supervisortest.New(), attempt: map[string]int{}}
	h := newHarness(t, func(s *setup) {
		s.Factory = ff.build
		s.Options.StartBackoff = b
	})
	h.factory = ff.Factory
	return h, ff
}

var fast = supervisor.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond}

// TestStartRetry covers a broker outage at the manager: a transient failure keeps the pipe in its
// transitional state with a StateReason naming the retry, and the pipe runs once the failure goes.
func TestStartRetry(t *testing.T) {
	h, ff := newFlaky(t, fast)
	h.create("p", pipe.StateRunning)
	r := h.waitReason("p", pipe.StateCreating, `^retrying in [0-9.]+m?s, at \d\d:\d\d:\d\dZ \(attempt \d+ failed\): connecting to broker 127\.0\.0\.1:1: .*connection refused$`)
	t.Logf("StateReason while retrying: %s", r.StateReason)
	kafkatest.Eventually(t, 10*time.Second, func() error {
		if n := ff.attempts("p"); n < 3 {
			return fmt.Errorf("%d attempts, want 3 or more", n)
		}
		return nil
	})
	ff.setHealed(true)
	r = h.waitState("p", pipe.StateRunning)
	if r.StateReason != "" {
		t.Errorf("StateReason of the running pipe = %q, want none", r.StateReason)
	}
	m := h.metrics()
	for _, want := range []string{`sluice_pipe_state{pipe="p",state="RUNNING"} 1`, `sluice_pipe_start_retries_total{pipe="p"} `} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(m, `sluice_pipe_start_next_attempt_timestamp_seconds{pipe="p"}`) {
		t.Errorf("metrics still have the next attempt of a running pipe")
	}

	// Resume retries too: STARTING, then RUNNING.
	h.stop()
	ff.setHealed(false)
	h.start()
	h.waitReason("p", pipe.StateStarting, `^retrying in `)
	if m := h.metrics(); !strings.Contains(m, `sluice_pipe_state{pipe="p",state="STARTING"} 1`) ||
		!strings.Contains(m, `sluice_pipe_start_next_attempt_timestamp_seconds{pipe="p"}`) {
		t.Errorf("metrics of a retrying pipe lack its state or next attempt:\n%s", grepLines(m, "sluice_pipe_"))
	}
	ff.setHealed(true)
	h.waitState("p", pipe.StateRunning)
}

// TestCallsDuringStartRetry: a pipe retrying its start stays stoppable, deletable and updatable; each
// call cancels the retries at once.
func TestCallsDuringStartRetry(t *testing.T) {
	h, ff := newFlaky(t, supervisor.Backoff{Initial: time.Hour, Max: time.Hour}) // only a call can end the wait
	ctx := t.Context()
	for _, n := range []string{"stop", "delete", "update", "start"} {
		h.create(n, pipe.StateRunning)
		h.waitReason(n, pipe.StateCreating, `^retrying in (\d+h)?\d+m`)
	}
	if _, err := h.mgr.Stop(ctx, "stop"); err != nil {
		t.Fatalf("Stop while retrying: %v", err)
	}
	h.waitState("stop", pipe.StateStopped)
	if _, err := h.mgr.Delete(ctx, "delete"); err != nil {
		t.Fatalf("Delete while retrying: %v", err)
	}
	h.waitGone("delete")
	if _, err := h.mgr.Update(ctx, "update", func(old *pipe.Definition) (*pipe.Definition, error) {
		d := old.Clone()
		v2 := "v2"
		d.Description = &v2
		return d, nil
	}); err != nil {
		t.Fatalf("Update while retrying: %v", err)
	}
	h.waitReason("update", pipe.StateUpdating, `^retrying in `)
	// Start on a pipe retrying its start tries again at once.
	before := ff.attempts("start")
	if _, err := h.mgr.Start(ctx, "start"); err != nil {
		t.Fatalf("Start while retrying: %v", err)
	}
	h.waitReason("start", pipe.StateStarting, `^retrying in `)
	if after := ff.attempts("start"); after <= before {
		t.Errorf("Start while retrying: %d attempts before, %d after; want a new attempt", before, after)
	}
	ff.setHealed(true)
	if _, err := h.mgr.Stop(ctx, "update"); err != nil {
		t.Fatal(err)
	}
	h.waitState("update", pipe.StateStopped) // Start on a pipe still STOPPING is busy
	if _, err := h.mgr.Start(ctx, "update"); err != nil {
		t.Fatal(err)
	}
	h.waitState("update", pipe.StateRunning)
	if _, _, last := h.factory.Stats("update"); last == nil || last.Description == nil || *last.Description != "v2" {
		t.Errorf("the updated pipe runs %+v, want Description v2", last)
	}
}

// TestPermanentStartFailure: a permanent failure is not retried.
func TestPermanentStartFailure(t *testing.T) {
	h := newHarness(t)
	h.factory.Set("p", supervisortest.Behaviour{BuildErr: fmt.Errorf("building HTTP target: %w", errors.New("resolving secret env:X: secret not found"))})
	h.create("p", pipe.StateRunning)
	h.waitReason("p", pipe.StateCreateFailed, `^building HTTP target: resolving secret env:X`)
	if b, _, _ := h.factory.Stats("p"); b != 1 {
		t.Errorf("factory called %d times, want 1", b)
	}
}

// TestPanicsFailOnePipe is the supervisor boundary: a panic in the factory, in Run or in Close fails
// that pipe (or, in Close, lets the stop finish) with an internal-error reason, while the manager and a
// neighbouring pipe go on.
func TestPanicsFailOnePipe(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	h.create("neighbour", pipe.StateRunning)
	h.waitState("neighbour", pipe.StateRunning)

	h.factory.Set("build", supervisortest.Behaviour{PanicFn: "boom in the factory"})
	h.create("build", pipe.StateRunning)
	h.waitReason("build", pipe.StateCreateFailed, `^internal error: building the pipe panicked: boom in the factory; see the server log$`)

	h.factory.Set("run", supervisortest.Behaviour{PanicRun: "boom in Run"})
	h.create("run", pipe.StateRunning)
	r := h.waitReason("run", pipe.StateStartFailed, `^internal error: running the pipe panicked: boom in Run; see the server log$`)
	if r.DesiredState != pipe.StateRunning {
		t.Errorf("desired state after a panic = %s, want RUNNING (a restart or Start tries again)", r.DesiredState)
	}

	h.factory.Set("close", supervisortest.Behaviour{PanicStop: "boom in Close"})
	h.create("close", pipe.StateRunning)
	h.waitState("close", pipe.StateRunning)
	if _, err := h.mgr.Stop(ctx, "close"); err != nil {
		t.Fatal(err)
	}
	h.waitState("close", pipe.StateStopped)

	// The panicking pipes can be fixed and started; the neighbour never stopped.
	h.factory.Set("run", supervisortest.Behaviour{})
	if _, err := h.mgr.Start(ctx, "run"); err != nil {
		t.Fatal(err)
	}
	h.waitState("run", pipe.StateRunning)
	h.waitState("neighbour", pipe.StateRunning)
	if b, live, _ := h.factory.Stats("neighbour"); b != 1 || live != 1 {
		t.Errorf("neighbour: %d builds, %d live runners; want 1 and 1", b, live)
	}

	// A restart resumes the panicking pipe without crashing, and fails it again.
	h.factory.Set("run", supervisortest.Behaviour{PanicRun: "boom again"})
	h.stop()
	h.start()
	h.waitReason("run", pipe.StateStartFailed, `boom again`)
	h.waitState("neighbour", pipe.StateRunning)
}

// TestForeignWritesReconciled: the manager acts on what the store's Watch reports, not on its own
// calls only, so a change written by another writer — in cluster mode, another node's API — starts,
// stops, restarts and deletes this manager's runners just like its own calls.
func TestForeignWritesReconciled(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	// Another writer creates a pipe: a record in CREATING, as the API writes it.
	def := h.definition("p", pipe.StateRunning)
	rec, err := h.mgr.Create(ctx, def) // to get the record as the API writes it...
	if err != nil {
		t.Fatal(err)
	}
	h.waitState("p", pipe.StateRunning)
	foreign := rec.Clone()
	foreign.Name = "q"
	foreign.CurrentState = pipe.StateCreating
	if err := h.store.Create(ctx, foreign, 0); err != nil { // ...and then the same straight to the store
		t.Fatal(err)
	}
	h.waitState("q", pipe.StateRunning)
	h.waitRunners("q", 1, 1)

	write := func(name, desired, via string) {
		t.Helper()
		if _, err := h.store.Update(ctx, name, func(r *store.Record) error {
			r.DesiredState, r.CurrentState = desired, via
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	write("q", pipe.StateStopped, pipe.StateStopping)
	h.waitState("q", pipe.StateStopped)
	h.waitRunners("q", 1, 0)
	write("q", pipe.StateRunning, pipe.StateStarting)
	h.waitState("q", pipe.StateRunning)
	h.waitRunners("q", 2, 1)
	write("q", pipe.StateDeleted, pipe.StateDeleting)
	h.waitGone("q")
	h.waitRunners("q", 2, 0)
	if !h.mgr.Running("p") || h.mgr.Running("q") {
		t.Errorf("Running(p) = %v, Running(q) = %v; want true, false", h.mgr.Running("p"), h.mgr.Running("q"))
	}
}

// TestBusyAndClosed: calls on a pipe that is stopping get ErrBusy (the API's ConflictException), and
// calls after Close get ErrClosed.
func TestBusyAndClosed(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	drain := make(chan struct{})
	h.factory.Set("slow", supervisortest.Behaviour{Drain: drain})
	h.create("slow", pipe.StateRunning)
	h.waitState("slow", pipe.StateRunning)
	if _, err := h.mgr.Stop(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	_, err := h.mgr.Start(ctx, "slow")
	var busy *supervisor.BusyError
	if !errors.Is(err, supervisor.ErrBusy) || !errors.As(err, &busy) || busy.State != pipe.StateStopping {
		t.Errorf("Start of a stopping pipe = %v, want a BusyError in STOPPING", err)
	}
	close(drain)
	h.waitState("slow", pipe.StateStopped)
	if _, err := h.mgr.Start(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Start of a missing pipe = %v, want store.ErrNotFound", err)
	}
	h.stop()
	st, err := store.Open(t.TempDir(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := supervisor.NewManager(st, h.factory.Build, supervisor.ManagerOptions{})
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, h.definition("late", pipe.StateRunning)); !errors.Is(err, supervisor.ErrClosed) {
		t.Errorf("Create after Close = %v, want ErrClosed", err)
	}
}

// conflicting is the bbolt store answering ErrConflict to the first Update of each record after arm,
// as the Kafka-topic store answers a writer that lost a race.
type conflicting struct {
	*store.Bolt
	armed     atomic.Bool
	mu        sync.Mutex
	conflicts map[string]int
}

func (c *conflicting) Update(ctx context.Context, name string, fn func(*store.Record) error) (*store.Record, error) {
	c.mu.Lock()
	first := c.armed.Load() && c.conflicts[name] == 0
	if first {
		c.conflicts[name]++
	}
	c.mu.Unlock()
	if first {
		return nil, fmt.Errorf("updating pipe %s: %w", name, store.ErrConflict)
	}
	return c.Bolt.Update(ctx, name, fn)
}

// TestOwnWritesRetryConflicts: the manager's own writes (where a transition ended) read again and
// retry when another writer came first, while an API call's write returns the conflict to its caller.
func TestOwnWritesRetryConflicts(t *testing.T) {
	bolt, err := store.Open(t.TempDir(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	st := &conflicting{Bolt: bolt, conflicts: map[string]int{}}
	f := supervisortest.New()
	m := supervisor.NewManager(st, f.Build, supervisor.ManagerOptions{StopTimeout: 5 * time.Second})
	defer m.Close(context.Background())
	h := &harness{t: t, store: bolt, mgr: m, factory: f}
	h.plugins = plugin.Default
	ctx := t.Context()
	st.armed.Store(true)
	h.create("p", pipe.StateRunning) // the worker's write of RUNNING conflicts once, then lands
	h.waitState("p", pipe.StateRunning)
	if _, err := m.Stop(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	h.waitState("p", pipe.StateStopped)
	st.mu.Lock()
	st.conflicts = map[string]int{}
	st.mu.Unlock()
	if _, err := m.Start(ctx, "p"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Start whose write conflicts = %v, want ErrConflict for the caller", err)
	}
	if r := h.get("p"); r.CurrentState != pipe.StateStopped || r.DesiredState != pipe.StateStopped {
		t.Errorf("after a conflicting Start: %s/%s, want STOPPED/STOPPED", r.DesiredState, r.CurrentState)
	}
}

// TestStopDuringStartEndsStopped stops pipes at every moment of a start that retries (failing twice,
// then building): whatever the interleaving of the retry's writes, the Stop and the notifications,
// every pipe ends STOPPED with no runner left.
func TestStopDuringStartEndsStopped(t *testing.T) {
	var mu sync.Mutex
	attempts := map[string]int{}
	f := supervisortest.New()
	h := newHarness(t, func(s *setup) {
		s.Options.StartBackoff = supervisor.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}
		s.Factory = func(ctx context.Context, def *pipe.Definition, hooks supervisor.Hooks) (supervisor.Runner, error) {
			mu.Lock()
			attempts[def.Name]++
			n := attempts[def.Name]
			mu.Unlock()
			if n <= 2 {
				return nil, errRefused
			}
			return f.Build(ctx, def, hooks)
		}
	})
	h.factory = f
	ctx := t.Context()
	const n = 30
	for i := range n {
		name := fmt.Sprint("p", i)
		h.create(name, pipe.StateRunning)
		time.Sleep(time.Duration(i%6) * time.Millisecond) // stop at a different moment of the start each time
		for {
			_, err := h.mgr.Stop(ctx, name)
			if err == nil {
				break
			}
			if !errors.Is(err, supervisor.ErrBusy) { // between the build and RUNNING a stop must wait
				t.Fatalf("Stop(%s): %v", name, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for i := range n {
		name := fmt.Sprint("p", i)
		r := h.waitState(name, pipe.StateStopped)
		if r.DesiredState != pipe.StateStopped {
			t.Errorf("%s: desired state %s, want STOPPED", name, r.DesiredState)
		}
		h.waitRunners(name, func() int { b, _, _ := f.Stats(name); return b }(), 0)
	}
	// Settled: nothing restarts them later.
	time.Sleep(100 * time.Millisecond)
	for i := range n {
		name := fmt.Sprint("p", i)
		if r := h.get(name); r.CurrentState != pipe.StateStopped || h.mgr.Running(name) {
			t.Errorf("%s: %s, running %v after settling; want STOPPED and no runner", name, r.CurrentState, h.mgr.Running(name))
		}
	}
}
