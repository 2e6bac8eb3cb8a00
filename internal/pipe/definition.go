package pipe

import "encoding/json"

// Definition is a pipe as CreatePipe receives it (the request body plus the Name that the API takes
// from the URI), with the Sluice extensions documented on their members. JSON member names are the
// AWS names; YAML definitions use the same names.
//
// Optional scalars whose absence differs from their zero value are pointers, so that SetDefaults,
// Validate and the UpdatePipe merge can tell "not given" from "given as zero/empty".
type Definition struct {
	// Name is the pipe name (1..64, [.\-_A-Za-z0-9]+). The API fills it from the request URI.
	Name string `json:"Name,omitempty"`
	// Description is free text, 0..512 characters.
	Description *string `json:"Description,omitempty"`
	// DesiredState is RUNNING or STOPPED; SetDefaults makes it RUNNING.
	DesiredState string `json:"DesiredState,omitempty"`
	// Source is the one bootstrap broker, "smk://host:port".
	Source string `json:"Source,omitempty"`
	// SourceParameters holds the filter criteria and the Kafka parameters (required).
	SourceParameters *SourceParameters `json:"SourceParameters,omitempty"`
	// Enrichment is empty (none) or an enrichment string: "http(s)://..." (Sluice extension: an
	// API-destination-like endpoint) or an ARN whose kind a plugin registered.
	Enrichment string `json:"Enrichment,omitempty"`
	// EnrichmentParameters are the enrichment's input template and HTTP parameters.
	EnrichmentParameters *EnrichmentParameters `json:"EnrichmentParameters,omitempty"`
	// Target is where events go: "file:///path", "http(s)://...", "kafka://host:port/topic", or an ARN
	// whose kind a plugin registered.
	Target string `json:"Target,omitempty"`
	// TargetParameters are the target's input template and kind-specific parameters.
	TargetParameters *TargetParameters `json:"TargetParameters,omitempty"`
	// RoleArn is the pipe's execution role (validated against the IAM role pattern when given): AWS
	// targets and enrichments make their calls with it, assumed through STS with the host's credentials
	// (internal/awsclient), unless the server runs with --assume-pipe-role=false. It is optional in
	// Sluice (without it the host's credentials are used), required by AWS.
	RoleArn string `json:"RoleArn,omitempty"`
	// Tags are 1..50 key/value pairs.
	Tags map[string]string `json:"Tags,omitempty"`
	// LogConfiguration sets the execution log level and whether payloads are logged.
	LogConfiguration *LogConfiguration `json:"LogConfiguration,omitempty"`
	// KmsKeyIdentifier is accepted and validated but has no effect (documented no-op).
	KmsKeyIdentifier *string `json:"KmsKeyIdentifier,omitempty"`
}

// SourceParameters is PipeSourceParameters restricted to what a Kafka source uses. The members for
// other source kinds are kept as raw JSON only so that Validate can say why they do not apply.
type SourceParameters struct {
	// FilterCriteria holds up to 5 event patterns, ORed.
	FilterCriteria *FilterCriteria `json:"FilterCriteria,omitempty"`
	// SelfManagedKafkaParameters describes the topic, batching, consumer group and credentials.
	SelfManagedKafkaParameters *SelfManagedKafkaParameters `json:"SelfManagedKafkaParameters,omitempty"`

	// Members for sources Sluice does not have; any of them is a validation error.
	ActiveMQBrokerParameters        json.RawMessage `json:"ActiveMQBrokerParameters,omitempty"`
	DynamoDBStreamParameters        json.RawMessage `json:"DynamoDBStreamParameters,omitempty"`
	KinesisStreamParameters         json.RawMessage `json:"KinesisStreamParameters,omitempty"`
	ManagedStreamingKafkaParameters json.RawMessage `json:"ManagedStreamingKafkaParameters,omitempty"`
	RabbitMQBrokerParameters        json.RawMessage `json:"RabbitMQBrokerParameters,omitempty"`
	SqsQueueParameters              json.RawMessage `json:"SqsQueueParameters,omitempty"`
}

// FilterCriteria is the list of event patterns; a record passes when any pattern matches, and an
// empty list passes everything.
type FilterCriteria struct {
	Filters []Filter `json:"Filters"`
}

// Filter is one event pattern, a JSON string of at most 4096 characters.
type Filter struct {
	Pattern string `json:"Pattern"`
}

