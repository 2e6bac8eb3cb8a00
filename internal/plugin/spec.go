package plugin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/transform"
)

// FieldError is one problem with one field, the API's ValidationException fieldList item. Field is the
// absolute dotted path of AWS member names: "Target", "TargetParameters.SqsQueueParameters.MessageGroupId".
// (internal/pipe's FieldError is an alias of this type.)
type FieldError struct {
	Field   string `json:"name"`
	Message string `json:"message"`
}

// Errorf returns the FieldError of field with a formatted message, for plugins' Validate.
func Errorf(field, format string, args ...any) FieldError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return FieldError{Field: field, Message: msg}
}

// Check is what a plugin's Validate and New see of the pipe.
type Check struct {
	// Endpoint is the pipe's Target (or Enrichment) string: an ARN, or a URI for file/http/kafka.
	Endpoint string
	// Params is the pipe's whole TargetParameters (or EnrichmentParameters) object as JSON, nil when
	// absent. The plugin decodes its own member(s) strictly (unknown fields are FieldErrors) and ignores
	// InputTemplate, which is the runtime's, and the members of other plugins, which internal/pipe has
	// already refused.
	Params json.RawMessage
	// What the plugin may need to know about the rest of the pipe.
	PipeName      string
	RoleArn       string   // the pipe's RoleArn ("" when absent)
	SourceBrokers []string // bootstrap servers of the Kafka source
	SourceTopic   string
	Enrichment    string // the pipe's Enrichment ("" when none); for targets
	BatchSize     int    // the source BatchSize after defaults
	// DeadLetter says Endpoint is the pipe's dead-letter destination (SelfManagedKafkaParameters.
	// DeadLetterConfig.Arn), built like a target but with no parameters (Params nil). Validate's problems
	// about the endpoint are reported with Field "Target"; internal/pipe moves them to the Arn's field.
	DeadLetter bool
}

// Member returns the raw JSON of one member of Params (nil when Params or the member is absent or null),
// so that a plugin decodes only what it owns.
func (c Check) Member(name string) (json.RawMessage, error) {
	if len(c.Params) == 0 || string(c.Params) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(c.Params, &m); err != nil {
		return nil, fmt.Errorf("decoding parameters: %w", err)
	}
	raw := m[name]
	if string(raw) == "null" {
		return nil, nil
	}
	return raw, nil
}

// TargetSpec is one target plugin's registry entry.
type TargetSpec struct {
	// Kinds are the registry keys it serves: URI schemes ("file"; "http","https"; "kafka") or ARN
	// services ("sqs", "lambda", "events", ...). plugin.Kind(endpoint) picks the entry.
	Kinds []string
	// Members are the TargetParameters members it owns ("SqsQueueParameters"); internal/pipe refuses a
	// member given with a target of another kind, naming the member, and unknown members. Several specs
	// may own one member (HttpParameters: HTTP URLs, API destinations, API Gateway).
	Members []string
	// Validate reports every problem with the Target string and the plugin's own parameters. It does no
	// I/O. Nil means nothing to check beyond the generic ARN/URI syntax.
	Validate func(c Check) []FieldError
	// MaxBatch is the most events one Deliver call carries (SQS 10, Kinesis 500; 0: no limit). The
	// runtime splits batches accordingly. DefaultBatchSize is the source BatchSize used when the pipe
	// gives none (0: the source's default, 100).
	MaxBatch, DefaultBatchSize int
	// MaxPayloadBytes is the most one event's payload may hold when below plugin.MaxPayloadBytes
	// (0: MaxPayloadBytes). An instance may lower it further with PayloadLimiter.
	MaxPayloadBytes int
	// Files lists the secret references and file paths its parameters hold (no I/O; a value that does
	// not parse may be left out: Validate reports it). The server checks the file: ones against the
	// operator's file roots (serve --file-root) before storing the pipe. Nil: its parameters name no
	// local file. Only the plugin knows which strings it opens: a header value "file:x" is not a file.
	Files func(c Check) []FileRef
	// New builds the target. It may connect; errors are build failures of the pipe.
	New func(ctx context.Context, env Env, c Check) (Target, error)
}

// FileRef is a secret reference or file path in a plugin's parameters, by the absolute field name.
type FileRef struct {
	Field string // "TargetParameters.KafkaParameters.Credentials.SaslScram512Auth"
	Ref   string // "file:///etc/sluice/scram.json", "env:X", an ARN: only file: ones are local files
}

// EnricherSpec is the enrichment counterpart (Members are EnrichmentParameters members).
type EnricherSpec struct {
	Kinds    []string
	Members  []string
	Validate func(c Check) []FieldError
	MaxBatch int
	// DefaultBatchSize is the source BatchSize used when the pipe gives none (0: no preference); when
	// both the target and the enrichment have one, the smaller wins.
	DefaultBatchSize int
	MaxPayloadBytes  int
	Files            func(c Check) []FileRef
	New              func(ctx context.Context, env Env, c Check) (Enricher, error)
}

