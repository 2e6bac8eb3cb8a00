package stepfunctions

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/internal/awsclient"
	httpenrich "github.com/sluicehq/sluice/internal/enrich/http"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Enricher runs an EXPRESS state machine synchronously once per batch and returns its output as the
// new events.
type Enricher struct {
	runner
}

var _ plugin.Enricher = (*Enricher)(nil)

// newEnricher is EnricherSpec.New: it asks DescribeStateMachine for the type and refuses a STANDARD
// state machine.
func newEnricher(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Enricher, error) {
	m, errs := parseMachine("Enrichment", c.Endpoint)
	if len(errs) > 0 {
		return nil, plugin.Permanent(awsclient.FieldErrorsError(errs))
	}
	cl, err := client(ctx, env, m)
	if err != nil {
		return nil, err
	}
	if err := checkType(ctx, cl, m, "an enrichment must be an EXPRESS state machine"); err != nil {
		return nil, fmt.Errorf("building the Step Functions enrichment of pipe %s: %w", env.PipeName, err)
	}
	return &Enricher{runner{m: m, client: cl}}, nil
}

// Enrich runs the state machine with b.Payloads as one JSON array and splits its output into events
// (httpenrich.Split: an array gives its elements; "", {} and [] nothing; any other value one event).
func (e *Enricher) Enrich(ctx context.Context, b plugin.Batch) ([]json.RawMessage, error) {
	if len(b.Payloads) == 0 {
		return nil, nil
	}
	out, err := e.runSync(ctx, awsclient.JSONArray(b.Payloads, b.OwnJSON))
	if err != nil {
		return nil, err
	}
	if err := awsclient.CheckResponse(e.m.arn, out); err != nil {
		return nil, err
	}
	return httpenrich.Split(out), nil
}