// SelfManagedKafkaParameters is PipeSourceSelfManagedKafkaParameters plus the Sluice retry and
// dead-letter extensions (the members Pipes uses for its Kinesis and DynamoDB stream sources).
type SelfManagedKafkaParameters struct {
	// TopicName is the one topic read (required; immutable).
	TopicName string `json:"TopicName,omitempty"`
	// StartingPosition is TRIM_HORIZON or LATEST (default LATEST; immutable). Ignored when the
	// consumer group already has committed offsets.
	StartingPosition string `json:"StartingPosition,omitempty"`
	// AdditionalBootstrapServers are up to 2 more "host:port" brokers (immutable).
	AdditionalBootstrapServers []string `json:"AdditionalBootstrapServers,omitempty"`
	// BatchSize is the maximum records per batch, 1..10000 (default 100, or 1 for HTTP targets and
	// HTTP enrichments, which take one event per call).
	BatchSize *int `json:"BatchSize,omitempty"`
	// MaximumBatchingWindowInSeconds is how long to wait to fill a batch, 0..300 (default 0).
	MaximumBatchingWindowInSeconds *int `json:"MaximumBatchingWindowInSeconds,omitempty"`
	// ConsumerGroupID is the Kafka consumer group (immutable). Default "sluice-<pipe name>", so that
	// re-running the same pipe resumes from its committed offsets.
	ConsumerGroupID string `json:"ConsumerGroupID,omitempty"`
	// Credentials selects SASL/PLAIN, SCRAM or mTLS, each from a secret reference; none = no auth.
	Credentials *KafkaCredentials `json:"Credentials,omitempty"`
	// ServerRootCaCertificate is a secret reference to the CA that signed the brokers' certificates.
	ServerRootCaCertificate string `json:"ServerRootCaCertificate,omitempty"`
	// Vpc is accepted and validated but has no effect (documented no-op).
	Vpc *Vpc `json:"Vpc,omitempty"`

	// MaximumRetryAttempts (Sluice extension) bounds the retries of a failing batch: -1 (default,
	// the Pipes behaviour) retries forever, 0..10000 retries that many times before the failing
	// records are dead-lettered (or, without DeadLetterConfig, dropped with an error log).
	MaximumRetryAttempts *int `json:"MaximumRetryAttempts,omitempty"`
	// MaximumRecordAgeInSeconds (Sluice extension) stops retrying records older than this: -1
	// (default) means no limit, otherwise 60..604800.
	MaximumRecordAgeInSeconds *int `json:"MaximumRecordAgeInSeconds,omitempty"`
	// DeadLetterConfig (Sluice extension) is where exhausted records go.
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
}

// DeadLetterConfig names the dead-letter destination (Sluice extension, Pipes' stream-source shape).
type DeadLetterConfig struct {
	// Arn is a target string: "kafka://host:port/topic", "file:///path", or an ARN whose target kind
	// a plugin registered.
	Arn string `json:"Arn"`
}

// KafkaCredentials is the Credentials union: exactly one member, each a secret reference (a Secrets
// Manager secret ARN, "file:///path" or "env:NAME").
type KafkaCredentials struct {
	BasicAuth                string `json:"BasicAuth,omitempty"`
	SaslScram256Auth         string `json:"SaslScram256Auth,omitempty"`
	SaslScram512Auth         string `json:"SaslScram512Auth,omitempty"`
	ClientCertificateTlsAuth string `json:"ClientCertificateTlsAuth,omitempty"`
}

// Mechanism returns the kafkaauth mechanism name ("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512",
// "MTLS") and the secret reference of the member that is set (the first one, after Validate there is
// only one).
func (c *KafkaCredentials) Mechanism() (mechanism, secretRef string) {
	switch {
	case c == nil:
		return "", ""
	case c.BasicAuth != "":
		return "PLAIN", c.BasicAuth
	case c.SaslScram256Auth != "":
		return "SCRAM-SHA-256", c.SaslScram256Auth
	case c.SaslScram512Auth != "":
		return "SCRAM-SHA-512", c.SaslScram512Auth
	case c.ClientCertificateTlsAuth != "":
		return "MTLS", c.ClientCertificateTlsAuth
	}
	return "", ""
}

