// Package eventbus is the Amazon EventBridge event bus target: every event is put on the bus with
// PutEvents, at most ten to a call, in order; the payload becomes the event's detail.
//
// Target: the bus's ARN, `arn:aws:events:REGION:ACCOUNT:event-bus/NAME` (`default` for the default bus).
//
// Target parameters, as in Pipes:
//
//	"EventBridgeEventBusParameters": {
//	  "Source": "com.example.orders" | "$.value.source",   // 1..256, not starting with "aws."
//	  "DetailType": "OrderPlaced" | "$.value.type",        // 1..128
//	  "Resources": ["arn:...", "$.value.arn"],              // 0..10 ARNs or JSON paths
//	  "Time": "$.value.at",                                // a JSON path only
//	  "EndpointId": "abcde.veo"                             // a global endpoint; static only
//	}
//
// Source, DetailType and Resources items may be JSON paths, read from the event before the target input
// template (a path to an array of strings in Resources gives each of them; one that finds nothing gives
// none). A Source or DetailType path that finds nothing, or leads to null, an object or an array, fails
// that event permanently. Time is a JSON path whose value is an RFC 3339 string or a number of
// milliseconds since the epoch (as the Kafka record's timestamp); one that finds nothing usable leaves
// Time to the PutEvents call, as Pipes documents.
//
// Defaults: Pipes documents none (pipes-spec §7.2, UNCONFIRMED). Sluice uses what events Pipes puts on a
// bus are seen to carry: Source "Pipe NAME" (the pipe's name) and DetailType "Event from
// SelfManagedKafka" ("Event from " and the source's eventSource).
//
// Detail: the payload when it is a JSON object. EventBridge accepts only an object as detail, and Pipes
// does not document what it does with another payload (UNCONFIRMED); so that nothing is lost, any other
// payload (a string, number or array that an input template or an enrichment produced, or text
// that is not JSON) is wrapped as {"payload": VALUE}, VALUE being the JSON value, or the text as a JSON
// string. One entry is limited to 1 MiB (EventBridge's event size, which counts Source, DetailType,
// Detail, Resources and 14 bytes for Time), and one call to 1 MiB in all.
//
// Entries PutEvents refuses are reported to the runtime as a partial failure, retried from the first
// one; InvalidArgument, MalformedDetail and NotAuthorizedFor* refusals are not retried.
package eventbus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/fieldcheck"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/transform"
)

// Kind is the ARN service this target registers under. API destinations are events ARNs too: their
// package registers the finer "events:api-destination", which the registry prefers for those ARNs.
const Kind = "events"

// Member is the TargetParameters member this target owns.
const Member = "EventBridgeEventBusParameters"

const (
	maxBatch     = 10      // PutEvents' entry limit
	maxBytes     = 1 << 20 // EventBridge's event and PutEvents request size (1 MiB)
	timeBytes    = 14      // what a Time counts toward an entry's size
	maxResources = 10
	// DefaultDetailType is the DetailType of a pipe that gives none: "Event from " and the Kafka
	// source's eventSource.
	DefaultDetailType = "Event from SelfManagedKafka"
)

func init() { plugin.Default.AddTarget(Spec) }

// Spec is the target's registry entry.
var Spec = awsclient.BatchTarget[config]{
	What: "event bus target", Kind: Kind, Member: Member, MaxBatch: maxBatch, MaxPayloadBytes: maxBytes,
	Parse: parse,
	Build: func(cfg config, ac aws.Config) plugin.Target {
		return &Target{cfg: cfg, client: eventbridge.NewFromConfig(ac)}
	},
}.Spec()

// Parameters is TargetParameters.EventBridgeEventBusParameters.
type Parameters struct {
	EndpointId *string  `json:"EndpointId,omitempty"`
	DetailType *string  `json:"DetailType,omitempty"`
	Source     *string  `json:"Source,omitempty"`
	Resources  []string `json:"Resources,omitempty"`
	Time       *string  `json:"Time,omitempty"`
}

