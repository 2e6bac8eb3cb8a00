package awsclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/sluicehq/sluice/internal/plugin"
)

// ConfigFor returns the pipe's AWS configuration for the region of a target's ARN (the default region
// when the ARN names none).
func ConfigFor(ctx context.Context, env plugin.Env, endpoint string) (aws.Config, error) {
	if env.AWS == nil {
		return aws.Config{}, fmt.Errorf("target %s: %w", endpoint, errors.New("this host has no AWS support configured"))
	}
	a, err := ParseARN(endpoint)
	if err != nil {
		return aws.Config{}, fmt.Errorf("target %s: %w", endpoint, err)
	}
	cfg, err := env.AWS(ctx, a.Region)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration for target %s: %w", endpoint, err)
	}
	return cfg, nil
}

// NewTarget turns a constructor taking an AWS configuration into a TargetSpec.New: the configuration is
// the pipe's, for the region of the Target ARN.
func NewTarget[T plugin.Target](build func(aws.Config, plugin.Check) (T, error)) func(context.Context, plugin.Env, plugin.Check) (plugin.Target, error) {
	return func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
		cfg, err := ConfigFor(ctx, env, c.Endpoint)
		if err != nil {
			return nil, err
		}
		return build(cfg, c)
	}
}
