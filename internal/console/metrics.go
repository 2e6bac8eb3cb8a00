package console

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Snapshot is one pipe's counters at one moment, as internal/metrics exports them.
type Snapshot struct {
	RecordsRead, RecordsFiltered, DeadLettered float64
	Events, Invocations, Failed                float64
	// DurationSum and DurationCount are the execution duration histogram's sum (seconds) and count.
	DurationSum, DurationCount float64
	// Lag is the consumer lag by partition.
	Lag map[int32]int64
}

// The series Gather reads (internal/metrics names them; TestGatherNames checks the two agree).
const (
	seriesRecordsRead  = "sluice_source_records_total"
	seriesFiltered     = "sluice_pipe_records_filtered_total"
	seriesDeadLettered = "sluice_pipe_records_dead_lettered_total"
	seriesEvents       = "sluice_pipe_events_total"
	seriesInvocations  = "sluice_pipe_invocations_total"
	seriesFailed       = "sluice_pipe_executions_failed_total"
	seriesDuration     = "sluice_pipe_duration_seconds"
	seriesLag          = "sluice_source_consumer_lag_records"
)

// Gather reads the pipes' series from a Prometheus gatherer (the registry the runtime registers them
// in) into one Snapshot per pipe. A Backend whose metrics live in a registry implements Metrics with it.
func Gather(g prometheus.Gatherer) (map[string]Snapshot, error) {
	out := map[string]Snapshot{}
	if g == nil {
		return out, nil
	}
	fams, err := g.Gather()
	if err != nil && len(fams) == 0 {
		return nil, fmt.Errorf("gathering pipe metrics: %w", err)
	}
	for _, f := range fams {
		name := f.GetName()
		for _, m := range f.GetMetric() {
			pipe, partition := "", ""
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "pipe":
					pipe = l.GetValue()
				case "partition":
					partition = l.GetValue()
				}
			}
			if pipe == "" {
				continue
			}
			s := out[pipe]
			switch name {
			case seriesRecordsRead:
				s.RecordsRead += m.GetCounter().GetValue()
			case seriesFiltered:
				s.RecordsFiltered += m.GetCounter().GetValue()
			case seriesDeadLettered:
				s.DeadLettered += m.GetCounter().GetValue()
			case seriesEvents:
				s.Events += m.GetCounter().GetValue()
			case seriesInvocations:
				s.Invocations += m.GetCounter().GetValue()
			case seriesFailed:
				s.Failed += m.GetCounter().GetValue()
			case seriesDuration:
				s.DurationSum += m.GetHistogram().GetSampleSum()
				s.DurationCount += float64(m.GetHistogram().GetSampleCount())
			case seriesLag:
				p, err := strconv.ParseInt(partition, 10, 32)
				if err != nil {
					continue
				}
				if s.Lag == nil {
					s.Lag = map[int32]int64{}
				}
				s.Lag[int32(p)] = int64(gaugeValue(m))
			default:
				continue
			}
			out[pipe] = s
		}
	}
	return out, nil
}

func gaugeValue(m *dto.Metric) float64 {
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetUntyped().GetValue()
}

// historyPoints is how many samples each pipe keeps: five minutes at one a second.
const (
	historyPoints   = 300
	historyInterval = time.Second
)

// history keeps the recent samples of every pipe, so that the list's sparklines and the pipe page's
// charts have the last minutes. It samples on demand, when a page or an event stream asks, at most once a
// second whoever asks: no goroutine of its own, and no work when nobody watches.
type history struct {
	now func() time.Time

	mu    sync.Mutex
	last  time.Time
	prev  map[string]Snapshot
	pipes map[string]*series
}

// series is one pipe's recent rates, oldest first.
type series struct {
	Rate      []float64 `json:"rate"`      // records read per second
	Delivered []float64 `json:"delivered"` // events entering executions per second
	Errors    []float64 `json:"errors"`    // failed executions per second
	Duration  []float64 `json:"duration"`  // mean execution duration in the interval, milliseconds
}

func newHistory(now func() time.Time) *history {
	return &history{now: now, prev: map[string]Snapshot{}, pipes: map[string]*series{}}
}

// sample takes a snapshot through b unless one was taken less than an interval ago, and returns the
// latest snapshot of every pipe.
func (h *history) sample(ctx context.Context, b Backend) (map[string]Snapshot, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if !h.last.IsZero() && now.Sub(h.last) < historyInterval*9/10 {
		return h.prev, nil
	}
	snap, err := b.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	secs := now.Sub(h.last).Seconds()
	first := h.last.IsZero()
	h.last = now
	for name, s := range snap {
		p, seen := h.prev[name]
		ser := h.pipes[name]
		if ser == nil {
			ser = &series{}
			h.pipes[name] = ser
		}
		if first || !seen || secs <= 0 {
			continue
		}
		rate := func(a, b float64) float64 {
			if a < b { // the series restarted (pipe deleted and created again)
				return 0
			}
			return (a - b) / secs
		}
		dur := 0.0
		if n := s.DurationCount - p.DurationCount; n > 0 {
			dur = (s.DurationSum - p.DurationSum) / n * 1000
		}
		ser.push(rate(s.RecordsRead, p.RecordsRead), rate(s.Events, p.Events), rate(s.Failed, p.Failed), dur)
	}
	for name := range h.pipes {
		if _, ok := snap[name]; !ok {
			delete(h.pipes, name)
		}
	}
	h.prev = snap
	return snap, nil
}

func (s *series) push(rate, delivered, errs, dur float64) {
	add := func(xs []float64, v float64) []float64 {
		xs = append(xs, v)
		if len(xs) > historyPoints {
			xs = xs[len(xs)-historyPoints:]
		}
		return xs
	}
	s.Rate = add(s.Rate, rate)
	s.Delivered = add(s.Delivered, delivered)
	s.Errors = add(s.Errors, errs)
	s.Duration = add(s.Duration, dur)
}

// get returns a copy of a pipe's series (empty when it has none yet).
func (h *history) get(name string) series {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.pipes[name]
	if s == nil {
		return series{Rate: []float64{}, Delivered: []float64{}, Errors: []float64{}, Duration: []float64{}}
	}
	return series{Rate: append([]float64{}, s.Rate...), Delivered: append([]float64{}, s.Delivered...),
		Errors: append([]float64{}, s.Errors...), Duration: append([]float64{}, s.Duration...)}
}

// partitionLag is one row of the pipe page's lag table.
type partitionLag struct {
	Partition int32 `json:"partition"`
	Lag       int64 `json:"lag"`
}

func sortedLag(m map[int32]int64) []partitionLag {
	out := make([]partitionLag, 0, len(m))
	for p, l := range m {
		out = append(out, partitionLag{p, l})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}

func totalLag(m map[int32]int64) int64 {
	var n int64
	for _, l := range m {
		n += l
	}
	return n
}
