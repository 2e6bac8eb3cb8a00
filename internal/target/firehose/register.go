package firehose

import (
	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

func init() {
	plugin.Default.AddTarget(plugin.TargetSpec{
		Kinds:           []string{"firehose"},
		Validate:        Validate,
		MaxBatch:        MaxBatch,
		MaxPayloadBytes: MaxPayloadBytes,
		New:             awsclient.NewTarget(NewWithConfig),
	})
}

var _ plugin.Target = (*Target)(nil)
