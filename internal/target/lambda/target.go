package lambda

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Target invokes a function once per batch.
type Target struct {
	invoker
	typ types.InvocationType
}

var (
	_ plugin.Target         = (*Target)(nil)
	_ plugin.PayloadLimiter = (*Target)(nil)
)

// newTarget is TargetSpec.New. It does no I/O: the function is first called by Deliver.
func newTarget(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
	fn, errs := parseFunction("Target", c.Endpoint)
	typ, perrs := parameters(c)
	if errs = append(errs, perrs...); len(errs) > 0 {
		return nil, plugin.Permanent(awsclient.FieldErrorsError(errs))
	}
	cl, err := client(ctx, env, fn)
	if err != nil {
		return nil, err
	}
	t := &Target{invoker: invoker{fn: fn, client: cl}, typ: types.InvocationTypeRequestResponse}
	if typ == awsclient.FireAndForget {
		t.typ = types.InvocationTypeEvent
	}
	return t, nil
}

// Deliver invokes the function with b.Payloads as one JSON array, waiting for the function under
// REQUEST_RESPONSE and for Lambda to queue the event under FIRE_AND_FORGET. The function's response
// is not used.
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	if len(b.Payloads) == 0 {
		return nil
	}
	_, err := t.invoke(ctx, t.typ, awsclient.JSONArray(b.Payloads, b.OwnJSON))
	return err
}

// MaxPayloadBytes lowers the per-event limit to the 1 MB of an asynchronous invocation under
// FIRE_AND_FORGET.
func (t *Target) MaxPayloadBytes() int {
	if t.typ == types.InvocationTypeEvent {
		return asyncPayloadBytes
	}
	return 0
}
