package apidest

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/internal/awsclient"
	httpenrich "github.com/sluicehq/sluice/internal/enrich/http"
	"github.com/sluicehq/sluice/internal/plugin"
	httptarget "github.com/sluicehq/sluice/internal/target/http"
)

// Kind is the registry key: an events ARN whose resource is an api-destination.
const Kind = "events:api-destination"

func init() {
	httpenrich.AddARNKind(plugin.Default, httpenrich.ARNKind{Kind: Kind, Name: "API destination", Validate: validate, Resolve: httpConfig})
}

// validate checks the ARN. The number of path wildcards to fill is the destination's, known only once
// it is described.
func validate(field string, c plugin.Check, _ *httptarget.HttpParameters) []plugin.FieldError {
	if _, err := parseDestinationARN(c.Endpoint); err != nil {
		return []plugin.FieldError{plugin.Errorf(field, "API destination ARN: %v", err)}
	}
	return nil
}

// httpConfig resolves the API destination into the HTTP client's configuration.
func httpConfig(ctx context.Context, env plugin.Env, c plugin.Check, _ *httptarget.HttpParameters) (httptarget.Config, error) {
	a, err := parseDestinationARN(c.Endpoint)
	if err != nil {
		return httptarget.Config{}, plugin.Permanent(fmt.Errorf("API destination ARN %s: %w", c.Endpoint, err))
	}
	d, err := resolve(ctx, env.AWS, a)
	if err != nil {
		return httptarget.Config{}, awsclient.Classify(err)
	}
	ad := &httptarget.ApiDestinationParameters{HttpMethod: d.method, Connection: d.conn}
	if d.rate > 0 {
		ad.InvocationRateLimitPerSecond = &d.rate
	}
	return httptarget.Config{URL: d.endpoint, APIDestination: ad, Invocation: d.invocation, Secrets: d.secrets}, nil
}
