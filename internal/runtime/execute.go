package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/source/kafka"
	"github.com/sluicehq/sluice/transform"
)

// handle is the source's handler for one batch of one partition. Returning nil lets the source commit the
// batch; returning an error (only the context's, once the pipe stops) leaves it uncommitted.
func (p *Pipe) handle(ctx context.Context, b *kafka.Batch) error {
	if !p.enter() {
		// Draining: take no new batch; it stays uncommitted and is read again after a restart.
		<-ctx.Done()
		return ctx.Err()
	}
	defer p.inflight.Done()
	events := p.filter(b)
	p.g.observeBatch(len(b.Records), len(events))
	if len(events) == 0 {
		p.log.Debug("batch filtered out", "topic", b.Topic, "partition", b.Partition, "records", len(b.Records))
		return nil
	}
	return p.deliver(ctx, b, events)
}

// filter returns the events of the records matching the pipe's FilterCriteria, in order.
func (p *Pipe) filter(b *kafka.Batch) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(b.Records))
	for i := range b.Records {
		r := &b.Records[i]
		if p.filters != nil {
			ok, err := p.filters.MatchKafka(r.Event, r.Key, r.Value)
			if err != nil {
				// The event is our own JSON, so this is not expected; a record that cannot be
				// matched is treated as not matching rather than blocking its partition forever.
				p.log.Error("matching record against FilterCriteria; treated as filtered out",
					"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "error", err)
				continue
			}
			if !ok {
				continue
			}
		}
		out = append(out, r.Event)
	}
	return out
}

// Outcome describes what one execution did, for logs and metrics.
type Outcome struct {
	// Events is the number of events entering the execution (after filtering).
	Events int
	// Enriched is the number of events the enrichment returned (Events when there is none).
	Enriched int
	// Skipped reports that the enrichment returned no events, so the target was not invoked.
	Skipped bool
	// Delivered is the number of events the target accepted.
	Delivered int
}

// execute runs one attempt of an execution: enrichment, target template, target. It is all-or-nothing
// from the caller's point of view: an error means the whole execution must be retried (chunks delivered
// before the failure are delivered again, which at-least-once allows).
func (p *Pipe) execute(ctx context.Context, events []json.RawMessage) (Outcome, error) {
	o := Outcome{Events: len(events), Enriched: len(events)}
	inputs := events
	if p.enricher != nil {
		out, err := p.enrich(ctx, events)
		if err != nil {
			return o, err
		}
		o.Enriched = len(out)
		if len(out) == 0 {
			o.Skipped = true
			return o, nil
		}
		inputs = out
	}
	payloads := inputs
	if p.targetTemplate != nil {
		var err error
		if payloads, err = p.render(p.targetTemplate, inputs, "TargetParameters.InputTemplate"); err != nil {
			return o, err
		}
	}
	n, err := p.invokeTarget(ctx, payloads, inputs)
	o.Delivered = n
	return o, err
}

// enrich applies the enrichment template and calls the enrichment, in chunks of its MaxBatch.
func (p *Pipe) enrich(ctx context.Context, events []json.RawMessage) ([]json.RawMessage, error) {
	payloads := events
	if p.enrichTemplate != nil {
		var err error
		if payloads, err = p.render(p.enrichTemplate, events, "EnrichmentParameters.InputTemplate"); err != nil {
			return nil, err
		}
	}
	ie, withInputs := p.enricher.(plugin.InputsEnricher)
	var out []json.RawMessage
	for lo := 0; lo < len(payloads); {
		hi := chunkEnd(lo, len(payloads), p.enrichMax)
		var res []json.RawMessage
		var err error
		if withInputs {
			res, err = ie.EnrichInputs(ctx, payloads[lo:hi], events[lo:hi])
		} else {
			res, err = p.enricher.Enrich(ctx, payloads[lo:hi])
		}
		if err != nil {
			return nil, fmt.Errorf("invoking enrichment %s: %w", p.vars.EnrichmentArn, err)
		}
		if out == nil && hi == len(payloads) {
			return res, nil // one chunk: no copy
		}
		out = append(out, res...)
		lo = hi
	}
	return out, nil
}

// invokeTarget delivers payloads in order, in chunks of the target's MaxBatch, and returns how many
// events were delivered before an error.
func (p *Pipe) invokeTarget(ctx context.Context, payloads, inputs []json.RawMessage) (int, error) {
	it, withInputs := p.target.(plugin.InputsTarget)
	for lo := 0; lo < len(payloads); {
		hi := chunkEnd(lo, len(payloads), p.targetMax)
		var err error
		if withInputs {
			err = it.DeliverInputs(ctx, payloads[lo:hi], inputs[lo:hi])
		} else {
			err = p.target.Deliver(ctx, payloads[lo:hi])
		}
		if err != nil {
			return lo, fmt.Errorf("invoking target %s with events %d..%d of %d: %w", p.vars.TargetArn, lo, hi-1, len(payloads), err)
		}
		lo = hi
	}
	return len(payloads), nil
}

// render applies tmpl to every event, with the stage's ingestion time, into one shared buffer.
func (p *Pipe) render(tmpl *transform.Template, events []json.RawMessage, field string) ([]json.RawMessage, error) {
	vars := p.vars
	vars.IngestionTime = time.Now().UTC()
	out := make([]json.RawMessage, len(events))
	size := 0
	for _, ev := range events {
		size += len(ev)
	}
	buf := make([]byte, 0, size/2+64*len(events))
	for i, ev := range events {
		start := len(buf)
		var err error
		buf, err = tmpl.Render(buf, ev, &vars)
		if err != nil {
			return nil, &TransformError{Field: field, Index: i, Err: err}
		}
		// Capacity capped so that a plugin appending to one event cannot overwrite the next.
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out, nil
}

// TransformError is an input template that failed on one event of an execution. Retrying cannot fix it
// unless the template reads something that changes (the ingestion time); GUARANTEES' policy decides.
type TransformError struct {
	Field string // "TargetParameters.InputTemplate" or "EnrichmentParameters.InputTemplate"
	Index int    // the event's position in the execution
	Err   error
}

func (e *TransformError) Error() string {
	return fmt.Sprintf("applying %s to event %d: %v", e.Field, e.Index, e.Err)
}

func (e *TransformError) Unwrap() error { return e.Err }

// chunkEnd returns the end of the chunk starting at lo for at most limit items (0: no limit).
func chunkEnd(lo, n, limit int) int {
	if limit <= 0 || n-lo <= limit {
		return n
	}
	return lo + limit
}
