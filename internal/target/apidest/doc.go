// Package apidest is the EventBridge API destination target and enrichment: a Target or Enrichment of
// the form arn:aws:events:REGION:ACCOUNT:api-destination/NAME/UUID. It registers the kind
// "events:api-destination" (an events ARN whose resource is an api-destination) into plugin.Default.
//
// When the pipe starts, the destination and its connection are resolved through the EventBridge API
// with the pipe's AWS configuration (plugin.Env.AWS: its credentials, the ARN's region, the operator's
// endpoint): DescribeApiDestination gives InvocationEndpoint, HttpMethod, InvocationRateLimitPerSecond
// and ConnectionArn; DescribeConnection gives AuthorizationType, its parameters and SecretArn; the
// credentials are read from that secret in Secrets Manager (GetSecretValue), since DescribeConnection
// does not return them. The result is the HTTP target's connection model (internal/target/http), so the
// requests, BASIC / API_KEY / OAUTH_CLIENT_CREDENTIALS authorization, token refresh on 401/407, rate
// limit, 5 s timeout, egress policy and error classification are the HTTP target's, unchanged.
//
// The pipe's HttpParameters (TargetParameters.HttpParameters or EnrichmentParameters.HttpParameters)
// are merged with the connection's InvocationHttpParameters, connection values winning: a header
// (case-insensitively) or query parameter the connection names replaces the pipe's of the same name.
// Parameter values marked IsValueSecret are read from the connection's secret. BodyParameters of
// InvocationHttpParameters are not applied to the event body.
//
// Requests are paced by the destination's InvocationRateLimitPerSecond (300 when it has none), shared by
// every partition of the pipe. One event per request, as Pipes requires: MaxBatch 1 and a source
// BatchSize of 1 (Validate refuses more). A 429 counts as overload (plugin.ThrottledError), 5xx and
// network errors are retried, other statuses are permanent.
//
// The enrichment sends each event the same way and turns the response body into the events passed on
// (internal/enrich/http: an array gives one event per element, an empty body, "", {} or [] none).
//
// Resolution happens when the pipe is built (a changed destination or connection takes effect at the
// pipe's next start). Its errors fail the build, classified by awsclient.Classify: a destination,
// connection or secret that does not exist, or that the pipe's role may not read, is permanent.
//
// The connection secret is read in the shape EventBridge keeps it in ({"username", "password"},
// {"api_key_name", "api_key_value"}, {"client_id", "client_secret"}, with "invocation_http_parameters"
// and "oauth_http_parameters" lists of {"key", "value"}) and in the shape moto stores it in (the OAuth
// client nested under "client_parameters", "o_auth_http_parameters"). moto 5.2.5 implements
// CreateConnection / DescribeConnection / CreateApiDestination / DescribeApiDestination and stores the
// connection's credentials in a Secrets Manager secret whose ARN DescribeConnection returns, so the
// tests run the whole resolution against it.
package apidest
