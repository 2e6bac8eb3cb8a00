package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/store"
)

// Runner is one built pipe, as the Manager drives it: Run consumes until its context ends and drains;
// Close releases what it holds. *runtime.Pipe satisfies it.
type Runner interface {
	Run(ctx context.Context) error
	Close(ctx context.Context) error
}

// Hooks are what the Manager gives a Factory for the runner it builds.
type Hooks struct {
	// OnFatal stops the pipe with reason as its StateReason, as Pipes does for a target or enrichment
	// that keeps failing with client errors. The runtime calls it from any goroutine; it returns at once.
	OnFatal func(reason string)
}

// Factory builds the runner of one pipe from its defaulted definition. It reports, as an error fit for
// a StateReason, what makes the pipe unable to start: a broker that cannot be reached, a secret that
// does not resolve, a target that cannot be built. It must honour ctx.
type Factory func(ctx context.Context, def *pipe.Definition, hooks Hooks) (Runner, error)

// instance is a pipe's live runner.
type instance struct {
	gen    uint64
	runner Runner
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned and Close was called
	err    error         // Run's error, valid after done
	// fatal is the OnFatal reason of a runner that gave up before its worker recorded RUNNING; the worker
	// then stops the pipe instead (guarded by Manager.mu). Without it such a call would find the pipe
	// still CREATING/STARTING, be dropped, and leave a failing pipe RUNNING.
	fatal string
}

// worker is the goroutine that reconciles one pipe: it takes the pipe out of a transitional state, in
// passes, one after the other. A pipe has at most one worker; a change of the record while a pass runs
// (a store notification) asks for one more pass instead of a second worker. Every field is guarded
// by Manager.mu.
type worker struct {
	cancel context.CancelFunc // ends the current pass
	again  bool               // the record changed during the pass: run another one
	// While starting (building the runner, or waiting to retry after a transient failure) an API call
	// may supersede the pass: StopPipe, DeletePipe and UpdatePipe are accepted on a pipe that retries
	// its start, cancel the pass and hand the pipe to the next one. A superseded pass writes nothing
	// more to the store (record checks this inside the store transaction, where the API call also
	// decided, so the two cannot interleave).
	starting   bool
	superseded bool
}

// Manager owns the runners of every stored pipe and moves pipes through the lifecycle: API calls
// record a transitional state (CREATING, STARTING, ...) in one store write; the store's Watch reports
// the write and the manager hands the pipe to a worker goroutine, which builds or stops its runner and
// records where the transition ended. Every change reaches the workers the same way, through Watch,
// whoever wrote it: this process's API, the manager itself, or in cluster mode another node.
//
// The manager is the pipes' supervisor boundary: a panic while building a pipe (the Factory), in its
// runner's Run or Close, in a worker or in an OnFatal hook is recovered, logged with its stack, and fails
// that pipe alone with the StateReason "internal error: ...; see the server log". The pipe's state is
// the failed state of the transition it was in (CREATE_FAILED, START_FAILED, UPDATE_FAILED, ...); a
// panic while RUNNING makes it START_FAILED, the state Pipes users know as "did not run; StartPipe to
// try again". Its desired state is kept, so that a restart of the server tries once more; because
// panics are recovered, that can never become a crash loop.
//
// Creating, starting, updating and resuming a pipe retry transient failures (supervisor.Transient: a
// broker, DNS or Secrets Manager that does not answer) with capped exponential backoff for as long as
// the desired state is RUNNING. The pipe keeps its transitional state (CREATING, STARTING, UPDATING)
// while it retries, with a StateReason naming the last error and the next attempt; permanent failures
// end the transition in its failed state at once.
type Manager struct {
	store     store.Store
	factory   Factory
	log       *slog.Logger
	now       func() time.Time
	maxPipes  int
	stopWait  time.Duration
	startTO   time.Duration
	backoff   Backoff           // guarded by mu (tests change it)
	deleted   func(name string) // ManagerOptions.OnDeleted; nil: nothing
	lifecycle *metrics.Lifecycle

	ctx    context.Context // parent of every runner and of the store watch; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // workers and runner goroutines

	mu      sync.Mutex
	gen     uint64
	running map[string]*instance
	workers map[string]*worker
	// minRev holds, per pipe whose pass an API call superseded, the revision of that call's write:
	// passes act only on a record at least that new, so that a pass starting before the write lands
	// (its worker may even have ended and a new one begun) cannot restart the pipe on the state the
	// call replaced. The write's notification brings the pass that acts.
	minRev map[string]uint64
	closed bool
}

