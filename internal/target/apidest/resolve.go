package apidest

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/sluicehq/sluice/internal/plugin"
	httptarget "github.com/sluicehq/sluice/internal/target/http"
)

// destination is an API destination with its connection, resolved into the HTTP target's connection
// model: the secret's credentials are served to it by secrets under the connection's SecretArn.
type destination struct {
	arn      string
	endpoint string // InvocationEndpoint
	method   string
	rate     int
	conn     *httptarget.Connection
	// invocation is the connection's InvocationHttpParameters, secret values filled in; they win over
	// the pipe's HttpParameters.
	invocation *httptarget.ConnectionHttpParameters
	secrets    fixedSecret
}

// resolve describes the API destination a (parsed ARN) and its connection, and reads the connection's
// secret. Errors name the resource and keep the SDK error (for classification), never a secret value.
func resolve(ctx context.Context, cfgFor plugin.AWSConfig, a destinationARN) (*destination, error) {
	cfg, err := cfgFor(ctx, a.region)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration for API destination %s: %w", a.arn, err)
	}
	events := eventbridge.NewFromConfig(cfg)
	out, err := events.DescribeApiDestination(ctx, &eventbridge.DescribeApiDestinationInput{Name: aws.String(a.name)})
	if err != nil {
		return nil, fmt.Errorf("describing API destination %s: %w", a.arn, err)
	}
	// An inactive destination or a deauthorized connection may be fixed while the pipe waits: retryable.
	if out.ApiDestinationState == ebtypes.ApiDestinationStateInactive {
		return nil, fmt.Errorf("API destination %s is INACTIVE", a.arn)
	}
	d := &destination{
		arn:      a.arn,
		endpoint: aws.ToString(out.InvocationEndpoint),
		method:   string(out.HttpMethod),
		rate:     int(aws.ToInt32(out.InvocationRateLimitPerSecond)),
	}
	if d.endpoint == "" {
		return nil, plugin.Permanent(fmt.Errorf("API destination %s has no InvocationEndpoint", a.arn))
	}
	connArn := aws.ToString(out.ConnectionArn)
	c, err := parseConnectionARN(connArn)
	if err != nil {
		return nil, plugin.Permanent(fmt.Errorf("API destination %s: ConnectionArn %q: %w", a.arn, connArn, err))
	}
	if c.region != a.region {
		if cfg, err = cfgFor(ctx, c.region); err != nil {
			return nil, fmt.Errorf("AWS configuration for connection %s: %w", connArn, err)
		}
		events = eventbridge.NewFromConfig(cfg)
	}
	conn, err := events.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String(c.name)})
	if err != nil {
		return nil, fmt.Errorf("describing connection %s of API destination %s: %w", connArn, a.arn, err)
	}
	switch conn.ConnectionState {
	case ebtypes.ConnectionStateDeauthorized, ebtypes.ConnectionStateDeauthorizing, ebtypes.ConnectionStateDeleting, ebtypes.ConnectionStateFailedConnectivity:
		return nil, fmt.Errorf("connection %s is %s", connArn, conn.ConnectionState)
	}
	secretArn := aws.ToString(conn.SecretArn)
	if secretArn == "" {
		return nil, plugin.Permanent(fmt.Errorf("connection %s has no SecretArn", connArn))
	}
	secret, err := readSecret(ctx, cfgFor, cfg, secretArn)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", connArn, err)
	}
	d.secrets = fixedSecret{ref: secretArn, value: secret.credentials()}
	d.conn, err = connectionModel(conn, secretArn, secret)
	if err != nil {
		return nil, plugin.Permanent(fmt.Errorf("connection %s: %w", connArn, err))
	}
	if ap := conn.AuthParameters; ap != nil {
		d.invocation, err = httpParams(ap.InvocationHttpParameters, secret.Invocation)
		if err != nil {
			return nil, plugin.Permanent(fmt.Errorf("connection %s: InvocationHttpParameters: %w", connArn, err))
		}
	}
	return d, nil
}

// readSecret reads the connection's secret with the pipe's credentials (in the secret's own region when
// its ARN names another).
func readSecret(ctx context.Context, cfgFor plugin.AWSConfig, cfg aws.Config, secretArn string) (*connectionSecret, error) {
	if parts := strings.SplitN(secretArn, ":", 6); len(parts) == 6 && parts[3] != "" && parts[3] != cfg.Region {
		var err error
		if cfg, err = cfgFor(ctx, parts[3]); err != nil {
			return nil, fmt.Errorf("AWS configuration for secret %s: %w", secretArn, err)
		}
	}
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretArn)})
	if err != nil {
		return nil, fmt.Errorf("reading secret %s: %w", secretArn, err)
	}
	if out.SecretString == nil {
		return nil, plugin.Permanent(fmt.Errorf("secret %s has no SecretString", secretArn))
	}
	return decodeSecret(secretArn, []byte(*out.SecretString))
}

