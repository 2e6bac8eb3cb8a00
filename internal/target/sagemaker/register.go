package sagemaker

import (
	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

func init() {
	plugin.Default.AddTarget(awsclient.PerEventSpec("sagemaker", Member, Validate, NewWithConfig))
}

var _ plugin.Target = (*Target)(nil)