type config struct {
	arn        awsclient.ARN
	bus        string // the Target ARN
	source     awsclient.Param
	detailType awsclient.Param
	resources  []resource
	time       *transform.Path
	endpointID *string
}

// resource is a static ARN, or a JSON path when path is set.
type resource struct {
	arn  string
	path *transform.Path
}

// parse checks a pipe: its configuration, the region of its calls and every problem.
func parse(c plugin.Check) (config, string, []plugin.FieldError) {
	var cfg config
	var p Parameters
	arn, _, errs := awsclient.TargetName(c.Endpoint, Kind, "event-bus/", busName)
	_, perrs := fieldcheck.Decode(c.Params, "TargetParameters", Member, &p)
	errs = append(errs, perrs...)
	cfg.arn, cfg.bus = arn, c.Endpoint
	field := "TargetParameters." + Member + "."
	bad := func(name, format string, args ...any) {
		errs = append(errs, plugin.Errorf(field+name, format, args...))
	}
	length := func(name string, v *string, lo, hi int) bool {
		lerrs := fieldcheck.Length(field+name, *v, lo, hi)
		errs = append(errs, lerrs...)
		return lerrs == nil
	}
	param := func(name string, v *string, hi int, def string) awsclient.Param {
		if v == nil {
			prm, _ := awsclient.ParseParam(field+name, def)
			return prm
		}
		if !length(name, v, 1, hi) {
			return awsclient.Param{}
		}
		prm, perrs := awsclient.ParseParam(field+name, *v)
		errs = append(errs, perrs...)
		return prm
	}
	cfg.source = param("Source", p.Source, 256, "Pipe "+c.PipeName)
	if p.Source != nil && strings.HasPrefix(*p.Source, "aws.") {
		bad("Source", "must not start with \"aws.\", which AWS services keep for themselves")
	}
	cfg.detailType = param("DetailType", p.DetailType, 128, DefaultDetailType)
	if len(p.Resources) > maxResources {
		bad("Resources", "has %d items, more than %d", len(p.Resources), maxResources)
	}
	for i, r := range p.Resources {
		name := fmt.Sprintf("Resources[%d]", i)
		switch {
		case !length(name, &r, 1, 1600):
		case strings.HasPrefix(r, "$."):
			path, err := transform.ParsePath(r)
			if err != nil {
				bad(name, "is not a JSON path: %v", err)
				continue
			}
			cfg.resources = append(cfg.resources, resource{path: path})
		default:
			if _, err := awsclient.ParseARN(r); err != nil {
				bad(name, "%q is neither an ARN nor a JSON path: %v", r, err)
				continue
			}
			cfg.resources = append(cfg.resources, resource{arn: r})
		}
	}
	if p.Time != nil && length("Time", p.Time, 1, 256) {
		path, err := transform.ParsePath(*p.Time)
		if err != nil {
			bad("Time", "must be a JSON path such as $.value.time: %v", err)
		}
		cfg.time = path
	}
	if id := p.EndpointId; id != nil && length("EndpointId", id, 1, 50) {
		if a, b, ok := strings.Cut(*id, "."); !ok || endpointPart(a) != "" || endpointPart(b) != "" {
			bad("EndpointId", "%q is not an endpoint's URL subdomain such as abcde.veo (JSON paths are not allowed here)", *id)
		}
		cfg.endpointID = id
	}
	return cfg, cfg.arn.Region, errs
}

// busName checks an event bus name: 1 to 256 letters, digits and /.-_.
var busName = awsclient.NameRule("event bus name", 256, "/.-_", "")

// endpointPart checks each side of the "." of an EndpointId.
var endpointPart = awsclient.NameRule("endpoint", 50, "-", "")

// Target puts events on one bus. It is safe for concurrent use.
type Target struct {
	cfg    config
	client *eventbridge.Client
}

