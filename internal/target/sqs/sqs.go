// Package sqs is the Amazon SQS queue target: every event becomes one message, sent with
// SendMessageBatch, at most ten to a call, in order.
//
// Target: the queue's ARN, `arn:aws:sqs:REGION:ACCOUNT:NAME` (NAME ending in `.fifo` for a FIFO
// queue). The queue URL is derived from it (no GetQueueUrl call, so the pipe's role needs only
// sqs:SendMessage).
//
// Target parameters, as in Pipes:
//
//	"SqsQueueParameters": {
//	  "MessageGroupId": "orders" | "$.value.customerId",         // FIFO queues (required there)
//	  "MessageDeduplicationId": "$.value.orderId"               // FIFO queues without content-based deduplication
//	}
//
// Either may be a JSON path, read from the event before the target input template; a string result is
// used as it is, a number or boolean as its JSON text. A path that finds nothing, or leads to null, an
// object or an array, fails that message permanently (the messages before it are still sent).
//
// The message body is the payload: the event after the input template, as text. A message is limited
// to 1 MiB, SQS's maximum message size (a queue may set a lower MaximumMessageSize: SQS then refuses the
// message, and the target reports that message's failure after delivering the ones before it), and one
// call to 1 MiB in all. SQS refuses characters outside #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD and
// #x10000-#x10FFFF; such a message fails permanently.
//
// Failed entries of a batch (SendMessageBatch's Failed list) are reported to the runtime as a partial
// failure: it retries from the first failed message, sending again the ones after it, so a FIFO
// group keeps its order (a MessageDeduplicationId, or content-based deduplication, removes the
// duplicates within SQS's five-minute deduplication interval).
package sqs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/fieldcheck"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Kind is the ARN service this target registers under.
const Kind = "sqs"

// Member is the TargetParameters member this target owns.
const Member = "SqsQueueParameters"

const (
	maxBatch = 10      // SendMessageBatch's entry limit
	maxBytes = 1 << 20 // SQS's maximum message size and batch size (1 MiB)
	maxParam = 100     // Pipes' limit on MessageGroupId and MessageDeduplicationId as written
)

func init() { plugin.Default.AddTarget(Spec) }

// Spec is the target's registry entry.
var Spec = awsclient.BatchTarget[config]{
	What: "SQS target", Kind: Kind, Member: Member, MaxBatch: maxBatch, MaxPayloadBytes: maxBytes,
	Parse: parse,
	Build: func(cfg config, ac aws.Config) plugin.Target {
		domain := "amazonaws.com"
		if cfg.arn.Partition == "aws-cn" {
			domain = "amazonaws.com.cn"
		}
		cfg.queueURL = "https://sqs." + ac.Region + "." + domain + "/" + cfg.arn.Account + "/" + cfg.name
		return &Target{cfg: cfg, client: sqs.NewFromConfig(ac)}
	},
}.Spec()

// Parameters is TargetParameters.SqsQueueParameters.
type Parameters struct {
	MessageGroupId         *string `json:"MessageGroupId,omitempty"`
	MessageDeduplicationId *string `json:"MessageDeduplicationId,omitempty"`
}

// config is a checked pipe's view of the queue.
type config struct {
	arn      awsclient.ARN
	name     string // the queue's
	queueURL string // set by Build, in the region the calls go to
	fifo     bool
	group    awsclient.Param
	dedup    awsclient.Param
}

