//go:build seam

package firehose

import (
	"context"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

func init() {
	plugin.Default.AddTarget(plugin.TargetSpec{
		Kinds:           []string{"firehose"},
		Validate:        Validate,
		MaxBatch:        MaxBatch,
		MaxPayloadBytes: MaxPayloadBytes,
		New:             New,
	})
}

var _ plugin.Target = (*Target)(nil)

// New builds the target with the pipe's AWS configuration for the delivery stream's region.
func New(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
	cfg, err := awsclient.ConfigFor(ctx, env, c.Endpoint)
	if err != nil {
		return nil, err
	}
	return NewWithConfig(cfg, c)
}
