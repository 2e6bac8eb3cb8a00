package awsclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sluicehq/sluice/internal/plugin"
)

// Invocation types of LambdaFunctionParameters.InvocationType and
// StepFunctionStateMachineParameters.InvocationType.
const (
	RequestResponse = "REQUEST_RESPONSE"
	FireAndForget   = "FIRE_AND_FORGET"
)

// InvokeSpec describes a service whose target and enrichment send the whole batch to one resource as
// one JSON array (pipes-spec §6, §7.2): Lambda (Invoke) and Step Functions (StartSyncExecution,
// StartExecution). Everything but the call itself is the same for both, and is here: validation of the
// ARN and of the InvocationType member, the payload limits, the array, and the enrichment's response
// rules. Specs turns it into registry entries.
type InvokeSpec struct {
	// Service is the ARN service and the registry kind ("lambda", "states").
	Service string
	// Member is the TargetParameters member holding InvocationType ("LambdaFunctionParameters").
	Member string
	// MaxPayloadBytes bounds one event and one call's whole array (0: plugin.MaxPayloadBytes);
	// AsyncPayloadBytes lowers it for FIRE_AND_FORGET (0: the same).
	MaxPayloadBytes, AsyncPayloadBytes int
	// Resource is the form of the ARN's resource part.
	Resource ResourceForm
	// New builds the caller of the resource a with cfg, the pipe's AWS configuration in a's region.
	// wait says it will be asked for synchronous calls (REQUEST_RESPONSE, every enrichment): it may
	// refuse a resource that cannot serve them (a STANDARD state machine); enrichment says which part
	// of the pipe it serves.
	New func(ctx context.Context, cfg aws.Config, a ARN, wait, enrichment bool) (Invoker, error)
	// Split turns the enrichment's response into events: httpenrich.Split, the rules every
	// enrichment shares (pipes-spec §6). (A field rather than an import: awsclient stays below the
	// HTTP plugins, which may use it.)
	Split func(response []byte) []json.RawMessage
}

// ResourceForm is the resource part of an invoked resource's ARN: TYPE:NAME, optionally followed by
// :QUALIFIER (a version or an alias).
type ResourceForm struct {
	// Type is the resource type ("function", "stateMachine"); Noun names the resource in messages
	// ("Lambda function").
	Type, Noun string
	// Name and Qualifier are the patterns of the name and the qualifier, NameRule and QualifierRule
	// their descriptions in messages ("1 to 64 letters, digits, '-' or '_'").
	Name, Qualifier         *regexp.Regexp
	NameRule, QualifierRule string
}

// check reports the problems of the resource part of a, the ARN in field.
func (f ResourceForm) check(field string, a ARN) []plugin.FieldError {
	typ, rest, _ := strings.Cut(a.Resource, ":")
	if typ != f.Type {
		return []plugin.FieldError{{Field: field, Message: fmt.Sprintf("%s ARN resource %q is not %s:NAME[:VERSION_OR_ALIAS]", f.Noun, a.Resource, f.Type)}}
	}
	var errs []plugin.FieldError
	name, qualifier, qualified := strings.Cut(rest, ":")
	if !f.Name.MatchString(name) {
		errs = append(errs, plugin.FieldError{Field: field, Message: fmt.Sprintf("%s name %q must be %s", f.Noun, name, f.NameRule)})
	}
	if qualified && !f.Qualifier.MatchString(qualifier) {
		errs = append(errs, plugin.FieldError{Field: field, Message: fmt.Sprintf("%s qualifier %q must be %s", f.Noun, qualifier, f.QualifierRule)})
	}
	return errs
}

// Invoker calls one resource with a batch array.
type Invoker interface {
	// Invoke sends payload and, when wait, waits for the resource and returns its response; otherwise
	// it returns once the service has taken the event (Lambda's Event invocation, StartExecution).
	// The resource's own failure is a *ResourceError; the call's errors are classified (Classify).
	Invoke(ctx context.Context, payload []byte, wait bool) ([]byte, error)
}

