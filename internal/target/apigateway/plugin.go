package apigateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	httpenrich "github.com/sluicehq/sluice/internal/enrich/http"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	httptarget "github.com/sluicehq/sluice/internal/target/http"
)

// Kind is the registry key, the ARN service of API Gateway's invoke endpoint.
const Kind = "execute-api"

func init() {
	plugin.Default.AddTarget(plugin.TargetSpec{
		Kinds:            []string{Kind},
		Members:          []string{"HttpParameters"},
		Validate:         validate("Target"),
		MaxBatch:         1,
		DefaultBatchSize: 1,
		New:              httptarget.NewTargetFrom(httpConfig),
	})
	plugin.Default.AddEnricher(plugin.EnricherSpec{
		Kinds:            []string{Kind},
		Members:          []string{"HttpParameters"},
		Validate:         validate("Enrichment"),
		MaxBatch:         1,
		DefaultBatchSize: 1,
		New:              httpenrich.NewFrom(httpConfig),
	})
}

// validate checks the ARN, that HttpParameters has as many PathParameterValues as the path has "*"
// (internal/pipe checks their values), and the source BatchSize of the Target or Enrichment named by
// field.
func validate(field string) func(c plugin.Check) []plugin.FieldError {
	return func(c plugin.Check) []plugin.FieldError {
		var fe []plugin.FieldError
		a, err := parseMethodARN(c.Endpoint)
		if err != nil {
			fe = append(fe, plugin.Errorf(field, "API Gateway ARN: %v", err))
		} else if hp, err := httptarget.HTTPParameters(c); err == nil {
			n := 0
			if hp != nil {
				n = len(hp.PathParameterValues)
			}
			if w := a.wildcards(); n != w {
				fe = append(fe, plugin.Errorf(field+"Parameters.HttpParameters.PathParameterValues",
					"has %d values but the path of %s has %d \"*\" wildcards", n, c.Endpoint, w))
			}
		}
		if c.BatchSize > 1 {
			fe = append(fe, plugin.Errorf("SourceParameters.SelfManagedKafkaParameters.BatchSize",
				"must be 1 with an API Gateway %s, which takes one event per request", strings.ToLower(field)))
		}
		return fe
	}
}

// httpConfig turns the method ARN into the HTTP client's configuration: the invoke URL with the path
// template, the ARN's method, no rate limit, and SigV4 signing with the pipe's credentials.
func httpConfig(ctx context.Context, env plugin.Env, c plugin.Check) (httptarget.Config, error) {
	a, err := parseMethodARN(c.Endpoint)
	if err != nil {
		return httptarget.Config{}, plugin.Permanent(fmt.Errorf("API Gateway ARN %s: %w", c.Endpoint, err))
	}
	if env.AWS == nil {
		return httptarget.Config{}, plugin.Permanent(errors.New("API Gateway target " + c.Endpoint + " needs AWS support, which this Sluice has not configured"))
	}
	hp, err := httptarget.HTTPParameters(c)
	if err != nil {
		return httptarget.Config{}, plugin.Permanent(err)
	}
	cfg, err := env.AWS(ctx, a.region)
	if err != nil {
		return httptarget.Config{}, fmt.Errorf("AWS configuration for %s: %w", c.Endpoint, err)
	}
	base, err := invokeURL(ctx, cfg, a)
	if err != nil {
		return httptarget.Config{}, plugin.Permanent(err)
	}
	unlimited := 0
	return httptarget.Config{
		URL:            base + "/" + a.path,
		HTTP:           hp,
		APIDestination: &pipe.ApiDestinationParameters{HttpMethod: a.httpMethod(), InvocationRateLimitPerSecond: &unlimited},
		Sign:           newSigner(cfg.Credentials, a.region).sign,
		Egress:         env.Sandbox.Egress,
	}, nil
}
