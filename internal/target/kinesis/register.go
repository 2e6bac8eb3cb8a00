//go:build seam

package kinesis

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

func init() {
	plugin.Default.AddTarget(plugin.TargetSpec{
		Kinds:           []string{"kinesis"},
		Members:         []string{Member},
		Validate:        Validate,
		MaxBatch:        MaxBatch,
		MaxPayloadBytes: MaxPayloadBytes,
		New:             New,
	})
}

var _ plugin.Target = (*Target)(nil)

// New builds the target with the pipe's AWS configuration for the stream's region.
func New(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
	if env.AWS == nil {
		return nil, errors.New("kinesis target: this host has no AWS support configured")
	}
	a, _, _ := awsclient.TargetARN(c.Endpoint, "kinesis", "stream/")
	cfg, err := env.AWS(ctx, a.Region)
	if err != nil {
		return nil, fmt.Errorf("kinesis target %s: %w", c.Endpoint, err)
	}
	return NewWithConfig(cfg, c)
}
