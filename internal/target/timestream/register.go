package timestream

import (
	"context"
	"errors"

	"github.com/sluicehq/sluice/internal/plugin"
)

func init() {
	plugin.Default.AddTarget(plugin.TargetSpec{
		Kinds:    []string{"timestream"},
		Members:  []string{Member},
		Validate: Validate,
		New:      New,
	})
}

// New is never reached through Validate; it refuses for a caller that skipped validation.
func New(context.Context, plugin.Env, plugin.Check) (plugin.Target, error) {
	return nil, plugin.Permanent(errors.New("timestream target: " + Message))
}
