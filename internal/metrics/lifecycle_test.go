package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestLifecycle(t *testing.T) {
	reg := prometheus.NewRegistry()
	states := []PipeState{{"a", "RUNNING"}, {"b", "CREATING"}}
	l := NewLifecycle(reg, func() ([]PipeState, error) { return states, nil })
	l.StartRetry("b", time.Unix(1700000000, 0))
	l.StartRetry("b", time.Unix(1700000008, 0))
	want := `
# HELP sluice_pipe_start_next_attempt_timestamp_seconds When a pipe that is retrying its start tries next (Unix time); absent while it is not retrying.
# TYPE sluice_pipe_start_next_attempt_timestamp_seconds gauge
sluice_pipe_start_next_attempt_timestamp_seconds{pipe="b"} 1.700000008e+09
# HELP sluice_pipe_start_retries_total Attempts to create, start or resume a pipe that failed transiently (broker, DNS or Secrets Manager unreachable) and are retried.
# TYPE sluice_pipe_start_retries_total counter
sluice_pipe_start_retries_total{pipe="b"} 2
# HELP sluice_pipe_state 1 for the pipe's CurrentState (RUNNING, STOPPED, CREATING, START_FAILED, ...).
# TYPE sluice_pipe_state gauge
sluice_pipe_state{pipe="a",state="RUNNING"} 1
sluice_pipe_state{pipe="b",state="CREATING"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	// A second Lifecycle on the registry (a restarted server) takes the series over with its states;
	// a pipe that started has no next attempt; an unreadable store drops only the state series.
	states2 := []PipeState{{"b", "RUNNING"}}
	l2 := NewLifecycle(reg, func() ([]PipeState, error) { return states2, nil })
	l2.StopRetrying("b")
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP sluice_pipe_state 1 for the pipe's CurrentState (RUNNING, STOPPED, CREATING, START_FAILED, ...).
# TYPE sluice_pipe_state gauge
sluice_pipe_state{pipe="b",state="RUNNING"} 1
`), "sluice_pipe_state", "sluice_pipe_start_next_attempt_timestamp_seconds"); err != nil {
		t.Error(err)
	}
	NewLifecycle(reg, func() ([]PipeState, error) { return nil, errors.New("store closed") })
	l2.Forget("b")
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Errorf("after Forget with an unreadable store: %d series, %v; want 0, nil", n, err)
	}
}