var _ plugin.Target = (*Target)(nil)

// Deliver puts the batch's events on the bus, in order.
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	entries := make([]types.PutEventsRequestEntry, len(b.Payloads))
	return awsclient.SendEntries(ctx, awsclient.Entries{
		Op:       "PutEvents",
		N:        len(b.Payloads),
		MaxCount: maxBatch,
		MaxBytes: maxBytes,
		Prepare: func(i int) (int, error) {
			var input []byte
			if i < len(b.Inputs) {
				input = b.Inputs[i]
			}
			e, size, err := t.entry(b.Payloads[i], input)
			entries[i] = e
			return size, err
		},
		Send: func(ctx context.Context, lo, hi int) ([]awsclient.EntryFailure, error) {
			out, err := t.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries[lo:hi], EndpointId: t.cfg.endpointID})
			if err != nil {
				return nil, fmt.Errorf("putting events on %s: %w", t.cfg.bus, err)
			}
			if len(out.Entries) != hi-lo {
				return nil, fmt.Errorf("putting events on %s: PutEvents answered %d entries for %d events", t.cfg.bus, len(out.Entries), hi-lo)
			}
			var failed []awsclient.EntryFailure
			for k, r := range out.Entries {
				if code := aws.ToString(r.ErrorCode); code != "" {
					client := code == "InvalidArgument" || code == "MalformedDetail" || strings.HasPrefix(code, "NotAuthorized")
					failed = append(failed, awsclient.EntryFailure{Index: lo + k, Code: code, Message: aws.ToString(r.ErrorMessage), Sender: client})
				}
			}
			return failed, nil
		},
	})
}

// entry builds the PutEvents entry of one event and its size as EventBridge counts it.
func (t *Target) entry(payload, input []byte) (types.PutEventsRequestEntry, int, error) {
	e := types.PutEventsRequestEntry{EventBusName: &t.cfg.bus, Detail: aws.String(Detail(payload))}
	size := len(*e.Detail)
	source, err := t.cfg.source.Value(input)
	if err != nil {
		return e, 0, err
	}
	detailType, err := t.cfg.detailType.Value(input)
	if err != nil {
		return e, 0, err
	}
	e.Source, e.DetailType = &source, &detailType
	size += len(source) + len(detailType)
	for _, r := range t.cfg.resources {
		if r.path == nil {
			e.Resources, size = append(e.Resources, r.arn), size+len(r.arn)
			continue
		}
		v, found, err := r.path.Lookup(input)
		if err != nil {
			return e, 0, fmt.Errorf("reading Resources path %s: %w", r.path, err)
		}
		if !found {
			continue
		}
		for _, arn := range resourceARNs(v) {
			e.Resources, size = append(e.Resources, arn), size+len(arn)
		}
	}
	if t.cfg.time != nil {
		if v, found, err := t.cfg.time.Lookup(input); err == nil && found {
			if at, ok := awsclient.EventTime(v); ok {
				e.Time, size = &at, size+timeBytes
			}
		}
	}
	return e, size, nil
}

// resourceARNs returns the resources a path's value names: a string, each string of an array, or the JSON
// text of anything else.
func resourceARNs(v json.RawMessage) []string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return []string{s}
	}
	var list []json.RawMessage
	if json.Unmarshal(v, &list) == nil {
		var out []string
		for _, item := range list {
			out = append(out, resourceARNs(item)...)
		}
		return out
	}
	return []string{string(v)}
}

// Detail is the detail of the event put for a payload: the payload when it is a JSON object, else
// {"payload": VALUE} with the payload's JSON value, or its text as a JSON string.
func Detail(payload []byte) string {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		return string(trimmed)
	}
	value := trimmed
	if !json.Valid(trimmed) {
		value, _ = json.Marshal(string(payload))
	}
	return `{"payload":` + string(value) + `}`
}
