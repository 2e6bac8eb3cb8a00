package runtime

import (
	"context"
	"encoding/json"
	"errors"
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
	pr, _ := b.Prepared.(*prepared)
	if pr == nil {
		pr = p.prepareBatch(b, false) // prepare panicked; the guard around handle reports it this time
	}
	defer p.release(pr)
	p.g.observeBatch(len(b.Records), len(pr.events))
	if len(pr.events) == 0 {
		p.log.Debug("batch filtered out", "topic", b.Topic, "partition", b.Partition, "records", len(b.Records))
		return nil
	}
	return p.deliver(ctx, b, pr.events, pr.rendered())
}

// prepared is the work done on a batch before its delivery (kafka.Config.Prepare): with the source's
// Overlap, while the partition's previous batch is delivered. It holds the events that passed the filter
// and, when the target stage starts from them (no enrichment) and has an InputTemplate, their payloads
// rendered for the first execution. Retries and the ranges of a bisection render again.
type prepared struct {
	events []json.RawMessage
	recs   []*kafka.Record // the records of events, for rendering
	r      *rendered       // the memory of ahead, nil when nothing was rendered
	ahead  preRendered
}

// preRendered is the target payloads of a batch's events (and a plugin.Keyed target's keys, nil when the
// key path failed) rendered before its first execution.
type preRendered struct {
	payloads, keys []json.RawMessage
	compact        bool // plugin.Batch.Compact
}

// rendered returns the payloads rendered ahead, or nil.
func (pr *prepared) rendered() *preRendered {
	if pr.r == nil {
		return nil
	}
	return &pr.ahead
}

// prepare is the source's Config.Prepare. A panic leaves the batch unprepared: handle then prepares it
// again under its guard, which reports the panic as it reports one in the delivery.
func (p *Pipe) prepare(_ context.Context, b *kafka.Batch) {
	defer func() {
		if recover() != nil {
			b.Prepared = nil
		}
	}()
	b.Prepared = p.prepareBatch(b, true)
}

// prepareBatch filters b and, when render is set and the target stage starts from the source's events,
// renders the target payloads of the survivors.
func (p *Pipe) prepareBatch(b *kafka.Batch, render bool) *prepared {
	pr, _ := p.prepBatches.Get().(*prepared)
	if pr == nil {
		pr = new(prepared)
	}
	pr.events, pr.recs = p.filter(b, pr.events[:0], pr.recs[:0])
	if !render || len(pr.events) == 0 || p.targetTemplate == nil || p.enricher != nil {
		return pr
	}
	var key *transform.Path
	if p.keyed != nil {
		key = p.keyed.KeyPath()
	}
	r := p.getRendered()
	r.recs, r.wantCompact = pr.recs, p.compactTarget
	payloads, keys, err := p.renderInto(r, p.targetTemplate, pr.events, "TargetParameters.InputTemplate", key, payloadLimit(p.targetLimit, p.target))
	if err != nil {
		// The target stage renders again and fails the same way there, logged and classified.
		p.putRendered(r)
		return pr
	}
	pr.r, pr.ahead = r, preRendered{payloads: payloads, keys: keys, compact: r.compact}
	return pr
}

// release gives pr's memory back once the batch's delivery is over: the source reuses the events' buffer
// then, so no reference to it is kept.
func (p *Pipe) release(pr *prepared) {
	if pr.r != nil {
		p.putRendered(pr.r)
		pr.r, pr.ahead = nil, preRendered{}
	}
	clear(pr.events)
	clear(pr.recs)
	pr.events, pr.recs = pr.events[:0], pr.recs[:0]
	p.prepBatches.Put(pr)
}

// filter appends to out the events of the records matching the pipe's FilterCriteria, in order, and their
// records to recs.
func (p *Pipe) filter(b *kafka.Batch, out []json.RawMessage, recs []*kafka.Record) ([]json.RawMessage, []*kafka.Record) {
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
		recs = append(recs, r)
	}
	return out, recs
}

