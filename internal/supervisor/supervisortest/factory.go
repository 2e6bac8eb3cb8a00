// Package supervisortest holds a scripted supervisor.Factory: runners whose behaviour a test sets per
// pipe name (fail to build, block, exit, panic, call OnFatal), standing in for the real runtime in the
// lifecycle tests of internal/supervisor and internal/api (their end-to-end tests run the real one).
package supervisortest

import (
	"context"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/supervisor"
)

// Behaviour scripts what the runner of one pipe does; the zero value runs until stopped.
type Behaviour struct {
	BuildErr  error         // the factory fails with this error
	Block     chan struct{} // the factory waits for this channel to close (keeps the pipe transitional)
	Fatal     string        // the runner calls OnFatal(Fatal) once running
	ExitErr   error         // the runner's Run returns this, after ExitAfter
	ExitAfter time.Duration // how long the runner runs before returning ExitErr
	Drain     chan struct{} // once stopped, Run returns only when this channel closes (keeps it STOPPING)
	PanicRun  string        // Run panics with this value
	PanicStop string        // Close panics with this value
	PanicFn   string        // the factory panics with this value
}

// Factory builds runners as scripted per pipe name, and records every build. It is safe for
// concurrent use.
type Factory struct {
	mu        sync.Mutex
	behaviour map[string]Behaviour
	builds    map[string]int
	lastDef   map[string]*pipe.Definition
	live      map[string]int
}

// New returns a Factory whose runners run until stopped.
func New() *Factory {
	return &Factory{behaviour: map[string]Behaviour{}, builds: map[string]int{},
		lastDef: map[string]*pipe.Definition{}, live: map[string]int{}}
}

// Set scripts the pipe's next builds.
func (f *Factory) Set(name string, b Behaviour) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.behaviour[name] = b
}

// Stats returns how many times the pipe's runner was built, how many of them are running, and the
// definition of the last build.
func (f *Factory) Stats(name string) (builds, live int, last *pipe.Definition) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.builds[name], f.live[name], f.lastDef[name]
}

// Build is the supervisor.Factory.
func (f *Factory) Build(ctx context.Context, def *pipe.Definition, hooks supervisor.Hooks) (supervisor.Runner, error) {
	f.mu.Lock()
	b := f.behaviour[def.Name]
	f.builds[def.Name]++
	f.lastDef[def.Name] = def.Clone()
	f.mu.Unlock()
	if b.Block != nil {
		select {
		case <-b.Block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if b.PanicFn != "" {
		panic(b.PanicFn)
	}
	if b.BuildErr != nil {
		return nil, b.BuildErr
	}
	return &runner{f: f, name: def.Name, b: b, hooks: hooks}, nil
}

var _ supervisor.Factory = (*Factory)(nil).Build

type runner struct {
	f     *Factory
	name  string
	b     Behaviour
	hooks supervisor.Hooks
}

func (r *runner) Run(ctx context.Context) error {
	r.f.mu.Lock()
	r.f.live[r.name]++
	r.f.mu.Unlock()
	defer func() {
		r.f.mu.Lock()
		r.f.live[r.name]--
		r.f.mu.Unlock()
	}()
	if r.b.ExitErr != nil {
		select {
		case <-time.After(r.b.ExitAfter):
			return r.b.ExitErr
		case <-ctx.Done():
			return nil
		}
	}
	if r.b.Fatal != "" {
		r.hooks.OnFatal(r.b.Fatal)
	}
	if r.b.PanicRun != "" {
		panic(r.b.PanicRun)
	}
	<-ctx.Done()
	if r.b.Drain != nil {
		<-r.b.Drain
	}
	return nil
}

func (r *runner) Close(ctx context.Context) error {
	if r.b.PanicStop != "" {
		panic(r.b.PanicStop)
	}
	return nil
}
