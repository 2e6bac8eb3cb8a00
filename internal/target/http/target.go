package httptarget

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/internal/plugin"
)

func init() {
	plugin.Default.AddTarget(Spec)
}

// Spec is the registry entry of the "http" and "https" targets: one event per request, as API
// destinations take, hence a source BatchSize of 1 by default.
var Spec = plugin.TargetSpec{
	Kinds:   []string{"http", "https"},
	Members: []string{"HttpParameters", "ApiDestinationParameters"},
	Validate: func(c plugin.Check) []plugin.FieldError {
		return ValidateEndpoint(c, "Target", "TargetParameters", "target")
	},
	Files:            Files("TargetParameters"),
	MaxBatch:         1,
	DefaultBatchSize: 1,
	New:              newTarget,
}

// Target delivers each event with one HTTP request.
type Target struct {
	client *Client
}

var (
	_ plugin.Target = (*Target)(nil)
	_ plugin.Closer = (*Target)(nil)
)

// newTarget is Spec.New: c.Params is the pipe's TargetParameters JSON.
func newTarget(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
	t, err := New(ctx, env, c.Endpoint, c.Params)
	if err != nil {
		return nil, err // not t: a nil *Target in a plugin.Target is a non-nil interface
	}
	return t, nil
}

// New builds the target for the pipe's Target URL and TargetParameters JSON.
func New(ctx context.Context, env plugin.Env, target string, params json.RawMessage, opts ...Option) (*Target, error) {
	var tp Parameters
	if len(params) > 0 && string(params) != "null" {
		if err := json.Unmarshal(params, &tp); err != nil {
			return nil, fmt.Errorf("decoding TargetParameters of pipe %s: %w", env.PipeName, err)
		}
	}
	c, err := NewClient(ctx, Config{URL: target, HTTP: tp.HttpParameters, APIDestination: tp.ApiDestinationParameters, Secrets: env.Secrets, Egress: env.Sandbox.Egress}, opts...)
	if err != nil {
		return nil, fmt.Errorf("building HTTP target of pipe %s: %w", env.PipeName, err)
	}
	return &Target{client: c}, nil
}

// Deliver sends each payload, evaluating JSON-path parameters against b.Inputs[i], the untransformed
// event behind b.Payloads[i] (the Kafka record, or the enrichment's output item), as Pipes does. Nil
// Inputs means the payloads themselves. It stops at the first failure; the events before it were
// delivered (a retry of the batch may send them again, which at-least-once allows).
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	events, inputs := b.Payloads, b.Inputs
	if inputs != nil && len(inputs) != len(events) {
		return plugin.Permanent(fmt.Errorf("HTTP target %s: %d events but %d inputs", t.client.Name(), len(events), len(inputs)))
	}
	for i, ev := range events {
		src := ev
		if inputs != nil {
			src = inputs[i]
		}
		if _, err := t.client.Do(ctx, ev, src, false); err != nil {
			return err
		}
	}
	return nil
}

// Close releases idle connections.
func (t *Target) Close(context.Context) error {
	t.client.Close()
	return nil
}
