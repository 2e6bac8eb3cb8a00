package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Auto-stop: Pipes disables a pipe whose enrichment or target fails with client errors (4xx, permission
// problems, missing resources) nearly continuously, with an explanatory StateReason (the Pipes troubleshooting page).
// Sluice does the same from outside the runtime: the pipe's target and enrichment are wrapped so that
// every call's outcome is watched; when calls have failed with permanent errors (plugin.IsPermanent:
// 4xx other than 429, malformed requests) without a single success for AutoStop.After and at least
// AutoStop.MinFailures calls, the manager's OnFatal hook stops the pipe (DesiredState and CurrentState
// STOPPED). Throttling, 5xx and timeouts neither count nor reset: they are the far side's trouble.
// A dead-letter destination does not prevent the stop: Pipes stops such pipes too.

// AutoStop configures the auto-stop of pipes whose target or enrichment keeps failing with client errors.
type AutoStop struct {
	// After is how long client errors must go on without a success; zero means 5 minutes, negative
	// disables auto-stop.
	After time.Duration
	// MinFailures is how many failed calls in a row it takes as well; zero means 10.
	MinFailures int
}

func (a AutoStop) withDefaults() AutoStop {
	if a.After == 0 {
		a.After = 5 * time.Minute
	}
	if a.MinFailures <= 0 {
		a.MinFailures = 10
	}
	return a
}

// failWatch follows the outcomes of one pipe part's calls.
type failWatch struct {
	cfg     AutoStop
	what    string // "target file:///x", for the reason
	onFatal func(string)
	now     func() time.Time

	mu    sync.Mutex
	first time.Time
	n     int
	fired bool
}

func (w *failWatch) observe(err error) {
	if err != nil && !plugin.IsPermanent(err) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.n = 0
		return
	}
	now := w.now()
	if w.n == 0 {
		w.first = now
	}
	w.n++
	if w.fired || w.n < w.cfg.MinFailures || now.Sub(w.first) < w.cfg.After {
		return
	}
	w.fired = true
	reason := fmt.Sprintf("Stopped automatically: the %s has failed with client errors for %s (%d calls in a row, none succeeded); last error: %v",
		w.what, roundDuration(now.Sub(w.first)), w.n, err)
	if w.onFatal != nil {
		go w.onFatal(reason) // the manager stops the pipe, which waits for this very call to return
	}
}

// watchedRegistry returns a registry that builds the pipe's parts from base, with the pipe's own target
// and enrichment wrapped in failure watchers. Other targets built through it (a dead-letter
// destination) are returned unwrapped.
func watchedRegistry(base *plugin.Registry, def *pipe.Definition, hooks Hooks, cfg AutoStop) *plugin.Registry {
	reg := plugin.NewRegistry()
	now := time.Now
	for _, kind := range base.TargetKinds() {
		reg.RegisterTarget(kind, func(ctx context.Context, env plugin.Env, target string, params json.RawMessage) (plugin.Target, error) {
			f, ok := base.Target(target)
			if !ok {
				return nil, fmt.Errorf("target %q: unknown kind", target)
			}
			t, err := f(ctx, env, target, params)
			if err != nil {
				return nil, err
			}
			if target != def.Target {
				return t, nil
			}
			return &watchedTarget{inner: t, w: &failWatch{cfg: cfg, what: "target " + target, onFatal: hooks.OnFatal, now: now}}, nil
		})
	}
	if def.Enrichment != "" {
		if f, ok := base.Enricher(def.Enrichment); ok {
			reg.RegisterEnricher(plugin.Kind(def.Enrichment), func(ctx context.Context, env plugin.Env, enrichment string, params json.RawMessage) (plugin.Enricher, error) {
				e, err := f(ctx, env, enrichment, params)
				if err != nil {
					return nil, err
				}
				return &watchedEnricher{inner: e, w: &failWatch{cfg: cfg, what: "enrichment " + enrichment, onFatal: hooks.OnFatal, now: now}}, nil
			})
		}
	}
	return reg
}

// watchedTarget passes every call through to inner and reports its outcome. It offers every optional
// interface the runtime looks for, forwarding to inner's when it has one and behaving as the runtime
// would without it otherwise.
type watchedTarget struct {
	inner plugin.Target
	w     *failWatch
}

var (
	_ plugin.InputsTarget = (*watchedTarget)(nil)
	_ plugin.BatchLimiter = (*watchedTarget)(nil)
	_ plugin.Closer       = (*watchedTarget)(nil)
)

func (t *watchedTarget) Deliver(ctx context.Context, events []json.RawMessage) error {
	err := t.inner.Deliver(ctx, events)
	t.report(ctx, err)
	return err
}

func (t *watchedTarget) DeliverInputs(ctx context.Context, events, inputs []json.RawMessage) error {
	var err error
	if it, ok := t.inner.(plugin.InputsTarget); ok {
		err = it.DeliverInputs(ctx, events, inputs)
	} else {
		err = t.inner.Deliver(ctx, events)
	}
	t.report(ctx, err)
	return err
}

func (t *watchedTarget) report(ctx context.Context, err error) {
	if ctx.Err() != nil && err != nil && errors.Is(err, ctx.Err()) {
		return // stopping, not failing
	}
	t.w.observe(err)
}

// MaxBatch returns inner's limit; 0 means none, as for a target without one.
func (t *watchedTarget) MaxBatch() int {
	if l, ok := t.inner.(plugin.BatchLimiter); ok {
		return l.MaxBatch()
	}
	return 0
}

func (t *watchedTarget) Close(ctx context.Context) error {
	if c, ok := t.inner.(plugin.Closer); ok {
		return c.Close(ctx)
	}
	return nil
}

// watchedEnricher is watchedTarget's counterpart for enrichments.
type watchedEnricher struct {
	inner plugin.Enricher
	w     *failWatch
}

var (
	_ plugin.InputsEnricher = (*watchedEnricher)(nil)
	_ plugin.BatchLimiter   = (*watchedEnricher)(nil)
	_ plugin.Closer         = (*watchedEnricher)(nil)
)

func (e *watchedEnricher) Enrich(ctx context.Context, events []json.RawMessage) ([]json.RawMessage, error) {
	out, err := e.inner.Enrich(ctx, events)
	e.report(ctx, err)
	return out, err
}

func (e *watchedEnricher) EnrichInputs(ctx context.Context, events, inputs []json.RawMessage) ([]json.RawMessage, error) {
	var out []json.RawMessage
	var err error
	if ie, ok := e.inner.(plugin.InputsEnricher); ok {
		out, err = ie.EnrichInputs(ctx, events, inputs)
	} else {
		out, err = e.inner.Enrich(ctx, events)
	}
	e.report(ctx, err)
	return out, err
}

func (e *watchedEnricher) report(ctx context.Context, err error) {
	if ctx.Err() != nil && err != nil && errors.Is(err, ctx.Err()) {
		return
	}
	e.w.observe(err)
}

func (e *watchedEnricher) MaxBatch() int {
	if l, ok := e.inner.(plugin.BatchLimiter); ok {
		return l.MaxBatch()
	}
	return 0
}

func (e *watchedEnricher) Close(ctx context.Context) error {
	if c, ok := e.inner.(plugin.Closer); ok {
		return c.Close(ctx)
	}
	return nil
}

// roundDuration keeps a StateReason readable: whole seconds, or milliseconds below one second.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}