// ResourceError is an invoked resource's own failure: the call went through and the function raised
// an error, or the execution ended other than SUCCEEDED. It is retried like any failure (Pipes retries a
// Kafka batch whatever failed) and, past the pipe's retry policy, dead-lettered.
type ResourceError struct {
	// Resource is the function or execution ARN.
	Resource string
	// Status is Lambda's X-Amz-Function-Error ("Unhandled", "Handled") or the execution's status
	// ("FAILED", "TIMED_OUT").
	Status string
	// Code and Message are the function's errorType and errorMessage, or the execution's error and
	// cause, the message at most maxResourceMessage bytes.
	Code, Message string
}

// maxResourceMessage bounds the message kept in a ResourceError (logs, dead letters).
const maxResourceMessage = 512

// NewResourceError returns the failure of resource with status, code and message (truncated).
func NewResourceError(resource, status, code, message string) *ResourceError {
	if len(message) > maxResourceMessage {
		message = message[:maxResourceMessage] + "..."
	}
	return &ResourceError{Resource: resource, Status: status, Code: code, Message: message}
}

func (e *ResourceError) Error() string {
	parts := []string{e.Resource + " failed (" + e.Status + ")"}
	for _, s := range []string{e.Code, e.Message} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

// AddTo adds the target and the enrichment of s to r (plugin.Default from the plugin's init).
func (s InvokeSpec) AddTo(r *plugin.Registry) {
	t, e := s.Specs()
	r.AddTarget(t)
	r.AddEnricher(e)
}

// Specs returns the target and enrichment registry entries of s: no batch limit of their own (the
// pipe's BatchSize decides, as in Pipes).
func (s InvokeSpec) Specs() (plugin.TargetSpec, plugin.EnricherSpec) {
	return plugin.TargetSpec{
			Kinds:           []string{s.Service},
			Members:         []string{s.Member},
			Validate:        func(c plugin.Check) []plugin.FieldError { _, _, errs := s.target(c); return errs },
			MaxPayloadBytes: s.MaxPayloadBytes,
			New:             s.newTarget,
		}, plugin.EnricherSpec{
			Kinds:           []string{s.Service},
			Validate:        func(c plugin.Check) []plugin.FieldError { _, errs := s.resource("Enrichment", c.Endpoint); return errs },
			MaxPayloadBytes: s.MaxPayloadBytes,
			New:             s.newEnricher,
		}
}

// resource checks the ARN in field.
func (s InvokeSpec) resource(field, endpoint string) (ARN, []plugin.FieldError) {
	a, errs := CheckARN(field, endpoint, s.Service)
	if a.Resource == "" {
		return a, errs
	}
	return a, append(errs, s.Resource.check(field, a)...)
}

// target checks the Target ARN and the member, returning whether the target waits.
func (s InvokeSpec) target(c plugin.Check) (ARN, bool, []plugin.FieldError) {
	a, errs := s.resource("Target", c.Endpoint)
	typ, perrs := InvocationType(c, "TargetParameters", s.Member)
	return a, typ == RequestResponse, append(errs, perrs...)
}

func (s InvokeSpec) newTarget(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
	a, wait, errs := s.target(c)
	if len(errs) > 0 {
		return nil, plugin.Permanent(FieldErrorsError(errs))
	}
	in, err := s.invoker(ctx, env, a, wait, false)
	if err != nil {
		return nil, fmt.Errorf("building the target %s of pipe %s: %w", c.Endpoint, env.PipeName, err)
	}
	return &invokeTarget{in: in, wait: wait, limit: s.callLimit(wait)}, nil
}

func (s InvokeSpec) newEnricher(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Enricher, error) {
	a, errs := s.resource("Enrichment", c.Endpoint)
	if len(errs) > 0 {
		return nil, plugin.Permanent(FieldErrorsError(errs))
	}
	in, err := s.invoker(ctx, env, a, true, true)
	if err != nil {
		return nil, fmt.Errorf("building the enrichment %s of pipe %s: %w", c.Endpoint, env.PipeName, err)
	}
	return &invokeEnricher{in: in, resource: c.Endpoint, limit: s.callLimit(true), split: s.Split}, nil
}

// callLimit is the most one call carries, its whole array as well as each event: MaxPayloadBytes, or
// AsyncPayloadBytes for a call that does not wait, within plugin.MaxPayloadBytes.
func (s InvokeSpec) callLimit(wait bool) int {
	limit := s.MaxPayloadBytes
	if !wait && s.AsyncPayloadBytes > 0 {
		limit = s.AsyncPayloadBytes
	}
	if limit <= 0 || limit > plugin.MaxPayloadBytes {
		limit = plugin.MaxPayloadBytes
	}
	return limit
}

// invoker builds the caller of a with the pipe's AWS configuration in a's region.
func (s InvokeSpec) invoker(ctx context.Context, env plugin.Env, a ARN, wait, enrichment bool) (Invoker, error) {
	if env.AWS == nil {
		return nil, plugin.Permanent(errors.New("this host has no AWS support configured"))
	}
	cfg, err := env.AWS(ctx, a.Region)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration for region %s: %w", a.Region, err)
	}
	return s.New(ctx, cfg, a, wait, enrichment)
}