// Vpc is SelfManagedKafkaAccessConfigurationVpc (note the singular SecurityGroup). No-op in Sluice.
type Vpc struct {
	Subnets       []string `json:"Subnets,omitempty"`
	SecurityGroup []string `json:"SecurityGroup,omitempty"`
}

// EnrichmentParameters is PipeEnrichmentParameters plus the Sluice API destination extension.
type EnrichmentParameters struct {
	// InputTemplate is applied per event before the enrichment call (0..8192; "" removes it).
	InputTemplate *string `json:"InputTemplate,omitempty"`
	// HttpParameters are the path, header and query values of an HTTP enrichment.
	HttpParameters *HttpParameters `json:"HttpParameters,omitempty"`
	// ApiDestinationParameters (Sluice extension) is what an EventBridge API destination and its
	// connection would hold: method, rate limit and authorization.
	ApiDestinationParameters *ApiDestinationParameters `json:"ApiDestinationParameters,omitempty"`
}

// HttpParameters is Pipe{Target,Enrichment}HttpParameters. Values (but not header names) may be a
// JSON path ("$.value.id"), read from the event before the input template is applied.
type HttpParameters struct {
	// PathParameterValues fill the "*" wildcards of the URL path, in order.
	PathParameterValues []string `json:"PathParameterValues,omitempty"`
	// HeaderParameters are added to each request.
	HeaderParameters map[string]string `json:"HeaderParameters,omitempty"`
	// QueryStringParameters are added to the URL's query string.
	QueryStringParameters map[string]string `json:"QueryStringParameters,omitempty"`
}

// TargetParameters is PipeTargetParameters plus the Sluice extensions for HTTP and Kafka targets. The
// members for AWS target kinds are kept as raw JSON: a plugin for that kind decodes them, and
// Validate rejects them on a target of another kind.
type TargetParameters struct {
	// InputTemplate is applied per event before delivery (0..8192; "" removes it).
	InputTemplate *string `json:"InputTemplate,omitempty"`
	// HttpParameters are the path, header and query values of an HTTP target.
	HttpParameters *HttpParameters `json:"HttpParameters,omitempty"`
	// ApiDestinationParameters (Sluice extension) configures an http(s):// target like an EventBridge
	// API destination and connection.
	ApiDestinationParameters *ApiDestinationParameters `json:"ApiDestinationParameters,omitempty"`
	// KafkaParameters (Sluice extension) configures a kafka:// target.
	KafkaParameters *KafkaTargetParameters `json:"KafkaParameters,omitempty"`

	BatchJobParameters                 json.RawMessage `json:"BatchJobParameters,omitempty"`
	CloudWatchLogsParameters           json.RawMessage `json:"CloudWatchLogsParameters,omitempty"`
	EcsTaskParameters                  json.RawMessage `json:"EcsTaskParameters,omitempty"`
	EventBridgeEventBusParameters      json.RawMessage `json:"EventBridgeEventBusParameters,omitempty"`
	KinesisStreamParameters            json.RawMessage `json:"KinesisStreamParameters,omitempty"`
	LambdaFunctionParameters           json.RawMessage `json:"LambdaFunctionParameters,omitempty"`
	RedshiftDataParameters             json.RawMessage `json:"RedshiftDataParameters,omitempty"`
	SageMakerPipelineParameters        json.RawMessage `json:"SageMakerPipelineParameters,omitempty"`
	SqsQueueParameters                 json.RawMessage `json:"SqsQueueParameters,omitempty"`
	StepFunctionStateMachineParameters json.RawMessage `json:"StepFunctionStateMachineParameters,omitempty"`
	TimestreamParameters               json.RawMessage `json:"TimestreamParameters,omitempty"`
}

// ApiDestinationParameters (Sluice extension) carries what EventBridge keeps in an API destination
// (HttpMethod, InvocationRateLimitPerSecond) and its connection (AuthorizationType and parameters),
// since a Sluice HTTP target or enrichment is addressed by URL instead of an API destination ARN.
type ApiDestinationParameters struct {
	// HttpMethod is POST (default), GET, HEAD, OPTIONS, PUT, PATCH or DELETE.
	HttpMethod string `json:"HttpMethod,omitempty"`
	// InvocationRateLimitPerSecond caps requests per second, >= 1 (default 300).
	InvocationRateLimitPerSecond *int `json:"InvocationRateLimitPerSecond,omitempty"`
	// Connection holds the authorization; none means unauthenticated requests.
	Connection *Connection `json:"Connection,omitempty"`
}

