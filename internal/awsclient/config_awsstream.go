package awsclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

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

// PerEventSpec is the registry entry of a target Pipes invokes once per event (ECS, Batch, Redshift
// Data, SageMaker pipelines): one ARN service, one TargetParameters member, MaxBatch 1 and a default
// source BatchSize of 1 (Validate refuses more: OneEventPerCall).
func PerEventSpec[T plugin.Target](kind, member string, validate func(plugin.Check) []plugin.FieldError, build func(aws.Config, plugin.Check) (T, error)) plugin.TargetSpec {
	return plugin.TargetSpec{
		Kinds: []string{kind}, Members: []string{member}, Validate: validate,
		MaxBatch: 1, DefaultBatchSize: 1, New: NewTarget(build),
	}
}

// Invalid is what a constructor returns for parameters its Validate refuses (a caller that skipped
// validation): every problem, marked permanent. It is nil when errs is empty.
func Invalid(target string, errs []plugin.FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Field + ": " + e.Message
	}
	return plugin.Permanent(fmt.Errorf("%s target: invalid parameters: %s", target, strings.Join(msgs, "; ")))
}