// ManagerOptions configure a Manager; zero values take the defaults.
type ManagerOptions struct {
	// MaxPipes is the pipe quota (ServiceQuotaExceededException beyond it); default 1000.
	MaxPipes int
	// StopTimeout bounds how long a stop waits for a runner to drain; default 60s. A runner that has
	// not returned by then leaves the pipe in STOP_FAILED.
	StopTimeout time.Duration
	// StartTimeout bounds one Factory call; default 60s.
	StartTimeout time.Duration
	// StartBackoff spaces the attempts to start a pipe that failed transiently; default 1s doubling
	// to 5 minutes, with jitter.
	StartBackoff Backoff
	// Logger receives lifecycle logs; nil discards them.
	Logger *slog.Logger
	// OnDeleted, when set, is called once a pipe is gone (for example to drop its metric series).
	OnDeleted func(name string)
	// Registerer receives the lifecycle series (metrics.Lifecycle: pipe states, start retries); nil
	// registers nothing. When OnDeleted is nil, a deleted pipe's series are dropped from it.
	Registerer prometheus.Registerer
	// Now is the clock of the records' timestamps; nil means time.Now (tests fix it).
	Now func() time.Time
}

// NewManager returns a Manager over st that builds runners with factory, watching st from now on. Call
// Resume to start the stored pipes and Close to stop them all.
func NewManager(st store.Store, factory Factory, o ManagerOptions) *Manager {
	if o.MaxPipes <= 0 {
		o.MaxPipes = 1000
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 60 * time.Second
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnDeleted == nil && o.Registerer != nil {
		// The runtime registers a pipe's series in the same registry: drop them with the pipe, so that
		// a long-running server does not keep series of pipes that no longer exist.
		o.OnDeleted = metrics.NewMetrics(o.Registerer).Forget
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{store: st, factory: factory, log: o.Logger, now: o.Now, maxPipes: o.MaxPipes,
		stopWait: o.StopTimeout, startTO: o.StartTimeout, backoff: o.StartBackoff, deleted: o.OnDeleted,
		ctx: ctx, cancel: cancel, running: map[string]*instance{}, workers: map[string]*worker{},
		minRev: map[string]uint64{}}
	m.lifecycle = metrics.NewLifecycle(o.Registerer, m.states)
	st.Watch(ctx, m.converge)
	return m
}

// storeTimeout bounds the manager's own store calls (recording where a transition ended), which no
// caller's context bounds.
const storeTimeout = 30 * time.Second

// update applies fn to a record for the manager itself, reading again and retrying when another
// writer came first (store.ErrConflict: in cluster mode a node's write may race this one).
func (m *Manager) update(name string, fn func(r *store.Record) error) (*store.Record, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	for {
		r, err := m.store.Update(ctx, name, fn)
		if !errors.Is(err, store.ErrConflict) || ctx.Err() != nil {
			return r, err
		}
	}
}

// states lists every pipe's current state for the sluice_pipe_state series.
func (m *Manager) states() ([]metrics.PipeState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	recs, err := m.store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]metrics.PipeState, len(recs))
	for i, r := range recs {
		out[i] = metrics.PipeState{Pipe: r.Name, State: r.CurrentState}
	}
	return out, nil
}

// Resume brings every stored pipe to its desired state after a (re)start: pipes whose desired state is
// RUNNING are started (through STARTING), pipes left mid-transition by a crash are finished (a pipe
// being deleted is deleted, a pipe being stopped or created STOPPED ends STOPPED). Failed pipes whose
// desired state is STOPPED keep their failure state and reason.
func (m *Manager) Resume(ctx context.Context) error {
	recs, err := m.store.List(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		var next string
		switch {
		case r.DesiredState == pipe.StateDeleted:
			next = pipe.StateDeleting
		case r.DesiredState == pipe.StateRunning:
			next = pipe.StateStarting
		case pipe.Transitional(r.CurrentState):
			next = pipe.StateStopping
		default:
			continue
		}
		// The write's notification hands the pipe to a worker.
		if _, err := m.store.Update(ctx, r.Name, func(r *store.Record) error {
			r.CurrentState = next
			return nil
		}); err != nil {
			return err
		}
		m.log.Info("resuming pipe", "pipe", r.Name, "desiredState", r.DesiredState, "state", next)
	}
	return nil
}

