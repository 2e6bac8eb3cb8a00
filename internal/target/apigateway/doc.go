// Package apigateway is the API Gateway target and enrichment: a Target or Enrichment of the form
// arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH becomes a SigV4-signed HTTPS request
// (service execute-api, the ARN's region, the pipe's credentials from plugin.Env.AWS) to
// https://API_ID.execute-api.REGION.amazonaws.com/STAGE/PATH. It registers the kind "execute-api" into
// plugin.Default.
//
// METHOD is the request's method; "*" (a method ARN for any method) sends POST. "*" segments of PATH are
// filled, in order, from HttpParameters.PathParameterValues (static or JSON paths read from the
// untransformed event), URL-escaped; HeaderParameters and QueryStringParameters are added as for the
// HTTP target. The request is otherwise the HTTP target's (internal/target/http): the event as the body,
// its default headers, 5 s timeout, egress policy and outcome classification (429 overload, 5xx
// retried, other statuses permanent, a 403 for a bad signature included). Requests are not rate limited
// by Sluice: API Gateway throttles with 429, which lowers the pipe's concurrency.
//
// Endpoint: the SDK's endpoint setting for the service "Execute API" overrides the host, so that a local
// server or an emulator can stand in: the environment variable AWS_ENDPOINT_URL_EXECUTE_API (or
// endpoint_url under execute_api in a services section of the shared config file) is the base URL the
// stage path is appended to; "{apiId}" in it is replaced by the API ID, for LocalStack's
// http://{apiId}.execute-api.localhost.localstack.cloud:4566. The general endpoint (--aws-endpoint,
// AWS_ENDPOINT_URL) does not apply: an emulator serves deployed APIs at URLs of its own, not at its
// management endpoint. The request is signed for the host it is sent to, as the SDK does with endpoint
// overrides.
//
// One event per request, as Pipes requires: MaxBatch 1 and a source BatchSize of 1 (Validate refuses
// more). The enrichment turns the response body into the events passed on, as the HTTP enrichment does.
package apigateway