// invokeTarget delivers each batch with one call.
type invokeTarget struct {
	in    Invoker
	wait  bool
	limit int // the most one call carries
}

var (
	_ plugin.Target         = (*invokeTarget)(nil)
	_ plugin.PayloadLimiter = (*invokeTarget)(nil)
)

// Deliver sends b.Payloads as one JSON array; the response is not used.
func (t *invokeTarget) Deliver(ctx context.Context, b plugin.Batch) error {
	if len(b.Payloads) == 0 {
		return nil
	}
	payload, err := batchArray(b, t.limit)
	if err != nil {
		return err
	}
	_, err = t.in.Invoke(ctx, payload, t.wait)
	return err
}

// MaxPayloadBytes is the instance's limit: lower under FIRE_AND_FORGET for Lambda.
func (t *invokeTarget) MaxPayloadBytes() int { return t.limit }

// invokeEnricher calls the resource synchronously with each batch and returns its response as events.
type invokeEnricher struct {
	in       Invoker
	resource string
	limit    int
	split    func([]byte) []json.RawMessage
}

var _ plugin.Enricher = (*invokeEnricher)(nil)

// Enrich sends b.Payloads as one JSON array and splits the response into events (InvokeSpec.Split:
// an array gives its elements; "", {} and [] nothing, which skips the target; any other value one
// event). A response over 6 MB fails permanently: the same batch would get the same response.
func (e *invokeEnricher) Enrich(ctx context.Context, b plugin.Batch) ([]json.RawMessage, error) {
	if len(b.Payloads) == 0 {
		return nil, nil
	}
	payload, err := batchArray(b, e.limit)
	if err != nil {
		return nil, err
	}
	resp, err := e.in.Invoke(ctx, payload, true)
	if err != nil {
		return nil, err
	}
	if len(resp) > plugin.MaxPayloadBytes {
		return nil, plugin.Permanent(fmt.Errorf("enrichment %s: the response is %d bytes, over the %d bytes Pipes accepts",
			e.resource, len(resp), plugin.MaxPayloadBytes))
	}
	return e.split(resp), nil
}

// batchArray is JSONArray of b, refused permanently over limit: no retry makes the batch smaller,
// while bisection (with a dead-letter destination) delivers its halves.
func batchArray(b plugin.Batch, limit int) ([]byte, error) {
	payload := JSONArray(b.Payloads, b.OwnJSON)
	if len(payload) > limit {
		return nil, plugin.Permanent(fmt.Errorf("the batch of %d events is %d bytes as one JSON array, over the %d bytes of one call",
			len(b.Payloads), len(payload), limit))
	}
	return payload, nil
}

