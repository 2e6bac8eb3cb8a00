// Package pipe holds a pipe's definition in the shape of the EventBridge Pipes CreatePipe request,
// plus Sluice's extensions, and the one path every entry point (sluice run, sluice serve, the store)
// uses to accept it: Decode (strict JSON or YAML) -> SetDefaults -> Validate, and Merge for
// UpdatePipe. It performs no I/O.
//
// Target strings Sluice knows:
//
//	file:///absolute/path          one JSON document per line, appended (file:///dev/stdout prints);
//	                               option ?fsync=batch (default) or ?fsync=never
//	http://host/path, https://...  one request per event, EventBridge API destination behaviour;
//	                               "*" in the path is filled from HttpParameters.PathParameterValues
//	kafka://host:port[,host:port...]/topic
//	                               produce to a topic (more brokers also in KafkaParameters)
//	arn:...                        accepted when a plugin registered that ARN's service
//
// Enrichment may be an http(s):// URL (or a registered ARN kind); DeadLetterConfig.Arn may be a
// kafka:// or file:// string (or a registered ARN kind).
//
// Sluice extensions (members AWS does not have), documented on their types:
//   - SelfManagedKafkaParameters.MaximumRetryAttempts, MaximumRecordAgeInSeconds, DeadLetterConfig
//     (the shapes Pipes uses for Kinesis/DynamoDB sources);
//   - TargetParameters.ApiDestinationParameters and EnrichmentParameters.ApiDestinationParameters
//     (HttpMethod, InvocationRateLimitPerSecond, Connection with BASIC / API_KEY /
//     OAUTH_CLIENT_CREDENTIALS authorization whose credentials are secret references);
//   - TargetParameters.KafkaParameters (Key from a JSON path, AdditionalBootstrapServers,
//     Credentials and ServerRootCaCertificate as for the source).
//
// Decisions where the Pipes documentation is silent or where Sluice differs:
//   - Model patterns are applied anchored (as terraform does).
//   - StartingPosition defaults to LATEST; MaximumBatchingWindowInSeconds to 0; BatchSize to 100, or
//     to 1 when the target or the enrichment is HTTP (they take one event per request; a larger
//     BatchSize is an error, as Pipes requires for API destinations).
//   - ConsumerGroupID defaults to "sluice-<pipe name>", deterministic so that re-running a definition
//     resumes from its committed offsets.
//   - Topic names follow Kafka's rules (1..249 of [a-zA-Z0-9._-], not starting with "."), so
//     one-character topics are allowed although the model's pattern needs two characters.
//   - RoleArn is optional; when given, AWS targets and enrichments assume it through STS (see
//     internal/awsclient). Vpc and KmsKeyIdentifier are validated and ignored.
//   - LogConfiguration's CloudWatch Logs, Firehose and S3 destinations are rejected: Sluice writes
//     execution logs itself.
//   - Parameter objects for AWS target kinds (SqsQueueParameters, ...) are kept raw for a plugin of
//     that kind and rejected on any other target; those for other source kinds are rejected.
//   - Secret references are Secrets Manager secret ARNs, file:///path or env:NAME.
//   - HTTP targets may be plain http:// (API destinations require HTTPS) for local endpoints.
//   - UpdatePipe may re-send immutable members unchanged; only changes are rejected (see Merge).
package pipe
