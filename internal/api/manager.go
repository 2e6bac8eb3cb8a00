package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/store"
)

// Pipe states (the PipeState enum of the Pipes API model).
const (
	StateRunning              = "RUNNING"
	StateStopped              = "STOPPED"
	StateDeleted              = "DELETED" // desired state only
	StateCreating             = "CREATING"
	StateUpdating             = "UPDATING"
	StateDeleting             = "DELETING"
	StateStarting             = "STARTING"
	StateStopping             = "STOPPING"
	StateCreateFailed         = "CREATE_FAILED"
	StateUpdateFailed         = "UPDATE_FAILED"
	StateStartFailed          = "START_FAILED"
	StateStopFailed           = "STOP_FAILED"
	StateDeleteFailed         = "DELETE_FAILED"
	StateCreateRollbackFailed = "CREATE_ROLLBACK_FAILED"
	StateDeleteRollbackFailed = "DELETE_ROLLBACK_FAILED"
	StateUpdateRollbackFailed = "UPDATE_ROLLBACK_FAILED"
)

var currentStates = []string{StateRunning, StateStopped, StateCreating, StateUpdating, StateDeleting,
	StateStarting, StateStopping, StateCreateFailed, StateUpdateFailed, StateStartFailed, StateStopFailed,
	StateDeleteFailed, StateCreateRollbackFailed, StateDeleteRollbackFailed, StateUpdateRollbackFailed}

// transitional reports whether a state is one a worker is moving the pipe out of; mutating calls on
// such a pipe get ConflictException.
func transitional(state string) bool {
	switch state {
	case StateCreating, StateUpdating, StateDeleting, StateStarting, StateStopping:
		return true
	}
	return false
}

// failedState is where a transition ends when it fails.
func failedState(transition string) string {
	switch transition {
	case StateCreating:
		return StateCreateFailed
	case StateUpdating:
		return StateUpdateFailed
	case StateStopping:
		return StateStopFailed
	case StateDeleting:
		return StateDeleteFailed
	}
	return StateStartFailed
}

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
}

// Manager owns the runners of every stored pipe and moves pipes through the lifecycle: API calls
// record a transitional state (CREATING, STARTING, ...) in one store transaction and hand the pipe
// to a worker goroutine, which builds or stops its runner and records where the transition ended.
type Manager struct {
	store    *store.Store
	factory  Factory
	log      *slog.Logger
	now      func() time.Time
	maxPipes int
	stopWait time.Duration
	startTO  time.Duration
	deleted  func(name string) // ManagerOptions.OnDeleted; nil: nothing

	ctx    context.Context // parent of every runner; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // workers and runner goroutines

	mu      sync.Mutex
	gen     uint64
	running map[string]*instance
	closed  bool
}

// ManagerOptions configure a Manager; zero values take the defaults.
type ManagerOptions struct {
	// MaxPipes is the pipe quota (ServiceQuotaExceededException beyond it); default 1000.
	MaxPipes int
	// StopTimeout bounds how long a stop waits for a runner to drain; default 60s. A runner that has
	// not returned by then leaves the pipe in STOP_FAILED.
	StopTimeout time.Duration
	// StartTimeout bounds the Factory call; default 60s.
	StartTimeout time.Duration
	// Logger receives lifecycle logs; nil discards them.
	Logger *slog.Logger
	// OnDeleted, when set, is called once a pipe is gone (for example to drop its metric series).
	OnDeleted func(name string)
}

// NewManager returns a Manager over st that builds runners with factory. Call Resume to start the
// stored pipes and Close to stop them all.
func NewManager(st *store.Store, factory Factory, o ManagerOptions) *Manager {
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
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{store: st, factory: factory, log: o.Logger, now: time.Now, maxPipes: o.MaxPipes,
		stopWait: o.StopTimeout, startTO: o.StartTimeout, deleted: o.OnDeleted, ctx: ctx, cancel: cancel, running: map[string]*instance{}}
}

// Store returns the manager's store.
func (m *Manager) Store() *store.Store { return m.store }