// CheckARN parses value, the ARN in field ("Target", "Enrichment"), as one of service's resources in a
// named region and account (the form of every invoked resource: a function, a state machine). It
// returns the parsed ARN and every problem found, each naming field; the resource part is left to the
// caller.
func CheckARN(field, value, service string) (ARN, []plugin.FieldError) {
	a, err := ParseARN(value)
	if err != nil {
		return ARN{}, []plugin.FieldError{{Field: field, Message: err.Error()}}
	}
	var errs []plugin.FieldError
	if a.Service != service {
		errs = append(errs, plugin.FieldError{Field: field, Message: fmt.Sprintf("ARN service %q is not %q", a.Service, service)})
	}
	if a.Region == "" {
		errs = append(errs, plugin.FieldError{Field: field, Message: "ARN region is missing: the " + service + " call is made in it"})
	}
	if a.Account == "" {
		errs = append(errs, plugin.FieldError{Field: field, Message: "ARN account is missing"})
	}
	return a, errs
}

// JSONArray encodes a batch as the one JSON array that Lambda functions and Step Functions state
// machines receive, as a target or an enrichment: the payloads in order, an array even for one event.
// A payload that is not JSON (an input template rendering plain text) is sent as a JSON string, so the
// array stays JSON. ownJSON (plugin.Batch.OwnJSON) vouches that every payload is valid JSON already,
// which skips the check.
func JSONArray(payloads []json.RawMessage, ownJSON bool) []byte {
	n := 2 + len(payloads)
	for _, p := range payloads {
		n += len(p)
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, p := range payloads {
		if i > 0 {
			out = append(out, ',')
		}
		if ownJSON || (len(p) > 0 && json.Valid(p)) {
			out = append(out, p...)
			continue
		}
		s, _ := json.Marshal(string(p)) // a string always encodes; invalid UTF-8 becomes U+FFFD
		out = append(out, s...)
	}
	return append(out, ']')
}

// InvocationType decodes the member of c.Params that holds only an InvocationType
// (LambdaFunctionParameters, StepFunctionStateMachineParameters), strictly: an unknown field, a value
// that is not a string or not one of the two types is a FieldError under params.member. Absent, the
// member or its InvocationType means RequestResponse, Pipes' default.
func InvocationType(c plugin.Check, params, member string) (string, []plugin.FieldError) {
	field := params + "." + member
	raw, err := c.Member(member)
	if err != nil {
		return RequestResponse, []plugin.FieldError{{Field: params, Message: err.Error()}}
	}
	if raw == nil {
		return RequestResponse, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return RequestResponse, []plugin.FieldError{{Field: field, Message: "must be an object with InvocationType"}}
	}
	var errs []plugin.FieldError
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "InvocationType" {
			errs = append(errs, plugin.FieldError{Field: field + "." + k, Message: "unknown field; " + member + " has only InvocationType"})
		}
	}
	typ := RequestResponse
	if v, ok := m["InvocationType"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &typ); err != nil {
			typ = ""
		}
		if typ != RequestResponse && typ != FireAndForget {
			errs = append(errs, plugin.FieldError{Field: field + ".InvocationType",
				Message: fmt.Sprintf("must be %s or %s, not %s", RequestResponse, FireAndForget, v)})
			typ = RequestResponse
		}
	}
	return typ, errs
}

// FieldErrorsError joins problems Validate would report into one error, for a constructor given a
// definition that was not validated: "Target: ...; TargetParameters.X: ...".
func FieldErrorsError(errs []plugin.FieldError) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Field + ": " + e.Message
	}
	return errors.New("invalid definition: " + strings.Join(msgs, "; "))
}