// Create stores a new pipe in CREATING and starts converging it to its desired state. def must be
// defaulted and valid; its Tags are stored with the record.
func (m *Manager) Create(ctx context.Context, def *pipe.Definition) (*store.Record, error) {
	tags := def.Tags
	d := *def
	d.Tags = nil
	body, err := json.Marshal(&d)
	if err != nil {
		return nil, fmt.Errorf("encoding pipe %s: %w", def.Name, err)
	}
	now := m.now().UTC()
	rec := &store.Record{Name: def.Name, Definition: body, DesiredState: def.DesiredState,
		CurrentState: pipe.StateCreating, Tags: tags, CreationTime: now, LastModifiedTime: now}
	if err := m.checkOpen(); err != nil {
		return nil, err
	}
	if err := m.store.Create(ctx, rec, m.maxPipes); err != nil {
		return nil, err
	}
	m.log.Info("pipe created", "pipe", def.Name, "desiredState", def.DesiredState)
	return rec, nil
}

// Update applies fn (the UpdatePipe merge) to the stored definition, stores the result in UPDATING and
// restarts the pipe with it. fn gets the stored, defaulted definition and returns the new one, already
// validated; its error is returned as is (wrapped). The write is compare-and-set: a record written by
// someone else meanwhile gives store.ErrConflict.
func (m *Manager) Update(ctx context.Context, name string, fn func(old *pipe.Definition) (*pipe.Definition, error)) (*store.Record, error) {
	if err := m.checkOpen(); err != nil {
		return nil, err
	}
	superseded := false
	rec, err := m.store.Update(ctx, name, func(r *store.Record) error {
		if r.DesiredState == pipe.StateDeleted {
			return store.ErrNotFound
		}
		old, err := StoredDefinition(r)
		if err != nil {
			return err
		}
		def, err := fn(old)
		if err != nil {
			return err
		}
		d := *def
		d.Tags = nil
		body, err := json.Marshal(&d)
		if err != nil {
			return fmt.Errorf("encoding pipe %s: %w", name, err)
		}
		if pipe.Transitional(r.CurrentState) { // last: nothing after it may fail
			if !m.supersede(name, r.Revision) {
				return &BusyError{Name: name, State: r.CurrentState}
			}
			superseded = true
		}
		r.Definition = body
		r.DesiredState = def.DesiredState
		r.CurrentState = pipe.StateUpdating
		r.StateReason = ""
		r.LastModifiedTime = m.now().UTC()
		return nil
	})
	if err != nil {
		if superseded { // the store refused the write after the worker was cancelled: give it back one
			m.release(name)
		}
		return nil, err
	}
	m.log.Info("pipe updated", "pipe", name, "desiredState", rec.DesiredState)
	return rec, nil
}

// Start sets a pipe's desired state to RUNNING and starts it; a running pipe is left as it is.
func (m *Manager) Start(ctx context.Context, name string) (*store.Record, error) {
	return m.transition(ctx, name, pipe.StateRunning, pipe.StateStarting)
}

// Stop sets a pipe's desired state to STOPPED and stops it; a stopped pipe is left as it is. A pipe that
// is retrying its start stops retrying.
func (m *Manager) Stop(ctx context.Context, name string) (*store.Record, error) {
	return m.transition(ctx, name, pipe.StateStopped, pipe.StateStopping)
}

// Delete stops a pipe and removes it; the record says DELETED/DELETING until the worker removes it.
func (m *Manager) Delete(ctx context.Context, name string) (*store.Record, error) {
	return m.transition(ctx, name, pipe.StateDeleted, pipe.StateDeleting)
}

func (m *Manager) transition(ctx context.Context, name, desired, via string) (*store.Record, error) {
	if err := m.checkOpen(); err != nil {
		return nil, err
	}
	changed, superseded := false, false
	rec, err := m.store.Update(ctx, name, func(r *store.Record) error {
		if r.DesiredState == pipe.StateDeleted {
			return store.ErrNotFound
		}
		if pipe.Transitional(r.CurrentState) {
			if !m.supersede(name, r.Revision) {
				return &BusyError{Name: name, State: r.CurrentState}
			}
			superseded = true
		} else if desired != pipe.StateDeleted && r.DesiredState == desired && r.CurrentState == desired {
			return nil // already there: StartPipe on a running pipe and StopPipe on a stopped one are no-ops
		}
		changed = true
		r.DesiredState = desired
		r.CurrentState = via
		r.StateReason = ""
		r.LastModifiedTime = m.now().UTC()
		return nil
	})
	if err != nil {
		if superseded {
			m.release(name)
		}
		return nil, err
	}
	if changed {
		m.log.Info("pipe state change requested", "pipe", name, "desiredState", desired, "state", via)
	}
	return rec, nil
}

