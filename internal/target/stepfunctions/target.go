package stepfunctions

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Target starts one execution per batch.
type Target struct {
	runner
	// wait: REQUEST_RESPONSE (StartSyncExecution) rather than FIRE_AND_FORGET (StartExecution).
	wait bool
}

var _ plugin.Target = (*Target)(nil)

// newTarget is TargetSpec.New. Under REQUEST_RESPONSE it asks DescribeStateMachine for the type and
// refuses a STANDARD state machine.
func newTarget(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
	m, errs := parseMachine("Target", c.Endpoint)
	typ, perrs := awsclient.InvocationType(c, "TargetParameters", Member)
	if errs = append(errs, perrs...); len(errs) > 0 {
		return nil, plugin.Permanent(awsclient.FieldErrorsError(errs))
	}
	cl, err := client(ctx, env, m)
	if err != nil {
		return nil, err
	}
	t := &Target{runner: runner{m: m, client: cl}, wait: typ == awsclient.RequestResponse}
	if t.wait {
		what := fmt.Sprintf("TargetParameters.%s.InvocationType %s needs an EXPRESS state machine; use %s", Member, awsclient.RequestResponse, awsclient.FireAndForget)
		if err := checkType(ctx, cl, m, what); err != nil {
			return nil, fmt.Errorf("building the Step Functions target of pipe %s: %w", env.PipeName, err)
		}
	}
	return t, nil
}

// Deliver starts one execution with b.Payloads as one JSON array; under REQUEST_RESPONSE it waits for
// the execution and fails unless it SUCCEEDED. The output is not used.
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	if len(b.Payloads) == 0 {
		return nil
	}
	in := awsclient.JSONArray(b.Payloads, b.OwnJSON)
	if !t.wait {
		return t.start(ctx, in)
	}
	_, err := t.runSync(ctx, in)
	return err
}
