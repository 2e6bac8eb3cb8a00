package batch

import (
	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

func init() {
	plugin.Default.AddTarget(plugin.TargetSpec{
		Kinds:            []string{"batch"},
		Members:          []string{Member},
		Validate:         Validate,
		MaxBatch:         MaxBatch,
		DefaultBatchSize: 1,
		New:              awsclient.NewTarget(NewWithConfig),
	})
}

var _ plugin.Target = (*Target)(nil)