// supersede cancels the pass of a pipe that is starting (or retrying its start) so that an API call
// can take the pipe over, and reports whether it did. It is called inside the API call's store
// update, as its last step, with the revision the call read: the call writes the next one.
func (m *Manager) supersede(name string, rev uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.workers[name]
	if w == nil || !w.starting || w.superseded {
		return false
	}
	w.superseded = true
	m.minRev[name] = rev + 1
	w.cancel()
	return true
}

// release gives the pipe back to its worker after an API call superseded its pass and then failed to
// write: no notification comes, so the worker is told directly.
func (m *Manager) release(name string) {
	m.mu.Lock()
	delete(m.minRev, name)
	m.mu.Unlock()
	m.converge(name)
}

func (m *Manager) checkOpen() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return nil
}

// converge makes sure the pipe's worker runs a pass after this call: it starts a worker, or asks the
// running one for another pass. It is the store's Watch callback, so it returns at once.
func (m *Manager) converge(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return // the state stays transitional in the store; Resume finishes it after the restart
	}
	if w := m.workers[name]; w != nil {
		w.again = true
		return
	}
	w := &worker{}
	m.workers[name] = w
	m.wg.Add(1)
	go m.runWorker(name, w)
}

// runWorker runs passes over the pipe until one ends without a change having been reported meanwhile.
func (m *Manager) runWorker(name string, w *worker) {
	defer m.wg.Done()
	for {
		m.mu.Lock()
		if m.closed {
			delete(m.workers, name)
			m.mu.Unlock()
			return
		}
		ctx, cancel := context.WithCancel(m.ctx)
		w.cancel, w.again, w.starting, w.superseded = cancel, false, false, false
		m.mu.Unlock()
		m.pass(ctx, name, w)
		cancel()
		m.mu.Lock()
		if !w.again || m.closed {
			delete(m.workers, name)
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
	}
}

// pass is one reconciliation of the pipe; a panic fails the transition it was in.
func (m *Manager) pass(ctx context.Context, name string, w *worker) {
	defer func() {
		if pe := runtime.Recovered("the lifecycle worker", recover()); pe != nil {
			m.failPanicked(name, w, pe)
		}
	}()
	m.work(ctx, name, w)
}

func (m *Manager) work(ctx context.Context, name string, w *worker) {
	rec, err := m.store.Get(ctx, name)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			m.log.Error("reading pipe for a state change", "pipe", name, "err", err)
		}
		return
	}
	m.mu.Lock()
	stale := rec.Revision < m.minRev[name]
	if !stale {
		delete(m.minRev, name)
	}
	m.mu.Unlock()
	if stale {
		return // an API call's write is on its way; its notification brings the next pass
	}
	via := rec.CurrentState
	if !pipe.Transitional(via) {
		return // a previous worker already finished the change
	}
	// Every transition first stops what runs: an update restarts with the new definition, a start
	// after a failed run starts afresh.
	if err := m.stopRunner(name); err != nil {
		m.finish(w, name, pipe.FailedState(via), err.Error())
		return
	}
	switch rec.DesiredState {
	case pipe.StateDeleted:
		dctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		err := m.store.Delete(dctx, name)
		cancel()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			m.log.Error("deleting pipe", "pipe", name, "err", err)
			m.finish(w, name, pipe.StateDeleteFailed, "deleting the stored pipe failed")
			return
		}
		m.log.Info("pipe deleted", "pipe", name)
		m.lifecycle.Forget(name)
		if m.deleted != nil {
			m.deleted(name)
		}
	case pipe.StateStopped:
		m.lifecycle.StopRetrying(name)
		m.finish(w, name, pipe.StateStopped, rec.StateReason)
	default:
		def, err := StoredDefinition(rec)
		if err != nil {
			m.finish(w, name, pipe.FailedState(via), err.Error())
			return
		}
		m.start(ctx, w, def, rec.DesiredState, via)
	}
}