// Batch is one delivery call. Payloads are the events after the target InputTemplate; Inputs[i] is the
// untransformed event behind Payloads[i] (dynamic parameters — JSON paths such as "$.data.id" in
// MessageGroupId or PartitionKey — read Inputs, as Pipes does); Keys, when the target implements
// Keyed, are the values of its key path on Inputs, evaluated while rendering (nil when the runtime did
// not evaluate them: the target then reads the path on Inputs itself; Keys[i] nil when the path found
// nothing); OwnJSON says the payloads are Sluice's own event JSON (no enrichment, no template), valid
// compact JSON on one line; Compact says the payloads are a target InputTemplate's renderings, each valid
// JSON without whitespace outside strings (set only for a CompactJSONTarget). A plugin must not keep any
// of these slices after its call returns.
type Batch struct {
	Payloads []json.RawMessage
	Inputs   []json.RawMessage
	Keys     []json.RawMessage
	OwnJSON  bool
	Compact  bool
}

// CompactJSONTarget is an optional interface of a Target that writes each payload as compact JSON (the
// file target's JSON lines) and returns true. For such a target the runtime renders a target InputTemplate
// whose every rendering is JSON (transform.Template.CompactJSON) without the whitespace outside strings,
// in the same pass, and sets Batch.Compact, so that the target does not validate and compact the payloads
// again. Other targets get the template's rendering as written.
type CompactJSONTarget interface {
	CompactJSON() bool
}

// Target delivers one batch (at most its MaxBatch events), in order. An error marked Permanent is not
// retried; a *ThrottledError counts as overload; a *PartialError reports which entries failed.
type Target interface {
	Deliver(ctx context.Context, b Batch) error
}

// Enricher may return fewer or more events than it was given; zero events skips the target. b.Payloads
// are after the enrichment InputTemplate, b.Inputs the source events behind them.
type Enricher interface {
	Enrich(ctx context.Context, b Batch) ([]json.RawMessage, error)
}

// Keyed is implemented by targets that read a key from each event with a JSON path (the Kafka target):
// the runtime evaluates the path in the same pass as the target InputTemplate, on one scope per event,
// and hands the results over in Batch.Keys.
type Keyed interface{ KeyPath() *transform.Path }

// PayloadLimiter is implemented by targets and enrichments whose instance accepts smaller payloads than
// their spec says (the Kafka target: the producer's maximum record size). The runtime renders each
// event's payload within the smallest of plugin.MaxPayloadBytes, the spec's MaxPayloadBytes and
// MaxPayloadBytes(), stopping as soon as it is exceeded; zero or less means no lower limit.
type PayloadLimiter interface {
	MaxPayloadBytes() int
}

// PartialError is returned when a batch API accepted some entries and refused others (SQS
// SendMessageBatch, Kinesis PutRecords, ...). Failed holds the indexes into b.Payloads that failed,
// ascending, non-empty; Err is the first failure's error (classified: throttled, permanent or retryable).
// The runtime treats Payloads[:Failed[0]] as delivered and retries from Failed[0] on (re-sending later
// entries that had succeeded, so per-key order holds: at-least-once), and reports the execution as
// ExecutionPartiallyFailed in the execution log and metrics.
type PartialError struct {
	Failed []int
	Err    error
}

func (e *PartialError) Error() string {
	if len(e.Failed) == 0 {
		return fmt.Sprintf("some entries failed: %v", e.Err)
	}
	return fmt.Sprintf("%d entries failed, the first at index %d: %v", len(e.Failed), e.Failed[0], e.Err)
}

// Unwrap returns the first failure's error, whose class (permanent, throttled, retryable) is the batch's.
func (e *PartialError) Unwrap() error { return e.Err }

// Env is what a constructor gets besides the pipe's own parameters: the pipe's identity and the shared
// services (secrets, AWS). It is filled by the runtime.
type Env struct {
	PipeName string
	PipeArn  string
	// RoleArn is the pipe's RoleArn ("" when absent), the role AWS calls are made with.
	RoleArn string
	// Secrets resolves a secret reference (Secrets Manager ARN, file://, env:) to its JSON text.
	Secrets SecretResolver
	// Sandbox is what the operator lets the pipe touch: the files a file:// target may open, the
	// addresses an HTTP target or enrichment may connect to. The zero value is unrestricted.
	Sandbox sandbox.Policy
	// AWS returns the AWS configuration for the pipe's calls; nil when the host has no AWS support
	// configured.
	AWS AWSConfig
}

// AWSConfig returns the aws.Config for calls in region (from the target's ARN; "" means the default
// region), with the pipe's credentials (its RoleArn assumed through STS unless --assume-pipe-role=false),
// the operator's endpoint overrides (--aws-endpoint, AWS_ENDPOINT_URL_<SERVICE>) and an HTTP client that
// honours Env.Sandbox's egress policy.
type AWSConfig func(ctx context.Context, region string) (aws.Config, error)

// SecretResolver resolves a secret reference to the secret's JSON string.
type SecretResolver interface {
	Resolve(ctx context.Context, ref string) ([]byte, error)
}
