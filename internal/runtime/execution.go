package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/execlog"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/retry"
	"github.com/sluicehq/sluice/transform"
)

// ExecutionTimeoutError is an execution that hit the execution limit. It matches
// context.DeadlineExceeded, so the retry policy treats it as a timeout.
type ExecutionTimeoutError struct {
	Limit time.Duration
	Err   error
}

func (e *ExecutionTimeoutError) Error() string {
	return fmt.Sprintf("execution exceeded the %v limit: %v", e.Limit, e.Err)
}

// Unwrap returns the stage's error and context.DeadlineExceeded.
func (e *ExecutionTimeoutError) Unwrap() []error { return []error{e.Err, context.DeadlineExceeded} }

// runExecution is one attempt of one execution (a batch, or a range of it while bisecting): the
// enrichment and target stages under the execution limit, with their execution-log steps and metrics.
// It returns how many leading events were delivered when it failed (always 0 with an enrichment, whose
// output events cannot be traced to its input; len(events) on success).
func (p *Pipe) runExecution(ctx context.Context, events []json.RawMessage, ahead *preRendered) (int, error) {
	g, m, xl := p.g, p.g.metrics, p.g.xlog
	id := execlog.NewExecutionID()
	start := time.Now()
	if m != nil {
		m.Invocations.Inc()
		m.Events.Add(float64(len(events)))
		m.EventSize.Observe(float64(arraySize(events)))
		m.Concurrency.Inc()
		defer m.Concurrency.Dec()
	}
	xl.Log(id, execlog.Entry{Type: execlog.ExecutionStarted, Payload: dataFor(xl, execlog.ExecutionStarted, events)})

	ectx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	var done int
	err := p.guardStages(func() (err error) { done, err = p.stages(ectx, id, events, ahead); return err }) // recover.go
	if m != nil {
		m.Duration.Observe(time.Since(start).Seconds())
	}
	if err == nil {
		xl.Log(id, execlog.Entry{Type: execlog.ExecutionSucceeded})
		return len(events), nil
	}
	if ctx.Err() == nil && errors.Is(ectx.Err(), context.DeadlineExceeded) {
		err = &ExecutionTimeoutError{Limit: g.timeout, Err: err}
		xl.Log(id, execlog.Entry{Type: execlog.ExecutionTimeout, Err: err})
		if m != nil {
			m.Timeout.Inc()
		}
		return done, err
	}
	if isPartial(err) {
		xl.Log(id, execlog.Entry{Type: execlog.ExecutionPartiallyFailed, Err: err})
		if m != nil {
			m.PartiallyFailed.Inc()
		}
		return done, err
	}
	if class, _ := retry.Classify(err); class == retry.Throttled {
		xl.Log(id, execlog.Entry{Type: execlog.ExecutionThrottled, Err: err})
		if m != nil {
			m.Throttled.Inc()
		}
		return done, err
	}
	xl.Log(id, execlog.Entry{Type: execlog.ExecutionFailed, Err: err})
	if m != nil {
		m.Failed.Inc()
	}
	return done, err
}

// isPartial reports whether a batch API accepted some entries of the call and refused others.
func isPartial(err error) bool {
	var pe *plugin.PartialError
	return errors.As(err, &pe)
}

// stages runs the enrichment stage (when the pipe has one) and the target stage, returning how many
// leading events were delivered when the target stage failed (0 with an enrichment: see runExecution).
func (p *Pipe) stages(ctx context.Context, id string, events []json.RawMessage, ahead *preRendered) (int, error) {
	xl, m := p.g.xlog, p.g.metrics
	inputs := events
	if p.enricher != nil {
		xl.Log(id, execlog.Entry{Type: execlog.EnrichmentStageEntered})
		start := time.Now()
		out, err := p.enrichStage(ctx, id, events)
		if m != nil {
			m.EnrichmentStageDuration.Observe(time.Since(start).Seconds())
		}
		if err != nil {
			xl.Log(id, execlog.Entry{Type: execlog.EnrichmentStageFailed, Err: err})
			if m != nil {
				m.EnrichmentStageFailed.Inc()
			}
			return 0, err
		}
		xl.Log(id, execlog.Entry{Type: execlog.EnrichmentStageSucceeded, Payload: dataFor(xl, execlog.EnrichmentStageSucceeded, out)})
		if len(out) == 0 {
			// The enrichment filtered everything out: the execution succeeds without the target.
			xl.Log(id, execlog.Entry{Type: execlog.TargetStageSkipped})
			if m != nil {
				m.TargetStageSkipped.Inc()
			}
			return len(events), nil
		}
		inputs = out
	}

	xl.Log(id, execlog.Entry{Type: execlog.TargetStageEntered})
	start := time.Now()
	done, err := p.targetStage(ctx, id, inputs, p.enricher == nil, ahead)
	if m != nil {
		m.TargetStageDuration.Observe(time.Since(start).Seconds())
	}
	if p.enricher != nil {
		done = 0 // the target's payloads are the enrichment's output, not events
	}
	if err != nil && isPartial(err) {
		xl.Log(id, execlog.Entry{Type: execlog.TargetStagePartiallyFailed, Err: err})
		if m != nil {
			m.TargetStagePartial.Inc()
		}
		return done, err
	}
	if err != nil {
		xl.Log(id, execlog.Entry{Type: execlog.TargetStageFailed, Err: err})
		if m != nil {
			m.TargetStageFailed.Inc()
		}
		return done, err
	}
	return len(events), nil
}

