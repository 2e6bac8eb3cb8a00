package apidest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	httptarget "github.com/sluicehq/sluice/internal/target/http"
)

const testRegion = "us-east-1"

// motoConfig is the AWS configuration of the emulator.
func motoConfig(t testing.TB) plugin.AWSConfig {
	cfg := awstest.Config(t, testRegion)
	return func(_ context.Context, region string) (aws.Config, error) {
		c := cfg.Copy()
		if region != "" {
			c.Region = region
		}
		return c, nil
	}
}

// createDestination creates a connection and an API destination in the emulator, returning the
// destination's ARN.
func createDestination(t testing.TB, cfgFor plugin.AWSConfig, conn *eventbridge.CreateConnectionInput, endpoint, method string, rate int32) string {
	t.Helper()
	ctx := context.Background()
	cfg, _ := cfgFor(ctx, testRegion)
	eb := eventbridge.NewFromConfig(cfg)
	name := kafkatest.TopicName(t)
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	conn.Name = aws.String("c" + name)
	co, err := eb.CreateConnection(ctx, conn)
	if err != nil {
		t.Fatalf("CreateConnection: %v", err)
	}
	do, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{
		Name: aws.String("d" + name), ConnectionArn: co.ConnectionArn, InvocationEndpoint: aws.String(endpoint),
		HttpMethod: ebtypes.ApiDestinationHttpMethod(method), InvocationRateLimitPerSecond: aws.Int32(rate),
	})
	if err != nil {
		t.Fatalf("CreateApiDestination: %v", err)
	}
	t.Cleanup(func() {
		eb.DeleteApiDestination(context.Background(), &eventbridge.DeleteApiDestinationInput{Name: aws.String("d" + name)})
		eb.DeleteConnection(context.Background(), &eventbridge.DeleteConnectionInput{Name: conn.Name})
	})
	return aws.ToString(do.ApiDestinationArn)
}

