package pipe

import (
	"encoding/json"

	"github.com/sluicehq/sluice/internal/kafkaauth"
)

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
	// Enrichment is empty (none) or an enrichment string whose kind (URI scheme or ARN service) a plugin
	// registered, such as "http(s)://..." (Sluice extension: an API-destination-like endpoint).
	Enrichment string `json:"Enrichment,omitempty"`
	// EnrichmentParameters are the enrichment's input template and HTTP parameters.
	EnrichmentParameters *EnrichmentParameters `json:"EnrichmentParameters,omitempty"`
	// Target is where events go: a string whose kind (URI scheme or ARN service) a plugin registered,
	// such as "file:///path", "http(s)://...", "kafka://host:port/topic" or "arn:aws:sqs:...".
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
	// BatchSize is the maximum records per batch, 1..10000 (default 100, or the target or enrichment
	// plugin's DefaultBatchSize: 1 for HTTP, which takes one event per call).
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
	// records are dead-lettered. It bounds retries only together with a DeadLetterConfig: without one,
	// a record is never dropped, so a failing batch is retried until it succeeds (runtime/deliver.go).
	MaximumRetryAttempts *int `json:"MaximumRetryAttempts,omitempty"`
	// MaximumRecordAgeInSeconds (Sluice extension) stops retrying records older than this: -1
	// (default) means no limit, otherwise 60..604800.
	MaximumRecordAgeInSeconds *int `json:"MaximumRecordAgeInSeconds,omitempty"`
	// DeadLetterConfig (Sluice extension) is where exhausted records go.
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
}

// DeadLetterConfig names the dead-letter destination (Sluice extension, Pipes' stream-source shape).
type DeadLetterConfig struct {
	// Arn is a target string whose kind a target plugin registered and accepts as a dead-letter
	// destination ("kafka://host:port/topic", "file:///path", ...).
	Arn string `json:"Arn"`
}

// KafkaCredentials is the Credentials union: exactly one member, each a secret reference (a Secrets
// Manager secret ARN, "file:///path" or "env:NAME"). The Kafka target shares it (package kafkaauth).
type KafkaCredentials = kafkaauth.Credentials

// Vpc is SelfManagedKafkaAccessConfigurationVpc (note the singular SecurityGroup). No-op in Sluice.
type Vpc struct {
	Subnets       []string `json:"Subnets,omitempty"`
	SecurityGroup []string `json:"SecurityGroup,omitempty"`
}

// EnrichmentParameters is PipeEnrichmentParameters plus the Sluice API destination extension. The
// members besides InputTemplate belong to the enrichment's plugin: they are kept as the raw JSON given,
// and the plugin decodes and validates them (plugin.EnricherSpec.Members and Validate).
type EnrichmentParameters struct {
	// InputTemplate is applied per event before the enrichment call (0..8192; "" removes it).
	InputTemplate *string `json:"InputTemplate,omitempty"`
	// HttpParameters are the path, header and query values of an HTTP, API destination or API Gateway
	// enrichment.
	HttpParameters json.RawMessage `json:"HttpParameters,omitempty"`
	// ApiDestinationParameters (Sluice extension) is what an EventBridge API destination and its
	// connection would hold for an http(s):// enrichment: method, rate limit and authorization.
	ApiDestinationParameters json.RawMessage `json:"ApiDestinationParameters,omitempty"`
}

// members returns the plugin-owned members by name, in name order.
func (ep *EnrichmentParameters) members() []member { return membersOf(ep.memberRefs()) }

// TargetParameters is PipeTargetParameters plus the Sluice extensions for HTTP and Kafka targets. The
// members besides InputTemplate belong to the target's plugin: they are kept as the raw JSON given, the
// plugin decodes and validates them (plugin.TargetSpec.Members and Validate), and Validate rejects a
// member that the pipe's target plugin does not own.
type TargetParameters struct {
	// InputTemplate is applied per event before delivery (0..8192; "" removes it).
	InputTemplate *string `json:"InputTemplate,omitempty"`
	// HttpParameters are the path, header and query values of an HTTP, API destination or API Gateway
	// target.
	HttpParameters json.RawMessage `json:"HttpParameters,omitempty"`
	// ApiDestinationParameters (Sluice extension) configures an http(s):// target like an EventBridge
	// API destination and connection.
	ApiDestinationParameters json.RawMessage `json:"ApiDestinationParameters,omitempty"`
	// KafkaParameters (Sluice extension) configures a kafka:// target.
	KafkaParameters json.RawMessage `json:"KafkaParameters,omitempty"`

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

// member is one plugin-owned parameter member: its AWS name and raw JSON.
type member struct {
	name string
	raw  json.RawMessage
}

// members returns the plugin-owned members by name, in name order.
func (tp *TargetParameters) members() []member { return membersOf(tp.memberRefs()) }

func membersOf(refs []memberRef) []member {
	out := make([]member, len(refs))
	for i, r := range refs {
		out[i] = member{r.name, *r.raw}
	}
	return out
}

// memberRef points at a plugin-owned member, so that Merge can replace it.
type memberRef struct {
	name string
	raw  *json.RawMessage
}

func (tp *TargetParameters) memberRefs() []memberRef {
	return []memberRef{
		{"ApiDestinationParameters", &tp.ApiDestinationParameters}, {"BatchJobParameters", &tp.BatchJobParameters},
		{"CloudWatchLogsParameters", &tp.CloudWatchLogsParameters}, {"EcsTaskParameters", &tp.EcsTaskParameters},
		{"EventBridgeEventBusParameters", &tp.EventBridgeEventBusParameters}, {"HttpParameters", &tp.HttpParameters},
		{"KafkaParameters", &tp.KafkaParameters}, {"KinesisStreamParameters", &tp.KinesisStreamParameters},
		{"LambdaFunctionParameters", &tp.LambdaFunctionParameters}, {"RedshiftDataParameters", &tp.RedshiftDataParameters},
		{"SageMakerPipelineParameters", &tp.SageMakerPipelineParameters}, {"SqsQueueParameters", &tp.SqsQueueParameters},
		{"StepFunctionStateMachineParameters", &tp.StepFunctionStateMachineParameters}, {"TimestreamParameters", &tp.TimestreamParameters},
	}
}

func (ep *EnrichmentParameters) memberRefs() []memberRef {
	return []memberRef{{"ApiDestinationParameters", &ep.ApiDestinationParameters}, {"HttpParameters", &ep.HttpParameters}}
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
