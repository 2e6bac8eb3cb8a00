package metrics

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Lifecycle is the series of the pipes' lifecycle (the API server's manager):
//
//	sluice_pipe_state{pipe,state}                      1 for each pipe's CurrentState (read at scrape)
//	sluice_pipe_start_retries_total{pipe}              start attempts that failed transiently and are retried
//	sluice_pipe_start_next_attempt_timestamp_seconds{pipe}  when a retrying pipe tries next (Unix time);
//	                                                   the series exists only while the pipe retries
//
// The state series is read from the store at every scrape, so it can never disagree with DescribePipe;
// a pipe has one state series at a time (a state change replaces it, DeletePipe removes it).
type Lifecycle struct {
	retries *prometheus.CounterVec
	next    *prometheus.GaugeVec
	states  *stateCollector
}

// PipeState is one pipe's current state, as the state series publishes it.
type PipeState struct{ Pipe, State string }

// NewLifecycle registers the lifecycle series with reg (nil: nothing is registered, the methods still
// work). states lists every pipe's current state; it is called at scrape time. A second NewLifecycle on
// the same registry (a server restarted in the same process) takes the series over with its states.
func NewLifecycle(reg prometheus.Registerer, states func() ([]PipeState, error)) *Lifecycle {
	l := &Lifecycle{
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_pipe_start_retries_total",
			Help: "Attempts to create, start or resume a pipe that failed transiently (broker, DNS or Secrets Manager unreachable) and are retried.",
		}, []string{"pipe"}),
		next: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_pipe_start_next_attempt_timestamp_seconds",
			Help: "When a pipe that is retrying its start tries next (Unix time); absent while it is not retrying.",
		}, []string{"pipe"}),
		states: &stateCollector{list: states, desc: prometheus.NewDesc("sluice_pipe_state",
			"1 for the pipe's CurrentState (RUNNING, STOPPED, CREATING, START_FAILED, ...).", []string{"pipe", "state"}, nil)},
	}
	if reg != nil {
		adopt(reg, &l.retries)
		adopt(reg, &l.next)
		if err := reg.Register(l.states); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if !errors.As(err, &dup) {
				panic("metrics: registering sluice_pipe_state: " + err.Error())
			}
			existing := dup.ExistingCollector.(*stateCollector)
			existing.set(states)
			l.states = existing
		}
	}
	return l
}

// StartRetry counts a failed start attempt of pipe that is retried at next.
func (l *Lifecycle) StartRetry(pipe string, next time.Time) {
	l.retries.WithLabelValues(pipe).Inc()
	l.next.WithLabelValues(pipe).Set(float64(next.UnixNano()) / 1e9)
}

// StopRetrying removes pipe's next-attempt series: it started, failed for good, or was stopped.
func (l *Lifecycle) StopRetrying(pipe string) {
	l.next.DeleteLabelValues(pipe)
}

// Forget removes every lifecycle series of a deleted pipe (its state series goes with its record).
func (l *Lifecycle) Forget(pipe string) {
	l.retries.DeleteLabelValues(pipe)
	l.next.DeleteLabelValues(pipe)
}

// stateCollector publishes sluice_pipe_state from a listing made at scrape time.
type stateCollector struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	list func() ([]PipeState, error)
}

func (c *stateCollector) set(list func() ([]PipeState, error)) {
	c.mu.Lock()
	c.list = list
	c.mu.Unlock()
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	list := c.list
	c.mu.Unlock()
	if list == nil {
		return
	}
	states, err := list()
	if err != nil {
		// Skip the series rather than fail the whole scrape (promhttp answers 500 to an invalid
		// metric): the store being unreadable for a moment must not hide every other series.
		return
	}
	for _, s := range states {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1, s.Pipe, s.State)
	}
}