// start builds and runs the pipe's runner, retrying transient failures (see Manager), and records
// where the transition ended.
func (m *Manager) start(ctx context.Context, w *worker, def *pipe.Definition, desired, via string) {
	name := def.Name
	m.mu.Lock()
	w.starting = true
	backoff := m.backoff
	m.mu.Unlock()
	var in *instance
	err := Retry(ctx, backoff, func(ctx context.Context) error {
		var err error
		in, err = m.startRunner(ctx, w, def)
		return err
	}, func(r Retrying) {
		m.log.Warn("pipe failed to start; retrying", "pipe", name, "state", via, "attempt", r.Attempt,
			"retryIn", Round(r.Delay).String(), "err", r.Err)
		m.lifecycle.StartRetry(name, r.Next)
		m.record(w, name, func(r2 *store.Record) error {
			if r2.CurrentState != via || r2.DesiredState != desired {
				return errSkip // changed meanwhile: that write's notification brings the next pass
			}
			r2.StateReason = stateReason(errors.New(r.Reason()))
			return nil
		})
	})
	if err != nil {
		if ctx.Err() != nil {
			// Superseded by an API call (its worker takes over) or shutting down (the transitional
			// state stays and Resume finishes it).
			return
		}
		m.lifecycle.StopRetrying(name)
		reason := stateReason(err)
		var pe *runtime.PanicError
		if errors.As(err, &pe) {
			m.logPanic(name, pe)
			reason = panicReason(pe)
		}
		m.log.Warn("pipe failed to start", "pipe", name, "state", pipe.FailedState(via), "err", err)
		m.finish(w, name, pipe.FailedState(via), reason)
		return
	}
	m.lifecycle.StopRetrying(name)
	// The runner may already have given up (a topic that does not exist), or asked to be stopped
	// (OnFatal): decided inside the transaction, so that this, exited() and fatal() agree whichever runs first.
	stopNow := false
	err = m.record(w, name, func(r *store.Record) error {
		if r.CurrentState != via || r.DesiredState != desired {
			// Changed since this pass read it (in cluster mode, by another node): the pass that
			// change brings stops this runner first, then does what the record says.
			return errSkip
		}
		select {
		case <-in.done:
			if m.ctx.Err() != nil {
				return errSkip
			}
			r.CurrentState = pipe.FailedState(via)
			r.StateReason = "pipe runtime stopped at start"
			if in.err != nil {
				r.StateReason = runReason(in.err)
			}
		default:
			m.mu.Lock()
			fatal := in.fatal
			m.mu.Unlock()
			if fatal != "" {
				r.DesiredState = pipe.StateStopped
				r.CurrentState = pipe.StateStopping
				r.StateReason = stateReason(errors.New(fatal))
				r.LastModifiedTime = m.now().UTC()
				stopNow = true
				return nil
			}
			r.CurrentState = pipe.StateRunning
			r.StateReason = ""
		}
		return nil
	})
	if err != nil && !errors.Is(err, errSkip) && !errors.Is(err, store.ErrNotFound) {
		m.log.Error("recording pipe state", "pipe", name, "err", err)
	}
	if err == nil && stopNow { // the write's notification brings the pass that stops it
		m.log.Warn("pipe stopped by its runtime", "pipe", name, "reason", in.fatal)
	}
	select {
	case <-in.done:
		m.mu.Lock()
		if m.running[name] == in {
			delete(m.running, name)
		}
		m.mu.Unlock()
	default:
	}
}

// record applies fn to the pipe's record unless w was superseded (then it returns errSkip), deciding
// inside the store transaction.
func (m *Manager) record(w *worker, name string, fn func(r *store.Record) error) error {
	_, err := m.update(name, func(r *store.Record) error {
		m.mu.Lock()
		superseded := w.superseded
		m.mu.Unlock()
		if superseded {
			return errSkip
		}
		return fn(r)
	})
	return err
}

// finish records where a transition ended. Only the pipe's worker calls it: API calls cannot change a
// pipe in a transitional state (except to supersede a starting worker, which then writes nothing), and
// exits and OnFatal act only on RUNNING pipes.
func (m *Manager) finish(w *worker, name, state, reason string) {
	err := m.record(w, name, func(r *store.Record) error {
		r.CurrentState = state
		r.StateReason = reason
		return nil
	})
	if err != nil && !errors.Is(err, errSkip) && !errors.Is(err, store.ErrNotFound) {
		m.log.Error("recording pipe state", "pipe", name, "state", state, "err", err)
	}
}

