package ecs

import (
	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

func init() { plugin.Default.AddTarget(awsclient.PerEventSpec("ecs", Member, Validate, NewWithConfig)) }

var _ plugin.Target = (*Target)(nil)
