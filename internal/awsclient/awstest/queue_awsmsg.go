package awstest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// Queue is an SQS queue a test created in the emulator, to read back what a target delivered (directly,
// or through an SNS subscription or an EventBridge rule).
type Queue struct {
	URL, ARN string
	client   *sqs.Client
}

// Name returns a name unique to this run of the test (the emulator keeps what earlier runs created), of
// at most max letters, digits and '-'.
func Name(t testing.TB, max int) string {
	name := strings.Trim(kafkatest.TopicName(t), "-")
	if len(name) > max {
		name = name[len(name)-max:]
	}
	return strings.Trim(name, "-_")
}

// NewQueue creates a queue named after the test (name is appended; end it in ".fifo" for a FIFO queue)
// with the given attributes.
func NewQueue(t testing.TB, name string, attributes map[string]string) *Queue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := sqs.NewFromConfig(Config(t, ""))
	full := Name(t, 80-len(name)) + name
	if strings.HasSuffix(name, ".fifo") {
		if attributes == nil {
			attributes = map[string]string{}
		}
		attributes["FifoQueue"] = "true"
	}
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &full, Attributes: attributes})
	if err != nil {
		t.Fatalf("creating queue %s: %v", full, err)
	}
	return &Queue{URL: aws.ToString(out.QueueUrl), ARN: "arn:aws:sqs:" + Region + ":" + Account + ":" + full, client: client}
}

// Receive reads n messages (deleting them), in the order the queue hands them out, waiting up to
// timeout; it fails the test when fewer arrive, and when more than n are there.
func (q *Queue) Receive(t testing.TB, n int, timeout time.Duration) []types.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	var got []types.Message
	deadline := time.Now().Add(timeout)
	for len(got) < n && time.Now().Before(deadline) {
		got = append(got, q.receive(ctx, t, min(10, n-len(got)), 1)...)
	}
	if len(got) < n {
		t.Fatalf("queue %s: %d messages in %v, want %d", q.ARN, len(got), timeout, n)
	}
	if extra := q.receive(ctx, t, 10, 0); len(extra) > 0 {
		t.Errorf("queue %s: %d messages more than the %d expected, the first: %s", q.ARN, len(extra), n, aws.ToString(extra[0].Body))
	}
	return got
}

// ReceiveAtLeast reads at least n messages (deleting them), waiting up to timeout, then whatever else
// arrives until the queue stays empty for a second: for at-least-once deliveries that may repeat some.
func (q *Queue) ReceiveAtLeast(t testing.TB, n int, timeout time.Duration) []types.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	var got []types.Message
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		more := q.receive(ctx, t, 10, 1)
		got = append(got, more...)
		if len(more) == 0 && len(got) >= n {
			return got
		}
	}
	t.Fatalf("queue %s: %d messages in %v, want at least %d", q.ARN, len(got), timeout, n)
	return nil
}

func (q *Queue) receive(ctx context.Context, t testing.TB, max int, wait int32) []types.Message {
	t.Helper()
	out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: &q.URL, MaxNumberOfMessages: int32(max), WaitTimeSeconds: wait,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("receiving from %s: %v", q.ARN, err)
	}
	for _, m := range out.Messages {
		if _, err := q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &q.URL, ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatalf("deleting a message from %s: %v", q.ARN, err)
		}
	}
	return out.Messages
}

// Bodies returns the messages' bodies.
func Bodies(msgs []types.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = aws.ToString(m.Body)
	}
	return out
}

// Attribute returns a system attribute of a message ("MessageGroupId", "MessageDeduplicationId").
func Attribute(m types.Message, name string) string {
	return m.Attributes[name]
}

// String describes messages for failure output.
func String(msgs []types.Message) string {
	var b strings.Builder
	for i, m := range msgs {
		fmt.Fprintf(&b, "%d: %s %v\n", i, aws.ToString(m.Body), m.Attributes)
	}
	return b.String()
}
