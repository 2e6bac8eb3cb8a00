package supervisor

import (
	"fmt"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Auto-stop: Pipes disables a pipe whose enrichment or target fails with client errors (4xx, permission
// problems, missing resources) nearly continuously, with an explanatory StateReason (the Pipes troubleshooting page).
// Sluice does the same through the runtime's Watch hook, which reports every call's outcome of the pipe's
// target and enrichment; when calls have failed with permanent errors (plugin.IsPermanent:
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

// autoStopWatch returns the runtime.Deps.Watch hook of one pipe: a failure watcher for its target and
// one for its enrichment, which call hooks.OnFatal when they fire. The runtime reports every call of
// the pipe's own target and enrichment (not its dead-letter destination), so the parts stay unwrapped
// and keep their optional interfaces (the Kafka target's plugin.Keyed fast path).
func autoStopWatch(def *pipe.Definition, hooks Hooks, cfg AutoStop) func(part, endpoint string, err error) {
	now := time.Now
	target := &failWatch{cfg: cfg, what: "target " + def.Target, onFatal: hooks.OnFatal, now: now}
	enrichment := &failWatch{cfg: cfg, what: "enrichment " + def.Enrichment, onFatal: hooks.OnFatal, now: now}
	return func(part, _ string, err error) {
		if part == "enrichment" {
			enrichment.observe(err)
			return
		}
		target.observe(err)
	}
}

// roundDuration keeps a StateReason readable: whole seconds, or milliseconds below one second.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}
