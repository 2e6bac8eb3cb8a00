package apidest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/awsclient"
	httpenrich "github.com/sluicehq/sluice/internal/enrich/http"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	httptarget "github.com/sluicehq/sluice/internal/target/http"
)

// Kind is the registry key: an events ARN whose resource is an api-destination.
const Kind = "events:api-destination"

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

// validate checks the ARN and the source BatchSize of the Target or Enrichment named by field.
// internal/pipe checks the HttpParameters' values; their number of path wildcards is the destination's,
// known only once it is described.
func validate(field string) func(c plugin.Check) []plugin.FieldError {
	return func(c plugin.Check) []plugin.FieldError {
		var fe []plugin.FieldError
		if _, err := parseDestinationARN(c.Endpoint); err != nil {
			fe = append(fe, plugin.Errorf(field, "API destination ARN: %v", err))
		}
		if c.BatchSize > 1 {
			fe = append(fe, plugin.Errorf("SourceParameters.SelfManagedKafkaParameters.BatchSize",
				"must be 1 with an API destination %s, which takes one event per request", strings.ToLower(field)))
		}
		return fe
	}
}

// httpConfig resolves the API destination into the HTTP client's configuration.
func httpConfig(ctx context.Context, env plugin.Env, c plugin.Check) (httptarget.Config, error) {
	a, err := parseDestinationARN(c.Endpoint)
	if err != nil {
		return httptarget.Config{}, plugin.Permanent(fmt.Errorf("API destination ARN %s: %w", c.Endpoint, err))
	}
	if env.AWS == nil {
		return httptarget.Config{}, plugin.Permanent(errors.New("API destination " + a.arn + " needs AWS support, which this Sluice has not configured"))
	}
	hp, err := httptarget.HTTPParameters(c)
	if err != nil {
		return httptarget.Config{}, plugin.Permanent(err)
	}
	d, err := resolve(ctx, env.AWS, a)
	if err != nil {
		return httptarget.Config{}, awsclient.Classify(err)
	}
	ad := &pipe.ApiDestinationParameters{HttpMethod: d.method, Connection: d.conn}
	if d.rate > 0 {
		ad.InvocationRateLimitPerSecond = &d.rate
	}
	return httptarget.Config{URL: d.endpoint, HTTP: hp, APIDestination: ad, Invocation: d.invocation, Secrets: d.secrets, Egress: env.Sandbox.Egress}, nil
}