// invokeTarget delivers payloads in order, in chunks of the target's MaxBatch, and returns how many
// payloads were delivered before an error: the chunks before the failing one, plus, when the target
// reports a *plugin.PartialError, the entries before its first failure. keys, when not nil, are the
// plugin.Keyed target's keys of inputs. own says the payloads are the source's events as Sluice encoded
// them (no enrichment, no template): plugin.Batch.OwnJSON; compact says they are a template's renderings
// made compact for the target: plugin.Batch.Compact.
func (p *Pipe) invokeTarget(ctx context.Context, payloads, inputs, keys []json.RawMessage, own, compact bool) (int, error) {
	for lo := 0; lo < len(payloads); {
		hi := chunkEnd(lo, len(payloads), p.targetMax)
		b := plugin.Batch{Payloads: payloads[lo:hi], Inputs: inputs[lo:hi], OwnJSON: own, Compact: compact}
		if keys != nil {
			b.Keys = keys[lo:hi]
		}
		err := p.target.Deliver(ctx, b)
		p.report(ctx, "target", p.vars.TargetArn, err)
		if err != nil {
			return lo + deliveredBefore(err, hi-lo), fmt.Errorf("invoking target %s with events %d..%d of %d: %w", p.vars.TargetArn, lo, hi-1, len(payloads), err)
		}
		lo = hi
	}
	return len(payloads), nil
}

// deliveredBefore returns how many leading entries of a failed call of n entries were delivered: those
// before a *plugin.PartialError's first failure, or none. A PartialError whose first index is out of range
// counts as a failure of the whole call.
func deliveredBefore(err error, n int) int {
	var pe *plugin.PartialError
	if !errors.As(err, &pe) || len(pe.Failed) == 0 {
		return 0
	}
	if f := pe.Failed[0]; f > 0 && f < n {
		return f
	}
	return 0
}

// report tells Deps.Watch the outcome of a call to the target or enrichment, unless the call was cut
// short by its context ending (the pipe stopping or the execution timing out is no failure of the part).
func (p *Pipe) report(ctx context.Context, part, endpoint string, err error) {
	if p.watch == nil {
		return
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return
	}
	p.watch(part, endpoint, err)
}

// render applies tmpl to every event, with the stage's ingestion time, into one fresh buffer, within limit
// bytes per event.
func (p *Pipe) render(tmpl *transform.Template, events []json.RawMessage, field string, limit int) ([]json.RawMessage, error) {
	out, _, err := p.renderInto(new(rendered), tmpl, events, field, nil, limit)
	return out, err
}

// payloadLimit is the largest payload part (the target or the enrichment) takes per event: the Pipes limit
// (plugin.MaxPayloadBytes), or its spec's (specLimit) or the instance's own (plugin.PayloadLimiter) when
// lower.
func payloadLimit(specLimit int, part any) int {
	limit := plugin.MaxPayloadBytes
	if specLimit > 0 && specLimit < limit {
		limit = specLimit
	}
	if l, ok := part.(plugin.PayloadLimiter); ok {
		if n := l.MaxPayloadBytes(); n > 0 && n < limit {
			limit = n
		}
	}
	return limit
}

// checkPayloads fails, permanently, when an event handed on without a template is over limit: the same
// rule as a rendered payload, so that a record is not sent where it cannot be accepted.
func checkPayloads(events []json.RawMessage, limit int, field string) error {
	for i, ev := range events {
		if len(ev) > limit {
			return plugin.Permanent(&TransformError{Field: field, Index: i,
				Err: fmt.Errorf("payload of %d bytes: %w", len(ev), &transform.SizeError{Limit: limit})})
		}
	}
	return nil
}