// parse checks a pipe: its configuration, the region of its calls and every problem.
func parse(c plugin.Check) (config, string, []plugin.FieldError) {
	var cfg config
	var p Parameters
	arn, name, errs := awsclient.TargetName(c.Endpoint, Kind, "", queueName)
	_, perrs := fieldcheck.Decode(c.Params, "TargetParameters", Member, &p)
	errs = append(errs, perrs...)
	cfg.arn, cfg.name = arn, name
	cfg.fifo = strings.HasSuffix(name, ".fifo")
	field := "TargetParameters." + Member + "."
	param := func(name string, v *string) awsclient.Param {
		if v == nil {
			return awsclient.Param{}
		}
		if lerrs := fieldcheck.Length(field+name, *v, 0, maxParam); lerrs != nil {
			errs = append(errs, lerrs...)
			return awsclient.Param{}
		}
		prm, perrs := awsclient.ParseParam(field+name, *v)
		errs = append(errs, perrs...)
		return prm
	}
	cfg.group = param("MessageGroupId", p.MessageGroupId)
	cfg.dedup = param("MessageDeduplicationId", p.MessageDeduplicationId)
	if c.DeadLetter && cfg.fifo {
		errs = append(errs, plugin.Errorf("Target", "%s is a FIFO queue, which needs a MessageGroupId that a dead-letter destination (no parameters) cannot give", c.Endpoint))
		return cfg, arn.Region, errs
	}
	if name != "" {
		switch {
		case cfg.fifo && (p.MessageGroupId == nil || *p.MessageGroupId == ""):
			errs = append(errs, plugin.Errorf(field+"MessageGroupId", "is required for the FIFO queue %s", name))
		case !cfg.fifo && p.MessageDeduplicationId != nil:
			errs = append(errs, plugin.Errorf(field+"MessageDeduplicationId", "applies only to FIFO queues (names ending in .fifo), not to %s", name))
		}
	}
	return cfg, cfg.arn.Region, errs
}

// queueName checks a queue name as SQS does: 1 to 80 letters, digits, '-' and '_', the .fifo suffix
// included.
var queueName = awsclient.NameRule("queue name", 80, "-_", ".fifo")

// Target sends events to one queue. It is safe for concurrent use.
type Target struct {
	cfg    config
	client *sqs.Client
}

var _ plugin.Target = (*Target)(nil)

// Deliver sends the batch's events as messages, in order.
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	entries := make([]types.SendMessageBatchRequestEntry, len(b.Payloads))
	return awsclient.SendEntries(ctx, awsclient.Entries{
		Op:       "SendMessageBatch",
		N:        len(b.Payloads),
		MaxCount: maxBatch,
		MaxBytes: maxBytes,
		Prepare: func(i int) (int, error) {
			e, err := t.entry(i, b)
			entries[i] = e
			return len(b.Payloads[i]), err
		},
		Send: func(ctx context.Context, lo, hi int) ([]awsclient.EntryFailure, error) {
			out, err := t.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &t.cfg.queueURL, Entries: entries[lo:hi]})
			if err != nil {
				return nil, fmt.Errorf("sending to %s: %w", t.cfg.name, err)
			}
			return awsclient.IDFailures("SendMessageBatch", lo, hi, out.Failed, func(f types.BatchResultErrorEntry) (*string, *string, *string, bool) {
				return f.Id, f.Code, f.Message, f.SenderFault
			})
		},
	})
}

// entry builds the message of event i.
func (t *Target) entry(i int, b plugin.Batch) (types.SendMessageBatchRequestEntry, error) {
	body := b.Payloads[i]
	e := types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
	if at, r := refused(body); at >= 0 {
		return e, plugin.Permanent(fmt.Errorf("the message body holds %U at byte %d, a character SQS refuses", r, at))
	}
	var input []byte
	if i < len(b.Inputs) {
		input = b.Inputs[i]
	}
	var err error
	if e.MessageGroupId, err = value(t.cfg.group, input); err != nil {
		return e, err
	}
	e.MessageDeduplicationId, err = value(t.cfg.dedup, input)
	return e, err
}

// value is a parameter's value for one event, nil when the pipe gives none.
func value(p awsclient.Param, input []byte) (*string, error) {
	if p.IsZero() {
		return nil, nil
	}
	v, err := p.Value(input)
	return &v, err
}

// refused returns the byte offset and character of the first character SQS does not accept in a
// message, or -1.
func refused(body []byte) (int, rune) {
	for at := 0; at < len(body); {
		r, n := utf8.DecodeRune(body[at:])
		ok := r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000
		if !ok || (r == utf8.RuneError && n == 1) {
			return at, r
		}
		at += n
	}
	return -1, 0
}
