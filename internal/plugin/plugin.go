// Package plugin holds the seams between the pipe runtime and its parts: the Enricher and Target
// interfaces, the errors they use to tell the runtime how to react, and the registry that maps a pipe's
// Target or Enrichment string to a constructor. It holds no implementations.
package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/sandbox"
)

// MaxPayloadBytes is the Pipes payload limit (6 MB): the most one invocation carries, whether a source
// batch, the payload sent to a target or enrichment, or the response an enrichment returns. It is also the
// largest payload one event may have once the input template is applied; a larger one is a permanent
// failure of that record.
const MaxPayloadBytes = 6 << 20

// Enricher may return fewer or more events than it was given; zero events skips the target.
type Enricher interface {
	Enrich(ctx context.Context, events []json.RawMessage) ([]json.RawMessage, error)
}

// Target delivers a batch of already-transformed events; an error marked permanent is not retried.
type Target interface {
	Deliver(ctx context.Context, events []json.RawMessage) error
}

// BatchLimiter is implemented by targets that accept at most MaxBatch events per Deliver call
// (an HTTP endpoint takes one). The runtime splits batches accordingly and validation checks BatchSize.
type BatchLimiter interface {
	MaxBatch() int
}

// PayloadLimiter is implemented by targets and enrichments that accept smaller payloads than MaxPayloadBytes
// (the Kafka target: the producer's maximum record size). The runtime renders each event's payload within
// min(MaxPayloadBytes, MaxPayloadBytes()), stopping as soon as it is exceeded; zero or less means no lower limit.
type PayloadLimiter interface {
	MaxPayloadBytes() int
}

// JSONLinesTarget is implemented by targets that otherwise check every event's framing themselves (the file
// target checks that an event is one JSON document on one line, and compacts or quotes it when it is not).
// The runtime calls DeliverJSONLines instead of Deliver when it vouches that every event is valid JSON
// holding no whitespace outside strings, hence no line break: that is only the Pipes event JSON Sluice
// encoded itself (package event), handed on with no enrichment and no target input template. Enrichment
// output and rendered templates are never vouched for and go through Deliver. The events are the same and
// in the same order as Deliver would get; retries and splitting into MaxBatch chunks are unchanged.
type JSONLinesTarget interface {
	DeliverJSONLines(ctx context.Context, events []json.RawMessage) error
}

// Closer is implemented by parts holding connections or files.
type Closer interface {
	Close(ctx context.Context) error
}

// PermanentError marks a failure that retrying cannot fix (a 4xx other than 429, a malformed payload).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that IsPermanent reports true.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err, or an error it wraps, is a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// ThrottledError marks a failure caused by the far side asking us to slow down (HTTP 429), with the delay
// it asked for (zero when it named none).
type ThrottledError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return e.Err.Error() }
func (e *ThrottledError) Unwrap() error { return e.Err }

// RetryAfterError carries a server's Retry-After on a retryable failure (503 with Retry-After).
type RetryAfterError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// Env is what a constructor gets besides the pipe's own parameters: the pipe's identity and the shared
// services (secrets). It is filled by the runtime.
type Env struct {
	PipeName string
	PipeArn  string
	// Secrets resolves a secret reference (Secrets Manager ARN, file://, env:) to its JSON text.
	Secrets SecretResolver
	// Sandbox is what the operator lets the pipe touch: the files a file:// target may open, the
	// addresses an HTTP target or enrichment may connect to. The zero value is unrestricted.
	Sandbox sandbox.Policy
}

// SecretResolver resolves a secret reference to the secret's JSON string.
type SecretResolver interface {
	Resolve(ctx context.Context, ref string) ([]byte, error)
}

// TargetFactory builds a Target from the pipe's Target string and TargetParameters (raw JSON).
type TargetFactory func(ctx context.Context, env Env, target string, params json.RawMessage) (Target, error)

// EnricherFactory builds an Enricher from the pipe's Enrichment string and EnrichmentParameters (raw JSON).
type EnricherFactory func(ctx context.Context, env Env, enrichment string, params json.RawMessage) (Enricher, error)

// Registry maps a kind (URI scheme such as "file", "https", "kafka", or an ARN's service such as "sqs") to
// factories. Plugins register into Default in init(); tests build their own with NewRegistry.
type Registry struct {
	mu        sync.RWMutex
	targets   map[string]TargetFactory
	enrichers map[string]EnricherFactory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{targets: map[string]TargetFactory{}, enrichers: map[string]EnricherFactory{}}
}

// Default is the registry that plugin packages register into from init(), the one place where plugins
// announce themselves; cmd/sluice blank-imports them.
var Default = NewRegistry()

// RegisterTarget adds a target kind; registering a kind twice is a programming error and panics.
func (r *Registry) RegisterTarget(kind string, f TargetFactory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.targets[kind]; dup {
		panic(fmt.Sprintf("plugin: target kind %q registered twice", kind))
	}
	r.targets[kind] = f
}

// RegisterEnricher adds an enrichment kind; registering a kind twice panics.
func (r *Registry) RegisterEnricher(kind string, f EnricherFactory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.enrichers[kind]; dup {
		panic(fmt.Sprintf("plugin: enrichment kind %q registered twice", kind))
	}
	r.enrichers[kind] = f
}

// Target returns the factory for a Target string, or false when its kind is unknown.
func (r *Registry) Target(target string) (TargetFactory, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.targets[Kind(target)]
	return f, ok
}

// Enricher returns the factory for an Enrichment string, or false when its kind is unknown.
func (r *Registry) Enricher(enrichment string) (EnricherFactory, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.enrichers[Kind(enrichment)]
	return f, ok
}

// TargetKinds lists the registered target kinds, for error messages and documentation.
func (r *Registry) TargetKinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.targets))
	for k := range r.targets {
		out = append(out, k)
	}
	return out
}

// Kind returns the kind of a Target or Enrichment string: the service of an ARN
// ("arn:aws:sqs:..." -> "sqs") or the scheme of a URI ("https://..." -> "https").
func Kind(s string) string {
	if strings.HasPrefix(s, "arn:") {
		parts := strings.SplitN(s, ":", 4)
		if len(parts) >= 3 {
			return parts[2]
		}
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Scheme)
}

// InputsTarget is implemented by targets whose dynamic parameters (JSON paths in HttpParameters, a Kafka key)
// read the event as it was before the target InputTemplate. The runtime calls DeliverInputs instead of Deliver,
// with inputs[i] the untransformed event behind events[i]; same length, same order.
type InputsTarget interface {
	DeliverInputs(ctx context.Context, events, inputs []json.RawMessage) error
}

// InputsEnricher is the enrichment counterpart of InputsTarget: inputs[i] is the source record behind events[i]
// before the enrichment InputTemplate.
type InputsEnricher interface {
	EnrichInputs(ctx context.Context, events, inputs []json.RawMessage) ([]json.RawMessage, error)
}