// failPanicked records a panic of a pipe's worker: the transition it was in ends in its failed state.
func (m *Manager) failPanicked(name string, w *worker, pe *runtime.PanicError) {
	m.logPanic(name, pe)
	err := m.record(w, name, func(r *store.Record) error {
		if !pipe.Transitional(r.CurrentState) {
			return errSkip
		}
		r.CurrentState = pipe.FailedState(r.CurrentState)
		r.StateReason = panicReason(pe)
		return nil
	})
	if err != nil && !errors.Is(err, errSkip) && !errors.Is(err, store.ErrNotFound) {
		m.log.Error("recording pipe state", "pipe", name, "err", err)
	}
}

func (m *Manager) logPanic(name string, pe *runtime.PanicError) {
	m.log.Error("recovered a panic: the pipe fails, the server and the other pipes go on", "pipe", name,
		"where", pe.Where, "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
}

// panicReason is the StateReason of a pipe that panicked; the stack is in the server log.
func panicReason(pe *runtime.PanicError) string {
	return stateReason(fmt.Errorf("%w; see the server log", pe))
}

// runReason is the StateReason for a runner's error: an internal-error text for a panic.
func runReason(err error) string {
	var pe *runtime.PanicError
	if errors.As(err, &pe) {
		return panicReason(pe)
	}
	return stateReason(err)
}

// stateReason makes an error fit the 512-character StateReason, cutting at a character boundary.
func stateReason(err error) string {
	s := err.Error()
	if utf8.RuneCountInString(s) <= 512 {
		return s
	}
	r := []rune(s)
	return string(r[:509]) + "..."
}

// build calls the factory, turning a panic into a *runtime.PanicError and a nil runner into an error.
func (m *Manager) build(ctx context.Context, def *pipe.Definition, hooks Hooks) (r Runner, err error) {
	defer func() {
		if pe := runtime.Recovered("building the pipe", recover()); pe != nil {
			r, err = nil, pe
		}
	}()
	r, err = m.factory(ctx, def, hooks)
	if err == nil && r == nil {
		err = errors.New("the pipe factory returned no runner")
	}
	return r, err
}

// guarded runs f (a runner's Run or Close), turning a panic into a *runtime.PanicError.
func guarded(where string, f func() error) (err error) {
	defer func() {
		if pe := runtime.Recovered(where, recover()); pe != nil {
			err = pe
		}
	}()
	return f()
}

func (m *Manager) startRunner(ctx context.Context, w *worker, def *pipe.Definition) (*instance, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errors.New("server shutting down")
	}
	m.gen++
	gen := m.gen
	m.mu.Unlock()

	name := def.Name
	hooks := Hooks{OnFatal: func(reason string) { m.fatal(name, gen, reason) }}
	bctx, bcancel := context.WithTimeout(ctx, m.startTO)
	r, err := m.build(bctx, def, hooks)
	bcancel()
	if err != nil {
		return nil, err
	}
	// The runner lives until the pipe is stopped, not as long as this worker.
	rctx, cancel := context.WithCancel(m.ctx)
	in := &instance{gen: gen, runner: r, cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	if m.closed || w.superseded {
		m.mu.Unlock()
		cancel()
		if err := guarded("closing the pipe", func() error { return r.Close(context.Background()) }); err != nil {
			m.log.Warn("closing a pipe built while it was stopped", "pipe", name, "err", err)
		}
		return nil, context.Canceled
	}
	m.running[name] = in
	w.starting = false // from here API calls wait for the worker to record RUNNING
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		err := guarded("running the pipe", func() error { return r.Run(rctx) })
		cerr := guarded("closing the pipe", func() error { return r.Close(context.WithoutCancel(rctx)) })
		in.err = errors.Join(err, cerr)
		close(in.done)
		if rctx.Err() == nil { // not stopped by us: the runner gave up on its own
			m.exited(name, gen, in.err)
		} else if in.err != nil {
			var pe *runtime.PanicError
			if errors.As(in.err, &pe) {
				m.logPanic(name, pe) // while stopping: the stop goes on, the log has the stack
			}
		}
		cancel()
	}()
	return in, nil
}

