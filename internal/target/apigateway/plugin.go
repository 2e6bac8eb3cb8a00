package apigateway

import (
	"context"
	"fmt"

	httpenrich "github.com/sluicehq/sluice/internal/enrich/http"
	"github.com/sluicehq/sluice/internal/plugin"
	httptarget "github.com/sluicehq/sluice/internal/target/http"
)

// Kind is the registry key, the ARN service of API Gateway's invoke endpoint.
const Kind = "execute-api"

func init() {
	httpenrich.AddARNKind(plugin.Default, httpenrich.ARNKind{Kind: Kind, Name: "API Gateway", Validate: validate, Resolve: httpConfig})
}

// validate checks the ARN and that HttpParameters has as many PathParameterValues as the path has "*".
func validate(field string, c plugin.Check, hp *httptarget.HttpParameters) []plugin.FieldError {
	a, err := parseMethodARN(c.Endpoint)
	if err != nil {
		return []plugin.FieldError{plugin.Errorf(field, "API Gateway ARN: %v", err)}
	}
	n := 0
	if hp != nil {
		n = len(hp.PathParameterValues)
	}
	if w := a.wildcards(); n != w {
		return []plugin.FieldError{plugin.Errorf(field+"Parameters.HttpParameters.PathParameterValues",
			"has %d values but the path of %s has %d \"*\" wildcards", n, c.Endpoint, w)}
	}
	return nil
}

// httpConfig turns the method ARN into the HTTP client's configuration: the invoke URL with the path
// template, the ARN's method, no rate limit, and SigV4 signing with the pipe's credentials.
func httpConfig(ctx context.Context, env plugin.Env, c plugin.Check, _ *httptarget.HttpParameters) (httptarget.Config, error) {
	a, err := parseMethodARN(c.Endpoint)
	if err != nil {
		return httptarget.Config{}, plugin.Permanent(fmt.Errorf("API Gateway ARN %s: %w", c.Endpoint, err))
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
		APIDestination: &httptarget.ApiDestinationParameters{HttpMethod: a.httpMethod(), InvocationRateLimitPerSecond: &unlimited},
		Sign:           newSigner(cfg.Credentials, a.region).sign,
	}, nil
}
