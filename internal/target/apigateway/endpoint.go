package apigateway

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// serviceID is the name the SDK's endpoint configuration knows execute-api by: the environment variable
// AWS_ENDPOINT_URL_EXECUTE_API, or endpoint_url in an execute_api block of a services section of the
// shared config file.
const serviceID = "Execute API"

// endpointSource is what the SDK's configuration sources (config.EnvConfig, config.SharedConfig)
// implement to name a service's endpoint.
type endpointSource interface {
	GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
}

// invokeURL returns the URL of the method's stage, without the resource path:
// https://API_ID.execute-api.REGION.amazonaws.com/STAGE. An operator's execute-api endpoint override
// (AWS_ENDPOINT_URL_EXECUTE_API) replaces the scheme, host and base path; "{apiId}" in it stands for the
// API ID (LocalStack serves http://{apiId}.execute-api.localhost.localstack.cloud:4566). The general
// endpoint (--aws-endpoint, AWS_ENDPOINT_URL) does not apply: emulators serve a deployed API under a
// URL of their own, not at the endpoint of their management API.
func invokeURL(ctx context.Context, cfg aws.Config, a methodARN) (string, error) {
	for _, src := range cfg.ConfigSources {
		s, ok := src.(endpointSource)
		if !ok {
			continue
		}
		v, found, err := s.GetServiceBaseEndpoint(ctx, serviceID)
		if err != nil {
			return "", fmt.Errorf("reading the execute-api endpoint override: %w", err)
		}
		if found && v != "" {
			return overrideURL(v, a)
		}
	}
	suffix := "amazonaws.com"
	if a.partition == "aws-cn" {
		suffix = "amazonaws.com.cn"
	}
	return "https://" + a.api + ".execute-api." + a.region + "." + suffix + "/" + a.stage, nil
}

func overrideURL(v string, a methodARN) (string, error) {
	u, err := url.Parse(strings.ReplaceAll(v, "{apiId}", a.api))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("execute-api endpoint override %q is not an http(s) URL", v)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("execute-api endpoint override %q must not have a query, fragment or user", v)
	}
	return strings.TrimSuffix(u.String(), "/") + "/" + a.stage, nil
}
