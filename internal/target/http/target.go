package httptarget

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
)

func init() {
	plugin.Default.RegisterTarget("http", Factory)
	plugin.Default.RegisterTarget("https", Factory)
}

// Target delivers each event with one HTTP request.
type Target struct {
	client *Client
}

var (
	_ plugin.Target       = (*Target)(nil)
	_ plugin.BatchLimiter = (*Target)(nil)
	_ plugin.Closer       = (*Target)(nil)
	_ plugin.InputsTarget = (*Target)(nil)
)

// Factory is the plugin.TargetFactory for "http" and "https": params is the pipe's TargetParameters
// JSON (pipe.TargetParameters).
func Factory(ctx context.Context, env plugin.Env, target string, params json.RawMessage) (plugin.Target, error) {
	t, err := New(ctx, env, target, params)
	if err != nil {
		return nil, err // not t: a nil *Target in a plugin.Target is a non-nil interface
	}
	return t, nil
}

// New builds the target for the pipe's Target URL and TargetParameters JSON.
func New(ctx context.Context, env plugin.Env, target string, params json.RawMessage, opts ...Option) (*Target, error) {
	var tp pipe.TargetParameters
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

// MaxBatch is 1: an HTTP endpoint takes one event per request, as API destinations do.
func (t *Target) MaxBatch() int { return 1 }

// Deliver sends each event; JSON-path parameters read the event itself.
func (t *Target) Deliver(ctx context.Context, events []json.RawMessage) error {
	return t.DeliverInputs(ctx, events, nil)
}

// DeliverInputs sends each event, evaluating JSON-path parameters against inputs[i], the
// untransformed event behind events[i] (the Kafka record, or the enrichment's output item), as Pipes
// does. A nil inputs means the events themselves. It stops at the first failure; the events before
// it were delivered (a retry of the batch may send them again, which at-least-once allows).
func (t *Target) DeliverInputs(ctx context.Context, events, inputs []json.RawMessage) error {
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