// stopRunner cancels the pipe's runner and waits for it to drain and close.
func (m *Manager) stopRunner(name string) error {
	m.mu.Lock()
	in := m.running[name]
	m.mu.Unlock()
	if in == nil {
		return nil
	}
	in.cancel()
	t := time.NewTimer(m.stopWait)
	defer t.Stop()
	select {
	case <-in.done:
	case <-t.C:
		return fmt.Errorf("pipe %s did not stop within %s", name, m.stopWait)
	}
	m.mu.Lock()
	if m.running[name] == in {
		delete(m.running, name)
	}
	m.mu.Unlock()
	return nil
}

// exited records a runner that returned without being asked to: the pipe is STOPPED with the error as
// reason, its desired state unchanged (so StartPipe, or a restart of the server, tries again). A runner
// that panicked makes the pipe START_FAILED with an internal-error reason (see Manager).
func (m *Manager) exited(name string, gen uint64, err error) {
	defer func() {
		if pe := runtime.Recovered("recording a stopped pipe", recover()); pe != nil {
			m.logPanic(name, pe)
		}
	}()
	m.mu.Lock()
	if in := m.running[name]; in != nil && in.gen == gen {
		delete(m.running, name)
	}
	m.mu.Unlock()
	state, reason := pipe.StateStopped, "pipe runtime stopped"
	var pe *runtime.PanicError
	switch {
	case errors.As(err, &pe):
		m.logPanic(name, pe)
		state, reason = pipe.StateStartFailed, panicReason(pe)
	case err != nil:
		reason = stateReason(errors.New("pipe runtime stopped: " + err.Error()))
		m.log.Warn("pipe stopped on its own", "pipe", name, "err", err)
	default:
		m.log.Warn("pipe stopped on its own", "pipe", name)
	}
	m.update(name, func(r *store.Record) error {
		if r.CurrentState != pipe.StateRunning {
			return errSkip
		}
		r.CurrentState = state
		r.StateReason = reason
		return nil
	})
}

var errSkip = errors.New("skip")

// fatal stops a pipe on behalf of its runner (OnFatal): desired and current state become STOPPED with
// the reason, so that neither a restart of the server nor anything else restarts it until StartPipe.
// The runtime calls it from its own goroutines, so a panic here is recovered and logged.
func (m *Manager) fatal(name string, gen uint64, reason string) {
	defer func() {
		if pe := runtime.Recovered("stopping a failing pipe (OnFatal)", recover()); pe != nil {
			m.logPanic(name, pe)
		}
	}()
	m.mu.Lock()
	in := m.running[name]
	current := in != nil && in.gen == gen
	if current && in.fatal == "" {
		in.fatal = reason // set before the transaction below: see instance.fatal
	}
	m.mu.Unlock()
	if !current {
		return
	}
	_, err := m.update(name, func(r *store.Record) error {
		if r.CurrentState != pipe.StateRunning {
			return errSkip // not RUNNING yet: its worker sees in.fatal when it records the start
		}
		r.DesiredState = pipe.StateStopped
		r.CurrentState = pipe.StateStopping
		r.StateReason = stateReason(errors.New(reason))
		r.LastModifiedTime = m.now().UTC()
		return nil
	})
	if err != nil {
		return
	}
	m.log.Warn("pipe stopped by its runtime", "pipe", name, "reason", reason) // the write's notification stops it
}

// Running reports whether a pipe has a live runner (for tests and health reporting).
func (m *Manager) Running(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running[name] != nil
}

// Close stops accepting changes, stops every runner (each drains for up to the stop timeout) and waits
// for the workers. Desired states stay as they are, so the next Resume restarts the same pipes.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping pipes: %w", ctx.Err())
	}
}

// StoredDefinition decodes a record's definition (defaulted and validated when stored), with the
// record's name, desired state (DELETED reads as STOPPED) and tags.
func StoredDefinition(r *store.Record) (*pipe.Definition, error) {
	var d pipe.Definition
	if err := json.Unmarshal(r.Definition, &d); err != nil {
		return nil, fmt.Errorf("decoding stored definition of pipe %s: %w", r.Name, err)
	}
	d.Name = r.Name
	d.DesiredState = r.DesiredState
	if d.DesiredState == pipe.StateDeleted {
		d.DesiredState = pipe.StateStopped
	}
	d.Tags = r.Tags
	return &d, nil
}
