package redshift

import (
	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

func init() {
	plugin.Default.AddTarget(awsclient.PerEventSpec("redshift", Member, Validate, NewWithConfig))
}

var _ plugin.Target = (*Target)(nil)