// connectionModel turns a described connection into the HTTP target's Connection, whose secret
// reference is the connection's secret.
func connectionModel(c *eventbridge.DescribeConnectionOutput, secretArn string, s *connectionSecret) (*httptarget.Connection, error) {
	ap := c.AuthParameters
	if ap == nil {
		ap = &ebtypes.ConnectionAuthResponseParameters{}
	}
	out := &httptarget.Connection{AuthorizationType: string(c.AuthorizationType), AuthParameters: &httptarget.ConnectionAuthParameters{}}
	switch c.AuthorizationType {
	case ebtypes.ConnectionAuthorizationTypeBasic:
		out.AuthParameters.BasicAuthParameters = &httptarget.BasicAuthParameters{SecretArn: secretArn}
	case ebtypes.ConnectionAuthorizationTypeApiKey:
		name := s.APIKeyName
		if ap.ApiKeyAuthParameters != nil && aws.ToString(ap.ApiKeyAuthParameters.ApiKeyName) != "" {
			name = aws.ToString(ap.ApiKeyAuthParameters.ApiKeyName)
		}
		if name == "" {
			return nil, fmt.Errorf("API_KEY connection has no ApiKeyName")
		}
		out.AuthParameters.ApiKeyAuthParameters = &httptarget.ApiKeyAuthParameters{ApiKeyName: name, SecretArn: secretArn}
	case ebtypes.ConnectionAuthorizationTypeOauthClientCredentials:
		o := ap.OAuthParameters
		if o == nil || aws.ToString(o.AuthorizationEndpoint) == "" {
			return nil, fmt.Errorf("OAUTH_CLIENT_CREDENTIALS connection has no AuthorizationEndpoint")
		}
		params, err := httpParams(o.OAuthHttpParameters, s.OAuth)
		if err != nil {
			return nil, fmt.Errorf("OAuthHttpParameters: %w", err)
		}
		out.AuthParameters.OAuthParameters = &httptarget.OAuthParameters{
			AuthorizationEndpoint: aws.ToString(o.AuthorizationEndpoint),
			HttpMethod:            string(o.HttpMethod),
			SecretArn:             secretArn,
			OAuthHttpParameters:   params,
		}
	default:
		return nil, fmt.Errorf("unsupported AuthorizationType %q", c.AuthorizationType)
	}
	return out, nil
}

// httpParams converts a connection's HTTP parameters, taking each value marked IsValueSecret from the
// secret (DescribeConnection does not return them).
func httpParams(p *ebtypes.ConnectionHttpParameters, secret *secretHTTPParams) (*httptarget.ConnectionHttpParameters, error) {
	if p == nil {
		return nil, nil
	}
	out := &httptarget.ConnectionHttpParameters{}
	one := func(kind string, key, value *string, isSecret bool) (httptarget.ConnectionParameter, error) {
		k := aws.ToString(key)
		v := aws.ToString(value)
		if isSecret || value == nil {
			if sv, ok := secret.value(kind, k); ok {
				v = sv
			} else if value == nil {
				return httptarget.ConnectionParameter{}, fmt.Errorf("%s parameter %s: the secret holds no value", kind, k)
			}
		}
		return httptarget.ConnectionParameter{Key: k, Value: v}, nil
	}
	for _, h := range p.HeaderParameters {
		kv, err := one("header", h.Key, h.Value, h.IsValueSecret)
		if err != nil {
			return nil, err
		}
		out.HeaderParameters = append(out.HeaderParameters, kv)
	}
	for _, q := range p.QueryStringParameters {
		kv, err := one("query", q.Key, q.Value, q.IsValueSecret)
		if err != nil {
			return nil, err
		}
		out.QueryStringParameters = append(out.QueryStringParameters, kv)
	}
	for _, b := range p.BodyParameters {
		kv, err := one("body", b.Key, b.Value, b.IsValueSecret)
		if err != nil {
			return nil, err
		}
		out.BodyParameters = append(out.BodyParameters, kv)
	}
	return out, nil
}
