package lambda

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluicehq/sluice/internal/awsclient"
	httpenrich "github.com/sluicehq/sluice/internal/enrich/http"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Enricher invokes a function synchronously once per batch and returns its response as the new events.
type Enricher struct {
	invoker
}

var _ plugin.Enricher = (*Enricher)(nil)

// newEnricher is EnricherSpec.New. It does no I/O.
func newEnricher(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Enricher, error) {
	fn, errs := parseFunction("Enrichment", c.Endpoint)
	if len(errs) > 0 {
		return nil, plugin.Permanent(awsclient.FieldErrorsError(errs))
	}
	cl, err := client(ctx, env, fn)
	if err != nil {
		return nil, err
	}
	return &Enricher{invoker{fn: fn, client: cl}}, nil
}

// Enrich invokes the function with b.Payloads as one JSON array and splits its response into events
// (httpenrich.Split: an array gives its elements; "", {} and [] nothing; any other value one event).
func (e *Enricher) Enrich(ctx context.Context, b plugin.Batch) ([]json.RawMessage, error) {
	if len(b.Payloads) == 0 {
		return nil, nil
	}
	resp, err := e.invoke(ctx, types.InvocationTypeRequestResponse, awsclient.JSONArray(b.Payloads, b.OwnJSON))
	if err != nil {
		return nil, err
	}
	if err := awsclient.CheckResponse(e.fn.arn, resp); err != nil {
		return nil, err
	}
	return httpenrich.Split(resp), nil
}