// Connection mirrors an EventBridge connection. Credentials are never inline: each auth kind names a
// secret reference (Secrets Manager ARN, "file:///path" or "env:NAME") holding a JSON object.
type Connection struct {
	// AuthorizationType is BASIC, API_KEY or OAUTH_CLIENT_CREDENTIALS.
	AuthorizationType string `json:"AuthorizationType"`
	// AuthParameters holds the member matching AuthorizationType.
	AuthParameters *ConnectionAuthParameters `json:"AuthParameters,omitempty"`
}

// ConnectionAuthParameters holds exactly the member that AuthorizationType names.
type ConnectionAuthParameters struct {
	BasicAuthParameters  *BasicAuthParameters  `json:"BasicAuthParameters,omitempty"`
	ApiKeyAuthParameters *ApiKeyAuthParameters `json:"ApiKeyAuthParameters,omitempty"`
	OAuthParameters      *OAuthParameters      `json:"OAuthParameters,omitempty"`
}

// BasicAuthParameters: the secret is {"username": "...", "password": "..."}.
type BasicAuthParameters struct {
	SecretArn string `json:"SecretArn"`
}

// ApiKeyAuthParameters: requests carry the header ApiKeyName with the secret's value; the secret is
// {"api_key_value": "..."}.
type ApiKeyAuthParameters struct {
	ApiKeyName string `json:"ApiKeyName"`
	SecretArn  string `json:"SecretArn"`
}

// OAuthParameters configures the OAuth 2.0 client-credentials grant; the secret is
// {"client_id": "...", "client_secret": "..."}.
type OAuthParameters struct {
	// AuthorizationEndpoint is the token URL (http or https, at most 2048 characters).
	AuthorizationEndpoint string `json:"AuthorizationEndpoint"`
	// HttpMethod of the token request: POST (default), GET or PUT.
	HttpMethod string `json:"HttpMethod,omitempty"`
	SecretArn  string `json:"SecretArn"`
	// OAuthHttpParameters are extra headers, query strings and form body fields (such as scope or
	// audience) sent with the token request.
	OAuthHttpParameters *ConnectionHttpParameters `json:"OAuthHttpParameters,omitempty"`
}

// ConnectionHttpParameters mirrors EventBridge's ConnectionHttpParameters, without secret values.
type ConnectionHttpParameters struct {
	HeaderParameters      []ConnectionParameter `json:"HeaderParameters,omitempty"`
	QueryStringParameters []ConnectionParameter `json:"QueryStringParameters,omitempty"`
	BodyParameters        []ConnectionParameter `json:"BodyParameters,omitempty"`
}

// ConnectionParameter is one key/value pair of ConnectionHttpParameters.
type ConnectionParameter struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// KafkaTargetParameters (Sluice extension) configures a kafka:// target. Authentication works as for
// the source; when neither Credentials nor ServerRootCaCertificate is given the connection is
// plaintext.
type KafkaTargetParameters struct {
	// Key is the record key: a JSON path ("$.value.orderId", read from the event before the input
	// template) or a static string; empty means a null key.
	Key string `json:"Key,omitempty"`
	// AdditionalBootstrapServers are up to 2 more "host:port" brokers of the target cluster.
	AdditionalBootstrapServers []string `json:"AdditionalBootstrapServers,omitempty"`
	// Credentials as for the source.
	Credentials *KafkaCredentials `json:"Credentials,omitempty"`
	// ServerRootCaCertificate as for the source.
	ServerRootCaCertificate string `json:"ServerRootCaCertificate,omitempty"`
}

// LogConfiguration is PipeLogConfigurationParameters. Sluice writes execution logs as JSON lines
// itself, so the AWS destinations are rejected by Validate.
type LogConfiguration struct {
	// Level is OFF, ERROR, INFO or TRACE (required).
	Level string `json:"Level,omitempty"`
	// IncludeExecutionData is empty or ["ALL"] (payloads in log records).
	IncludeExecutionData []string `json:"IncludeExecutionData,omitempty"`

	CloudwatchLogsLogDestination json.RawMessage `json:"CloudwatchLogsLogDestination,omitempty"`
	FirehoseLogDestination       json.RawMessage `json:"FirehoseLogDestination,omitempty"`
	S3LogDestination             json.RawMessage `json:"S3LogDestination,omitempty"`
}