// TestResolve: each authorization type of a connection created in the emulator resolves into the HTTP
// target's connection model, with the credentials served from the connection's secret, and the
// connection's invocation parameters (secret values included) kept.
func TestResolve(t *testing.T) {
	cfgFor := motoConfig(t)
	invocation := &ebtypes.ConnectionHttpParameters{
		HeaderParameters: []ebtypes.ConnectionHeaderParameter{
			{Key: aws.String("X-Tenant"), Value: aws.String("acme")},
			{Key: aws.String("X-Signature"), Value: aws.String("sig-secret"), IsValueSecret: true},
		},
		QueryStringParameters: []ebtypes.ConnectionQueryStringParameter{{Key: aws.String("region"), Value: aws.String("eu")}},
	}
	wantInvocation := &httptarget.ConnectionHttpParameters{
		HeaderParameters:      []httptarget.ConnectionParameter{{Key: "X-Tenant", Value: "acme"}, {Key: "X-Signature", Value: "sig-secret"}},
		QueryStringParameters: []httptarget.ConnectionParameter{{Key: "region", Value: "eu"}},
	}
	tests := []struct {
		name      string
		auth      ebtypes.ConnectionAuthorizationType
		params    *ebtypes.CreateConnectionAuthRequestParameters
		wantConn  func(secretArn string) *httptarget.Connection
		wantCreds map[string]string
	}{
		{
			name: "basic",
			auth: ebtypes.ConnectionAuthorizationTypeBasic,
			params: &ebtypes.CreateConnectionAuthRequestParameters{
				BasicAuthParameters:      &ebtypes.CreateConnectionBasicAuthRequestParameters{Username: aws.String("pipes"), Password: aws.String("s3cret")},
				InvocationHttpParameters: invocation,
			},
			wantConn: func(s string) *httptarget.Connection {
				return &httptarget.Connection{AuthorizationType: "BASIC", AuthParameters: &httptarget.ConnectionAuthParameters{BasicAuthParameters: &httptarget.BasicAuthParameters{SecretArn: s}}}
			},
			wantCreds: map[string]string{"username": "pipes", "password": "s3cret"},
		},
		{
			name: "api key",
			auth: ebtypes.ConnectionAuthorizationTypeApiKey,
			params: &ebtypes.CreateConnectionAuthRequestParameters{
				ApiKeyAuthParameters:     &ebtypes.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("X-Api-Key"), ApiKeyValue: aws.String("k-123")},
				InvocationHttpParameters: invocation,
			},
			wantConn: func(s string) *httptarget.Connection {
				return &httptarget.Connection{AuthorizationType: "API_KEY", AuthParameters: &httptarget.ConnectionAuthParameters{ApiKeyAuthParameters: &httptarget.ApiKeyAuthParameters{ApiKeyName: "X-Api-Key", SecretArn: s}}}
			},
			wantCreds: map[string]string{"api_key_value": "k-123"},
		},
		{
			name: "oauth",
			auth: ebtypes.ConnectionAuthorizationTypeOauthClientCredentials,
			params: &ebtypes.CreateConnectionAuthRequestParameters{
				OAuthParameters: &ebtypes.CreateConnectionOAuthRequestParameters{
					AuthorizationEndpoint: aws.String("https://auth.example.com/token"),
					HttpMethod:            ebtypes.ConnectionOAuthHttpMethodPost,
					ClientParameters:      &ebtypes.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("cid"), ClientSecret: aws.String("csecret")},
					OAuthHttpParameters: &ebtypes.ConnectionHttpParameters{BodyParameters: []ebtypes.ConnectionBodyParameter{
						{Key: aws.String("scope"), Value: aws.String("orders")},
						{Key: aws.String("audience"), Value: aws.String("aud-secret"), IsValueSecret: true},
					}},
				},
				InvocationHttpParameters: invocation,
			},
			wantConn: func(s string) *httptarget.Connection {
				return &httptarget.Connection{AuthorizationType: "OAUTH_CLIENT_CREDENTIALS", AuthParameters: &httptarget.ConnectionAuthParameters{OAuthParameters: &httptarget.OAuthParameters{
					AuthorizationEndpoint: "https://auth.example.com/token", HttpMethod: "POST", SecretArn: s,
					OAuthHttpParameters: &httptarget.ConnectionHttpParameters{BodyParameters: []httptarget.ConnectionParameter{{Key: "scope", Value: "orders"}, {Key: "audience", Value: "aud-secret"}}},
				}}}
			},
			wantCreds: map[string]string{"client_id": "cid", "client_secret": "csecret"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			arn := createDestination(t, cfgFor, &eventbridge.CreateConnectionInput{AuthorizationType: tc.auth, AuthParameters: tc.params},
				"https://api.example.com/orders/*", "PUT", 7)
			a, err := parseDestinationARN(arn)
			if err != nil {
				t.Fatalf("parseDestinationARN(%s): %v", arn, err)
			}
			d, err := resolve(context.Background(), cfgFor, a)
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if d.endpoint != "https://api.example.com/orders/*" || d.method != "PUT" || d.rate != 7 {
				t.Errorf("destination = %s %s at %d/s, want PUT https://api.example.com/orders/* at 7/s", d.method, d.endpoint, d.rate)
			}
			if d.secrets.ref == "" {
				t.Fatal("no secret reference")
			}
			if diff := cmp.Diff(tc.wantConn(d.secrets.ref), d.conn); diff != "" {
				t.Errorf("connection (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantInvocation, d.invocation); diff != "" {
				t.Errorf("invocation parameters (-want +got):\n%s", diff)
			}
			b, err := d.secrets.Resolve(context.Background(), d.secrets.ref)
			if err != nil {
				t.Fatalf("Resolve(%s): %v", d.secrets.ref, err)
			}
			var creds map[string]string
			if err := json.Unmarshal(b, &creds); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.wantCreds {
				if creds[k] != v {
					t.Errorf("credential %s = %q, want %q", k, creds[k], v)
				}
			}
			if _, err := d.secrets.Resolve(context.Background(), "env:OTHER"); err == nil {
				t.Error("the connection's resolver served another reference")
			}
		})
	}
}

// TestResolveMissing: an API destination that does not exist names the ARN and keeps the SDK's error.
func TestResolveMissing(t *testing.T) {
	cfgFor := motoConfig(t)
	arn := fmt.Sprintf("arn:aws:events:%s:123456789012:api-destination/missing-%s/0000", testRegion, "x")
	a, err := parseDestinationARN(arn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = resolve(context.Background(), cfgFor, a)
	if err == nil {
		t.Fatal("resolve of a missing destination succeeded")
	}
	t.Logf("error: %v", err)
}