// rendered is the memory of one stage's rendered payloads: one buffer for all of them and the slice of
// their spans, plus the keys of a plugin.Keyed target and the Scope they are evaluated with. The target stage
// takes it from Pipe.renders and returns it when the target has returned (targets keep nothing after
// Deliver), so that a running pipe renders without allocating.
type rendered struct {
	buf    []byte
	out    []json.RawMessage
	keyBuf []byte
	keys   []json.RawMessage
	scope  transform.Scope
	// recs, when set, are the source records of the events rendered (prepareBatch): their own key and
	// value bytes are read instead of decoding the events' base64 (transform.Scope.ResetKafka).
	recs []*kafka.Record
	// wantCompact asks renderInto for compact renderings (a plugin.CompactJSONTarget's template);
	// compact reports that every payload it rendered is (plugin.Batch.Compact).
	wantCompact, compact bool
}

// getRendered takes a rendered from the pool; putRendered gives it back once nothing uses its payloads.
func (p *Pipe) getRendered() *rendered {
	if r, ok := p.renders.Get().(*rendered); ok {
		return r
	}
	return new(rendered)
}

func (p *Pipe) putRendered(r *rendered) {
	clear(r.out) // spans of r.buf, or of arrays it outgrew: release the latter
	clear(r.keys)
	r.recs, r.wantCompact, r.compact = nil, false, false
	r.scope.Reset(nil)
	p.renders.Put(r)
}

// renderInto is render using r's memory; the payloads alias r until it is reused. Rendering an event stops
// as soon as its payload passes limit bytes (transform.RenderScopeLimit), so a template that repeats a large
// value fails that event with a *transform.SizeError instead of growing the buffer without bound. With a key path it also
// evaluates the path on every event through the same transform.Scope and returns the keys (nil for a
// missing key), or nil keys when the path failed on some event: the target then evaluates the keys
// itself, and reports that failure as it always does.
func (p *Pipe) renderInto(r *rendered, tmpl *transform.Template, events []json.RawMessage, field string, key *transform.Path, limit int) ([]json.RawMessage, []json.RawMessage, error) {
	vars := p.vars
	vars.IngestionTime = time.Now().UTC()
	if cap(r.out) < len(events) {
		r.out = make([]json.RawMessage, len(events))
		r.keys = make([]json.RawMessage, len(events))
	}
	out, keys := r.out[:len(events)], r.keys[:len(events)]
	buf, keyBuf := r.buf[:0], r.keyBuf[:0]
	if cap(buf) == 0 {
		size := 0
		for _, ev := range events {
			size += len(ev)
		}
		buf = make([]byte, 0, size/2+64*len(events))
	}
	keysOK := key != nil
	compact := r.wantCompact && tmpl.CompactJSON()
	r.compact = false
	for i, ev := range events {
		if r.recs != nil {
			r.scope.ResetKafka(ev, r.recs[i].Key, r.recs[i].Value)
		} else {
			r.scope.Reset(ev)
		}
		start := len(buf)
		var err error
		if compact {
			// The template's renderings are JSON: written without whitespace outside strings in the same
			// pass (transform.Template.RenderScopeCompact), as the target would write them.
			buf, compact, err = tmpl.RenderScopeCompact(buf, &r.scope, &vars, limit)
		} else {
			buf, err = tmpl.RenderScopeLimit(buf, &r.scope, &vars, limit)
		}
		if err != nil {
			r.buf, r.keyBuf = buf, keyBuf
			return nil, nil, &TransformError{Field: field, Index: i, Err: err}
		}
		// A span taken before the buffer grows again points into the old array, which stays valid and
		// unchanged (Render only appends). Capacities are capped so that a plugin appending to one event
		// cannot overwrite the next.
		out[i] = buf[start:len(buf):len(buf)]
		if keysOK {
			ks := len(keyBuf)
			var found bool
			if keyBuf, found, err = key.AppendLookupScope(keyBuf, &r.scope); err != nil {
				keysOK = false
			}
			keys[i] = nil
			if found {
				keys[i] = keyBuf[ks:len(keyBuf):len(keyBuf)]
			}
		}
	}
	r.buf, r.keyBuf = buf, keyBuf
	r.compact = compact
	if !keysOK {
		return out, nil, nil
	}
	return out, keys, nil
}

// TransformError is an input template that failed on one event of an execution. Retrying cannot fix it
// unless the template reads something that changes (the ingestion time); the retry policy (deliver.go) decides.
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