// Resume brings every stored pipe to its desired state after a (re)start: pipes whose desired state is
// RUNNING are started (through STARTING), pipes left mid-transition by a crash are finished (a pipe
// being deleted is deleted, a pipe being stopped or created STOPPED ends STOPPED). Failed pipes whose
// desired state is STOPPED keep their failure state and reason.
func (m *Manager) Resume(ctx context.Context) error {
	recs, err := m.store.List()
	if err != nil {
		return err
	}
	for _, r := range recs {
		var next string
		switch {
		case r.DesiredState == StateDeleted:
			next = StateDeleting
		case r.DesiredState == StateRunning:
			next = StateStarting
		case transitional(r.CurrentState):
			next = StateStopping
		default:
			continue
		}
		if _, err := m.store.Update(r.Name, func(r *store.Record) error {
			r.CurrentState = next
			return nil
		}); err != nil {
			return err
		}
		m.log.Info("resuming pipe", "pipe", r.Name, "desiredState", r.DesiredState, "state", next)
		m.converge(r.Name)
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
		CurrentState: StateCreating, Tags: tags, CreationTime: now, LastModifiedTime: now}
	if err := m.checkOpen(); err != nil {
		return nil, err
	}
	if err := m.store.Create(rec, m.maxPipes); err != nil {
		return nil, err
	}
	m.log.Info("pipe created", "pipe", def.Name, "desiredState", def.DesiredState)
	m.converge(def.Name)
	return rec, nil
}

