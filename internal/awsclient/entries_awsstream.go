package awsclient

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/internal/plugin"
)

// Refused turns the answer of one batch call (named call in errors: "kinesis PutRecords to ARN") into Chunks'
// terms: nil when count (FailedRecordCount, FailedPutCount) is zero; the first refused entry's
// classified error when every one of the n entries was refused; else a *plugin.PartialError with the
// indexes (relative to the call) of the entries whose code(j) is set. A count with no codes fails the
// whole call.
func Refused(call string, count int32, n int, code func(j int) (code, message *string)) error {
	if count == 0 {
		return nil
	}
	var failed []int
	var first error
	for j := range n {
		c, m := code(j)
		if c == nil {
			continue
		}
		if first == nil {
			msg := ""
			if m != nil {
				msg = *m
			}
			first = ClassifyCode(*c, fmt.Errorf("%s: entry %d refused: %s: %s", call, j, *c, msg))
		}
		failed = append(failed, j)
	}
	switch {
	case first == nil:
		return fmt.Errorf("%s: %d entries failed without an error code", call, count)
	case len(failed) == n:
		return first
	}
	return &plugin.PartialError{Failed: failed, Err: first}
}

// EachEvent delivers n events one call each (the targets Pipes cannot batch: ECS, Batch, Redshift Data,
// SageMaker pipelines), in order, stopping at the first failure: the classified error when it is the
// first event, else a *plugin.PartialError from that event on.
func EachEvent(ctx context.Context, n int, call func(ctx context.Context, i int) error) error {
	return Chunks(n, 1, 0, nil, func(lo, _ int) error { return Classify(call(ctx, lo)) })
}

// EachDecoded is EachEvent for the one-call-per-event targets: call gets event i's parameter object
// decoded from dyn, its paths resolved against b.Inputs[i] (a decoding failure is that event's permanent
// failure, as EachEvent reports any).
func EachDecoded[P any](ctx context.Context, b plugin.Batch, dyn *Dynamic, call func(ctx context.Context, p *P) error) error {
	return EachEvent(ctx, len(b.Payloads), func(ctx context.Context, i int) error {
		var p P
		if err := dyn.Decode(b, i, &p); err != nil {
			return err
		}
		return call(ctx, &p)
	})
}
