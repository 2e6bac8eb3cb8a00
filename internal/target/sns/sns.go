// Package sns is the Amazon SNS topic target: every event is published as one message with PublishBatch,
// at most ten to a call, in order.
//
// Target: the topic's ARN, `arn:aws:sns:REGION:ACCOUNT:NAME`. FIFO topics (NAME ending in `.fifo`) are
// refused, as Pipes refuses them. SNS has no target parameters in Pipes.
//
// The message is the payload (the event after the input template, as text), at most 256 KiB, and one
// call carries at most 256 KiB in all. Entries SNS refuses (PublishBatch's Failed list) are reported to
// the runtime as a partial failure; it retries from the first refused one.
package sns

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Kind is the ARN service this target registers under.
const Kind = "sns"

const (
	maxBatch = 10      // PublishBatch's entry limit
	maxBytes = 1 << 18 // SNS's message and PublishBatch request limit (256 KiB)
)

func init() { plugin.Default.AddTarget(Spec) }

// Spec is the target's registry entry.
var Spec = awsclient.BatchTarget[string]{
	What: "SNS target", Kind: Kind, MaxBatch: maxBatch, MaxPayloadBytes: maxBytes,
	Parse: parse,
	Build: func(topic string, ac aws.Config) plugin.Target {
		return &Target{topic: topic, client: sns.NewFromConfig(ac)}
	},
}.Spec()

// parse checks a pipe's Target: the topic ARN, its region and what is wrong with it.
func parse(c plugin.Check) (string, string, []plugin.FieldError) {
	arn, _, errs := awsclient.TargetName(c.Endpoint, Kind, "", topicName)
	return c.Endpoint, arn.Region, errs
}

// topicName checks a topic name as SNS does (1 to 256 letters, digits, '-' and '_') and refuses FIFO
// topics, which Pipes does not support as targets.
func topicName(name string) string {
	if strings.HasSuffix(name, ".fifo") {
		return "SNS FIFO topics are not supported as pipe targets"
	}
	return topicChars(name)
}

var topicChars = awsclient.NameRule("topic name", 256, "-_", "")

// Target publishes events to one topic. It is safe for concurrent use.
type Target struct {
	topic  string
	client *sns.Client
}

var _ plugin.Target = (*Target)(nil)

// Deliver publishes the batch's events, in order.
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	entries := make([]types.PublishBatchRequestEntry, len(b.Payloads))
	return awsclient.SendEntries(ctx, awsclient.Entries{
		Op:       "PublishBatch",
		N:        len(b.Payloads),
		MaxCount: maxBatch,
		MaxBytes: maxBytes,
		Prepare: func(i int) (int, error) {
			entries[i] = types.PublishBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), Message: aws.String(string(b.Payloads[i]))}
			if len(b.Payloads[i]) == 0 {
				return 0, plugin.Permanent(errors.New("the message is empty, and SNS refuses empty messages"))
			}
			return len(b.Payloads[i]), nil
		},
		Send: func(ctx context.Context, lo, hi int) ([]awsclient.EntryFailure, error) {
			out, err := t.client.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: &t.topic, PublishBatchRequestEntries: entries[lo:hi]})
			if err != nil {
				return nil, fmt.Errorf("publishing to %s: %w", t.topic, err)
			}
			return awsclient.IDFailures("PublishBatch", lo, hi, out.Failed, func(f types.BatchResultErrorEntry) (*string, *string, *string, bool) {
				return f.Id, f.Code, f.Message, f.SenderFault
			})
		},
	})
}
