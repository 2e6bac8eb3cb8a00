// Package cwlogs is the Amazon CloudWatch Logs target: every event becomes one log event of a log stream,
// written with PutLogEvents, in order.
//
// Target: the log group's ARN, `arn:aws:logs:REGION:ACCOUNT:log-group:NAME` (a trailing `:*`, as the
// console shows it, is accepted).
//
// Target parameters, as in Pipes:
//
//	"CloudWatchLogsParameters": {
//	  "LogStreamName": "orders",     // 1..256, static only; default: the pipe's name
//	  "Timestamp": "$.timestamp"     // a JSON path only
//	}
//
// The log stream is created when the target first delivers, unless it exists (the pipe's role needs
// logs:CreateLogStream besides logs:PutLogEvents). Timestamp is read from the event before the target
// input template: a number, or a string of digits, is milliseconds since the epoch (`$.timestamp` is the
// Kafka record's timestamp), another string RFC 3339; without one, or when it finds nothing usable, the
// log event takes the time of delivery.
//
// The message is the payload (the event after the input template, as text), at most 1 MiB less the 26
// bytes CloudWatch Logs counts for each event. A call carries at most 10,000 events and 1 MiB, in
// chronological order, spanning at most 24 hours: a batch whose timestamps go back in time is sent in
// several calls, in order. Log events CloudWatch Logs rejects as too old, expired or too new
// (rejectedLogEventsInfo) are reported to the runtime as a failure of those events that retrying cannot
// fix.
package cwlogs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/fieldcheck"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/transform"
)

// Kind is the ARN service this target registers under.
const Kind = "logs"

// Member is the TargetParameters member this target owns.
const Member = "CloudWatchLogsParameters"

const (
	maxBatch      = 10000   // PutLogEvents' event limit
	maxBytes      = 1 << 20 // PutLogEvents' request size: messages plus eventOverhead each
	eventOverhead = 26      // what CloudWatch Logs adds to each message's size
	maxSpan       = 24 * time.Hour
)

func init() { plugin.Default.AddTarget(Spec) }

// Spec is the target's registry entry.
var Spec = awsclient.BatchTarget[config]{
	What: "CloudWatch Logs target", Kind: Kind, Member: Member, MaxBatch: maxBatch, MaxPayloadBytes: maxBytes - eventOverhead,
	Parse: parse,
	Build: func(cfg config, ac aws.Config) plugin.Target {
		return &Target{cfg: cfg, client: cloudwatchlogs.NewFromConfig(ac), now: time.Now}
	},
}.Spec()

// Parameters is TargetParameters.CloudWatchLogsParameters.
type Parameters struct {
	LogStreamName *string `json:"LogStreamName,omitempty"`
	Timestamp     *string `json:"Timestamp,omitempty"`
}

type config struct {
	arn       awsclient.ARN
	group     string
	stream    string
	timestamp *transform.Path
}

// parse checks a pipe: its configuration, the region of its calls and every problem.
func parse(c plugin.Check) (config, string, []plugin.FieldError) {
	var cfg config
	var p Parameters
	arn, name, errs := awsclient.TargetName(c.Endpoint, Kind, "log-group:", groupName)
	_, perrs := fieldcheck.Decode(c.Params, "TargetParameters", Member, &p)
	errs = append(errs, perrs...)
	cfg.arn = arn
	cfg.group = strings.TrimSuffix(name, ":*")
	field := "TargetParameters." + Member + "."
	cfg.stream = c.PipeName
	if s := p.LogStreamName; s != nil {
		switch lerrs := fieldcheck.Length(field+"LogStreamName", *s, 1, 256); {
		case lerrs != nil:
			errs = append(errs, lerrs...)
		case strings.ContainsAny(*s, ":*"):
			errs = append(errs, plugin.Errorf(field+"LogStreamName", "%q holds ':' or '*', which log stream names cannot (and it cannot be a JSON path)", *s))
		}
		cfg.stream = *s
	}
	if ts := p.Timestamp; ts != nil {
		path, err := transform.ParsePath(*ts)
		if err != nil || utf8.RuneCountInString(*ts) > 256 {
			errs = append(errs, plugin.Errorf(field+"Timestamp", "%q is not a JSON path of at most 256 characters such as $.timestamp", *ts))
		}
		cfg.timestamp = path
	}
	return cfg, cfg.arn.Region, errs
}