// enrichStage applies the enrichment template and invokes the enrichment in chunks of its MaxBatch.
func (p *Pipe) enrichStage(ctx context.Context, id string, events []json.RawMessage) ([]json.RawMessage, error) {
	xl := p.g.xlog
	payloads := events
	if p.enrichTemplate != nil {
		xl.Log(id, execlog.Entry{Type: execlog.EnrichmentTransformationStarted})
		var err error
		if payloads, err = p.render(p.enrichTemplate, events, "EnrichmentParameters.InputTemplate", payloadLimit(p.enrichLimit, p.enricher)); err != nil {
			// A template that fails on an event fails on it every time (also by rendering more than the
			// payload limit): not worth retrying.
			err = plugin.Permanent(err)
			xl.Log(id, execlog.Entry{Type: execlog.EnrichmentTransformationFailed, Err: err})
			return nil, err
		}
		xl.Log(id, execlog.Entry{Type: execlog.EnrichmentTransformationSucceeded, Payload: dataFor(xl, execlog.EnrichmentTransformationSucceeded, payloads)})
	} else if err := checkPayloads(events, payloadLimit(p.enrichLimit, p.enricher), "EnrichmentParameters"); err != nil {
		return nil, err
	}
	xl.Log(id, execlog.Entry{Type: execlog.EnrichmentInvocationStarted})
	var out []json.RawMessage
	for lo := 0; lo < len(payloads); {
		hi := chunkEnd(lo, len(payloads), p.enrichMax)
		res, err := p.enricher.Enrich(ctx, plugin.Batch{Payloads: payloads[lo:hi], Inputs: events[lo:hi], OwnJSON: p.enrichTemplate == nil})
		p.report(ctx, "enrichment", p.vars.EnrichmentArn, err)
		if err != nil {
			err = fmt.Errorf("invoking enrichment %s: %w", p.vars.EnrichmentArn, err)
			xl.Log(id, execlog.Entry{Type: execlog.EnrichmentInvocationFailed, Err: err,
				Request: dataFor(xl, execlog.EnrichmentInvocationFailed, payloads[lo:hi]), Service: p.vars.EnrichmentArn})
			return nil, err
		}
		out = append(out, res...)
		lo = hi
	}
	xl.Log(id, execlog.Entry{Type: execlog.EnrichmentInvocationSucceeded,
		Request: dataFor(xl, execlog.EnrichmentInvocationSucceeded, payloads), Response: dataFor(xl, execlog.EnrichmentInvocationSucceeded, out)})
	return out, nil
}

// targetStage applies the target template and invokes the target in chunks of its MaxBatch, returning
// how many leading payloads were delivered when it failed. own says the inputs are the source's events as
// Sluice encoded them (no enrichment ran). ahead, when not nil, holds the inputs' payloads rendered before
// the execution (execute.go's prepareBatch), used instead of rendering them again.
func (p *Pipe) targetStage(ctx context.Context, id string, inputs []json.RawMessage, own bool, ahead *preRendered) (int, error) {
	xl := p.g.xlog
	payloads := inputs
	var keys []json.RawMessage // a plugin.Keyed target's keys, evaluated while rendering (execute.go)
	compact := false           // plugin.Batch.Compact
	if p.targetTemplate != nil {
		xl.Log(id, execlog.Entry{Type: execlog.TargetTransformationStarted})
		var key *transform.Path
		if p.keyed != nil {
			key = p.keyed.KeyPath()
		}
		var err error
		if ahead != nil && len(ahead.payloads) == len(inputs) {
			payloads, keys, compact = ahead.payloads, ahead.keys, ahead.compact // rendered while the previous batch was delivered (execute.go)
		} else {
			r := p.getRendered()
			defer p.putRendered(r)
			r.wantCompact = p.compactTarget
			payloads, keys, err = p.renderInto(r, p.targetTemplate, inputs, "TargetParameters.InputTemplate", key, payloadLimit(p.targetLimit, p.target))
			compact = r.compact
		}
		if err != nil {
			err = plugin.Permanent(err)
			xl.Log(id, execlog.Entry{Type: execlog.TargetTransformationFailed, Err: err})
			return 0, err
		}
		xl.Log(id, execlog.Entry{Type: execlog.TargetTransformationSucceeded, Payload: dataFor(xl, execlog.TargetTransformationSucceeded, payloads)})
	} else if err := checkPayloads(inputs, payloadLimit(p.targetLimit, p.target), "TargetParameters"); err != nil {
		return 0, err
	}
	xl.Log(id, execlog.Entry{Type: execlog.TargetInvocationStarted})
	if done, err := p.invokeTarget(ctx, payloads, inputs, keys, own && p.targetTemplate == nil, compact); err != nil {
		typ := execlog.TargetInvocationFailed
		if isPartial(err) {
			typ = execlog.TargetInvocationPartiallyFailed
		}
		xl.Log(id, execlog.Entry{Type: typ, Err: err, Request: dataFor(xl, typ, payloads), Service: p.vars.TargetArn})
		return done, err
	}
	xl.Log(id, execlog.Entry{Type: execlog.TargetInvocationSucceeded, Request: dataFor(xl, execlog.TargetInvocationSucceeded, payloads)})
	xl.Log(id, execlog.Entry{Type: execlog.TargetStageSucceeded, Payload: dataFor(xl, execlog.TargetStageSucceeded, payloads)})
	return len(payloads), nil
}

// dataFor renders events as the JSON array a step carries, only when the log will write it.
func dataFor(xl *execlog.Logger, m execlog.MessageType, events []json.RawMessage) []byte {
	if !xl.WantsData(m) {
		return nil
	}
	buf := make([]byte, 0, arraySize(events))
	buf = append(buf, '[')
	for i, e := range events {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e...)
	}
	return append(buf, ']')
}

// arraySize is the size of events as one JSON array, the payload size Pipes' EventSize measures.
func arraySize(events []json.RawMessage) int {
	n := 2 + max(len(events)-1, 0)
	for _, e := range events {
		n += len(e)
	}
	return n
}
