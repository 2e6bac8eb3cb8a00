// Package pipe holds a pipe's definition in the shape of the EventBridge Pipes CreatePipe request,
// plus Sluice's extensions, and the one path every entry point (sluice run, sluice serve, sluice dev)
// uses to accept it: Load = Decode (strict JSON or YAML) -> SetDefaults -> Validate, with the plugin
// registry it is given, and Merge for UpdatePipe. It performs no I/O.
//
// It knows no target or enrichment kind. A Target, Enrichment or DeadLetterConfig.Arn string must be an
// ARN or a URI (scheme://...) whose kind (plugin.Kind) a plugin registered; that plugin's Validate checks
// the string itself and the parameter members it owns (plugin.TargetSpec), which this package keeps as
// raw JSON. The plugins Sluice is built with are file://, http(s):// and kafka:// targets and the
// http(s):// enrichment (cmd/sluice/plugins.go; docs/adding-a-target.md).
//
// Sluice extensions (members AWS does not have), documented on their types:
//   - SelfManagedKafkaParameters.MaximumRetryAttempts, MaximumRecordAgeInSeconds, DeadLetterConfig
//     (the shapes Pipes uses for Kinesis/DynamoDB sources);
//   - TargetParameters.ApiDestinationParameters and EnrichmentParameters.ApiDestinationParameters
//     (HttpMethod, InvocationRateLimitPerSecond, Connection with BASIC / API_KEY /
//     OAUTH_CLIENT_CREDENTIALS authorization whose credentials are secret references);
//   - TargetParameters.KafkaParameters (Key from a JSON path, AdditionalBootstrapServers,
//     Credentials and ServerRootCaCertificate as for the source, ExactlyOnce and
//     IdempotentEnrichment, checked by kafkatxn.Check from the kafka target's Validate).
//
// Decisions where the Pipes documentation is silent or where Sluice differs:
//   - Model patterns are applied anchored (as terraform does).
//   - StartingPosition defaults to LATEST; MaximumBatchingWindowInSeconds to 0; BatchSize to 100, or
//     to the target or enrichment plugin's DefaultBatchSize (1 for HTTP, which takes one event per
//     request; its Validate refuses a larger BatchSize, as Pipes requires for API destinations).
//   - ConsumerGroupID defaults to "sluice-<pipe name>", deterministic so that re-running a definition
//     resumes from its committed offsets.
//   - Topic names follow Kafka's rules (1..249 of [a-zA-Z0-9._-], not starting with "."), so
//     one-character topics are allowed although the model's pattern needs two characters.
//   - RoleArn is optional; when given, AWS targets and enrichments assume it through STS (see
//     internal/awsclient). Vpc and KmsKeyIdentifier are validated and ignored.
//   - LogConfiguration's CloudWatch Logs, Firehose and S3 destinations are rejected: Sluice writes
//     execution logs itself.
//   - Target and enrichment parameter objects (SqsQueueParameters, HttpParameters, ...) are kept raw
//     (compact, members sorted) for the plugin owning them and rejected with any other target, or when
//     no registered plugin owns them; those for other source kinds are rejected.
//   - Secret references are Secrets Manager secret ARNs, file:///path or env:NAME.
//   - HTTP targets may be plain http:// (API destinations require HTTPS) for local endpoints.
//   - UpdatePipe may re-send immutable members unchanged; only changes are rejected (see Merge).
package pipe
