// Package awsclient is what every AWS target and enrichment shares: the aws.Config a pipe's calls are
// made with (credentials, region, endpoint, an HTTP client under the pipe's egress policy), the
// classification of SDK errors into the runtime's error kinds, ARN parsing, and Pipes' dynamic
// parameters (a static value or a JSON path read from the untransformed event).
//
// # Credentials
//
// A Provider loads the SDK's default configuration once, lazily, on the first call that needs it:
// environment variables, the shared config and credentials files, SSO, web identity, ECS task and EC2
// instance credentials, in the SDK's order. Loading it lazily keeps a server whose pipes use no AWS
// service from reading those files or reaching the instance metadata service.
//
// A pipe with a RoleArn makes its calls with that role's credentials, assumed through STS with the
// host's credentials, as Pipes does with its execution role. The session name is the pipe name
// (sanitised to STS's characters and length), so the role's calls are attributed to the pipe in
// CloudTrail or in the emulator. Assumed credentials are cached per role and session name
// (aws.CredentialsCache) and refreshed shortly before they expire. With Options.AssumeRole false
// (--assume-pipe-role=false) the host's credentials are used directly and RoleArn is ignored; so are
// they for a pipe without a RoleArn.
//
// # Endpoints
//
// Options.Endpoint (--aws-endpoint) is the base endpoint of every service (aws.Config.BaseEndpoint),
// the STS calls that assume roles included. Without it the SDK resolves endpoints itself, honouring
// AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_<SERVICE> variables (and endpoint_url in the
// shared config file). A per-service variable wins over Options.Endpoint, so one service can be sent
// elsewhere (AWS_ENDPOINT_URL_STS=...) while the rest go to --aws-endpoint.
//
// # Egress
//
// A pipe's AWS calls go through an HTTP client whose dialer applies the pipe's sandbox egress policy
// (plugin.Env.Sandbox.Egress), as HTTP targets do: under `sluice serve` an AWS call cannot reach the
// instance metadata service or the server's own listener. The endpoints the operator named
// (Options.Endpoint and the AWS_ENDPOINT_URL* variables, read when the configuration is loaded) are
// dialled without that check: the operator chose them, and an emulator may well listen where the
// policy refuses (a link-local address, or a port the server itself also listens on). The host's own
// credential lookups (the instance metadata service, ECS task credentials) and the STS calls that
// assume roles use the host's client, outside any pipe's policy. The environment's HTTPS_PROXY is
// honoured: AWS hosts are derived from the service and a validated region, never from a URL a pipe
// definition chose.
//
// # Retries
//
// The SDK's own retries are off in a pipe's configuration (aws.NopRetryer): the runtime retries with
// backoff, and it must see a throttling error at once to lower its concurrency, not after the SDK has
// retried it three times. The STS calls that assume roles keep the SDK's retries: they are the host's,
// made once per credential refresh, and their final error reaches the runtime through the pipe's call
// (AccessDenied permanent, throttling as overload).
package awsclient
