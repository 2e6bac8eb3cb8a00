package httptarget

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/internal/plugin"
)

// ConfigFunc builds a Client's configuration from a pipe, for plugins whose Target or Enrichment is not
// a URL but resolves to one (an API destination ARN, an API Gateway method ARN).
type ConfigFunc func(ctx context.Context, env plugin.Env, c plugin.Check) (Config, error)

// Client builds the Client of the configuration f returns.
func (f ConfigFunc) Client(ctx context.Context, env plugin.Env, c plugin.Check) (*Client, error) {
	cfg, err := f(ctx, env, c)
	if err != nil {
		return nil, err
	}
	return NewClient(ctx, cfg)
}

// NewTargetFrom returns a TargetSpec.New that delivers as this target does, to the endpoint f resolves.
func NewTargetFrom(f ConfigFunc) func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
	return func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
		cl, err := f.Client(ctx, env, c)
		if err != nil {
			return nil, fmt.Errorf("building target %s of pipe %s: %w", c.Endpoint, env.PipeName, err)
		}
		return &Target{client: cl}, nil
	}
}

// HTTPParameters decodes the HttpParameters member of the pipe's TargetParameters or
// EnrichmentParameters (nil when absent).
func HTTPParameters(c plugin.Check) (*HttpParameters, error) {
	raw, err := c.Member("HttpParameters")
	if err != nil || raw == nil {
		return nil, err
	}
	var hp HttpParameters
	if err := json.Unmarshal(raw, &hp); err != nil {
		return nil, fmt.Errorf("decoding HttpParameters: %w", err)
	}
	return &hp, nil
}