// groupName checks a log group name ("NAME" or "NAME:*", as the console shows the ARN): 1 to 512
// letters, digits and .-_/#.
func groupName(name string) string { return groupChars(strings.TrimSuffix(name, ":*")) }

var groupChars = awsclient.NameRule("log group name", 512, ".-_/#", "")

// Target writes events to one log stream. It is safe for concurrent use.
type Target struct {
	cfg    config
	client *cloudwatchlogs.Client
	now    func() time.Time

	mu      sync.Mutex
	created bool // the log stream is known to exist
}

var _ plugin.Target = (*Target)(nil)

// Deliver writes the batch's events to the log stream, in order.
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	if err := t.ensureStream(ctx); err != nil {
		return err
	}
	now := t.now().UnixMilli()
	events := make([]types.InputLogEvent, len(b.Payloads))
	return awsclient.SendEntries(ctx, awsclient.Entries{
		Op:       "PutLogEvents",
		N:        len(b.Payloads),
		MaxCount: maxBatch,
		MaxBytes: maxBytes,
		Prepare: func(i int) (int, error) {
			at := now
			if t.cfg.timestamp != nil && i < len(b.Inputs) {
				if v, found, err := t.cfg.timestamp.Lookup(b.Inputs[i]); err == nil && found {
					if ts, ok := awsclient.EventTime(v); ok {
						at = ts.UnixMilli()
					}
				}
			}
			events[i] = types.InputLogEvent{Message: aws.String(string(b.Payloads[i])), Timestamp: aws.Int64(at)}
			if len(b.Payloads[i]) == 0 {
				return 0, plugin.Permanent(errors.New("the log message is empty, and CloudWatch Logs refuses empty messages"))
			}
			return len(b.Payloads[i]) + eventOverhead, nil
		},
		Cut: func(lo, i int) bool {
			ts := *events[i].Timestamp
			return ts < *events[i-1].Timestamp || time.Duration(ts-*events[lo].Timestamp)*time.Millisecond > maxSpan
		},
		Send: func(ctx context.Context, lo, hi int) ([]awsclient.EntryFailure, error) {
			out, err := t.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
				LogGroupName: &t.cfg.group, LogStreamName: &t.cfg.stream, LogEvents: events[lo:hi],
			})
			if err != nil {
				return nil, fmt.Errorf("writing to log stream %s of %s: %w", t.cfg.stream, t.cfg.group, err)
			}
			return rejected(out.RejectedLogEventsInfo, lo, hi), nil
		},
	})
}

// rejected lists the events of the call [lo, hi) that CloudWatch Logs rejected.
func rejected(info *types.RejectedLogEventsInfo, lo, hi int) []awsclient.EntryFailure {
	if info == nil {
		return nil
	}
	var out []awsclient.EntryFailure
	add := func(from, to int, code, why string) { // from, to: indexes in the call, inclusive
		for k := max(from, 0); k <= to && lo+k < hi; k++ {
			out = append(out, awsclient.EntryFailure{Index: lo + k, Code: code, Message: "the log event is " + why, Sender: true})
		}
	}
	if end := info.ExpiredLogEventEndIndex; end != nil {
		add(0, int(*end), "ExpiredLogEvent", "older than the log group's retention")
	}
	if end := info.TooOldLogEventEndIndex; end != nil {
		add(0, int(*end), "TooOldLogEvent", "older than CloudWatch Logs accepts (14 days, or the log group's creation)")
	}
	if start := info.TooNewLogEventStartIndex; start != nil {
		add(int(*start), hi-lo-1, "TooNewLogEvent", "more than 2 hours in the future")
	}
	return out
}

// ensureStream creates the log stream the first time, and accepts one that exists.
func (t *Target) ensureStream(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.created {
		return nil
	}
	_, err := t.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: &t.cfg.group, LogStreamName: &t.cfg.stream})
	var exists *types.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("creating log stream %s in %s: %w", t.cfg.stream, t.cfg.group, awsclient.Classify(err))
	}
	t.created = true
	return nil
}