// Update applies fn (the UpdatePipe merge) to the stored definition, stores the result in UPDATING and
// restarts the pipe with it. fn gets the stored, defaulted definition and returns the new one, already
// validated; its error is returned as is (a pipe.FieldErrors becomes a ValidationException).
func (m *Manager) Update(ctx context.Context, name string, fn func(old *pipe.Definition) (*pipe.Definition, error)) (*store.Record, error) {
	if err := m.checkOpen(); err != nil {
		return nil, err
	}
	rec, err := m.store.Update(name, func(r *store.Record) error {
		if transitional(r.CurrentState) {
			return conflict(name, "Pipe "+name+" is in state "+r.CurrentState+"; wait until it leaves it.")
		}
		if r.DesiredState == StateDeleted {
			return notFound(name)
		}
		old, err := decodeStored(r)
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
		r.Definition = body
		r.DesiredState = def.DesiredState
		r.CurrentState = StateUpdating
		r.StateReason = ""
		r.LastModifiedTime = m.now().UTC()
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.log.Info("pipe updated", "pipe", name, "desiredState", rec.DesiredState)
	m.converge(name)
	return rec, nil
}

// Start sets a pipe's desired state to RUNNING and starts it; a running pipe is left as it is.
func (m *Manager) Start(ctx context.Context, name string) (*store.Record, error) {
	return m.transition(name, StateRunning, StateStarting)
}

// Stop sets a pipe's desired state to STOPPED and stops it; a stopped pipe is left as it is.
func (m *Manager) Stop(ctx context.Context, name string) (*store.Record, error) {
	return m.transition(name, StateStopped, StateStopping)
}

// Delete stops a pipe and removes it; the record says DELETED/DELETING until the worker removes it.
func (m *Manager) Delete(ctx context.Context, name string) (*store.Record, error) {
	return m.transition(name, StateDeleted, StateDeleting)
}

func (m *Manager) transition(name, desired, via string) (*store.Record, error) {
	if err := m.checkOpen(); err != nil {
		return nil, err
	}
	changed := false
	rec, err := m.store.Update(name, func(r *store.Record) error {
		if r.DesiredState == StateDeleted {
			return notFound(name)
		}
		if transitional(r.CurrentState) {
			return conflict(name, "Pipe "+name+" is in state "+r.CurrentState+"; wait until it leaves it.")
		}
		if desired != StateDeleted && r.DesiredState == desired && r.CurrentState == desired {
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
		return nil, err
	}
	if changed {
		m.log.Info("pipe state change requested", "pipe", name, "desiredState", desired, "state", via)
		m.converge(name)
	}
	return rec, nil
}

func (m *Manager) checkOpen() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return internalError("The server is shutting down.")
	}
	return nil
}

// converge runs a worker that takes the pipe out of its transitional state.
func (m *Manager) converge(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return // the state stays transitional in the store; Resume finishes it after the restart
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.work(name)
	}()
}

func (m *Manager) work(name string) {
	rec, err := m.store.Get(name)
	if err != nil {
		m.log.Error("reading pipe for a state change", "pipe", name, "err", err)
		return
	}
	via := rec.CurrentState
	// Every transition first stops what runs: an update restarts with the new definition, a start
	// after a failed run starts afresh.
	if err := m.stopRunner(name); err != nil {
		m.finish(name, failedState(via), err.Error())
		return
	}
	switch rec.DesiredState {
	case StateDeleted:
		if err := m.store.Delete(name); err != nil && !errors.Is(err, store.ErrNotFound) {
			m.log.Error("deleting pipe", "pipe", name, "err", err)
			m.finish(name, StateDeleteFailed, "deleting the stored pipe failed")
			return
		}
		m.log.Info("pipe deleted", "pipe", name)
		if m.deleted != nil {
			m.deleted(name)
		}
	case StateStopped:
		m.finish(name, StateStopped, rec.StateReason)
	default:
		def, err := decodeStored(rec)
		if err != nil {
			m.finish(name, failedState(via), err.Error())
			return
		}
		in, err := m.startRunner(def)
		if err != nil {
			if m.ctx.Err() != nil {
				return // shutting down: the transitional state stays and Resume finishes it
			}
			m.log.Warn("pipe failed to start", "pipe", name, "state", failedState(via), "err", err)
			m.finish(name, failedState(via), stateReason(err))
			return
		}
		// The runner may already have given up (a topic that does not exist): decided inside the
		// transaction, so that this and exited() agree whichever runs first.
		_, err = m.store.Update(name, func(r *store.Record) error {
			select {
			case <-in.done:
				if m.ctx.Err() != nil {
					return errSkip
				}
				r.CurrentState = failedState(via)
				r.StateReason = "pipe runtime stopped at start"
				if in.err != nil {
					r.StateReason = stateReason(in.err)
				}
			default:
				r.CurrentState = StateRunning
				r.StateReason = ""
			}
			return nil
		})
		if err != nil && !errors.Is(err, errSkip) && !errors.Is(err, store.ErrNotFound) {
			m.log.Error("recording pipe state", "pipe", name, "err", err)
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
}

// finish records where a transition ended. Only the pipe's worker calls it: API calls cannot change a
// pipe in a transitional state, and exits and OnFatal act only on RUNNING pipes.
func (m *Manager) finish(name, state, reason string) {
	_, err := m.store.Update(name, func(r *store.Record) error {
		r.CurrentState = state
		r.StateReason = reason
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.Error("recording pipe state", "pipe", name, "state", state, "err", err)
	}
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

func (m *Manager) startRunner(def *pipe.Definition) (*instance, error) {
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
	bctx, bcancel := context.WithTimeout(m.ctx, m.startTO)
	r, err := m.factory(bctx, def, hooks)
	bcancel()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(m.ctx)
	in := &instance{gen: gen, runner: r, cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		cancel()
		r.Close(context.Background())
		return nil, errors.New("server shutting down")
	}
	m.running[name] = in
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		err := r.Run(ctx)
		cerr := r.Close(context.WithoutCancel(ctx))
		in.err = errors.Join(err, cerr)
		close(in.done)
		if ctx.Err() == nil { // not stopped by us: the runner gave up on its own
			m.exited(name, gen, in.err)
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
	select {
	case <-in.done:
	case <-time.After(m.stopWait):
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
// reason, its desired state unchanged (so StartPipe, or a restart of the server, tries again).
func (m *Manager) exited(name string, gen uint64, err error) {
	m.mu.Lock()
	if in := m.running[name]; in != nil && in.gen == gen {
		delete(m.running, name)
	}
	m.mu.Unlock()
	reason := "pipe runtime stopped"
	if err != nil {
		reason = "pipe runtime stopped: " + stateReason(err)
	}
	m.log.Warn("pipe stopped on its own", "pipe", name, "err", err)
	m.store.Update(name, func(r *store.Record) error {
		if r.CurrentState != StateRunning {
			return errSkip
		}
		r.CurrentState = StateStopped
		r.StateReason = stateReason(errors.New(reason))
		return nil
	})
}

var errSkip = errors.New("skip")

// fatal stops a pipe on behalf of its runner (OnFatal): desired and current state become STOPPED with
// the reason, so that neither a restart of the server nor anything else restarts it until StartPipe.
func (m *Manager) fatal(name string, gen uint64, reason string) {
	m.mu.Lock()
	in := m.running[name]
	current := in != nil && in.gen == gen
	m.mu.Unlock()
	if !current {
		return
	}
	_, err := m.store.Update(name, func(r *store.Record) error {
		if r.CurrentState != StateRunning {
			return errSkip
		}
		r.DesiredState = StateStopped
		r.CurrentState = StateStopping
		r.StateReason = stateReason(errors.New(reason))
		r.LastModifiedTime = m.now().UTC()
		return nil
	})
	if err != nil {
		return
	}
	m.log.Warn("pipe stopped by its runtime", "pipe", name, "reason", reason)
	m.converge(name)
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

// decodeStored decodes a stored definition (already defaulted and validated when stored).
func decodeStored(r *store.Record) (*pipe.Definition, error) {
	var d pipe.Definition
	if err := json.Unmarshal(r.Definition, &d); err != nil {
		return nil, fmt.Errorf("decoding stored definition of pipe %s: %w", r.Name, err)
	}
	d.Name = r.Name
	d.DesiredState = r.DesiredState
	if d.DesiredState == StateDeleted {
		d.DesiredState = StateStopped
	}
	d.Tags = r.Tags
	return &d, nil
}
