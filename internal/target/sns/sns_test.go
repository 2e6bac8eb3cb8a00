package sns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		target string
		want   string // the Target message, "" for none
	}{
		{"arn:aws:sns:us-east-1:123456789012:orders", ""},
		{"arn:aws:sns:us-east-1:123456789012:orders.fifo", "SNS FIFO topics are not supported as pipe targets"},
		{"arn:aws:sns:us-east-1:123456789012:a:b", `topic name "a:b" is not 1 to 256 letters, digits and -_`},
		{"arn:aws:sqs:us-east-1:123456789012:orders", `is an ARN of service "sqs", not "sns"`},
		{"arn:aws:sns:us-east-1::orders", "must name the account (12 digits)"},
	}
	for _, tc := range tests {
		var want []plugin.FieldError
		if tc.want != "" {
			want = []plugin.FieldError{{Field: "Target", Message: tc.want}}
		}
		if diff := cmp.Diff(want, Spec.Validate(plugin.Check{Endpoint: tc.target})); diff != "" {
			t.Errorf("Validate(%s) (-want +got):\n%s", tc.target, diff)
		}
	}
}

// topicToQueue creates a topic in moto subscribed by a new queue with raw message delivery, so that a
// message published on the topic arrives in the queue as it was published.
func topicToQueue(t *testing.T) (topicArn string, q *awstest.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := sns.NewFromConfig(awstest.Config(t, ""))
	topic, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(awstest.Name(t, 200))})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	q = awstest.NewQueue(t, "", nil)
	if _, err := client.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: &q.ARN,
		Attributes: map[string]string{"RawMessageDelivery": "true"},
	}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return aws.ToString(topic.TopicArn), q
}

// TestEndToEnd: records on the real broker go through a pipe to an SNS topic in moto, and are read back
// from the SQS queue subscribed to it: payloads (Sluice's Kafka event, then an input template), batches of
// 25 published in PublishBatch calls of 10, 10 and 5.
func TestEndToEnd(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	topicArn, q := topicToQueue(t)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	recs := make([]*kgo.Record, 25)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"id":%d}`, i)}
	}
	c.Produce(t, recs...)
	def := awstest.KafkaPipe(t, c, topic, 25, nil, nil)
	def["Target"] = topicArn
	def["TargetParameters"] = map[string]any{"InputTemplate": `order <$.value.id>`}
	awstest.RunDefinition(t, def, p.URL)

	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf("order %d", i))
	}
	got := awstest.Bodies(q.Receive(t, 25, time.Minute))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	var sizes []int
	for _, call := range p.Calls("PublishBatch") {
		sizes = append(sizes, strings.Count(string(call.Body), ".Message="))
	}
	if diff := cmp.Diff([]int{10, 10, 5}, sizes); diff != "" {
		t.Errorf("entries per PublishBatch call (-want +got):\n%s", diff)
	}
}

// TestDeliverFailedEntries: entries PublishBatch reports in Failed (the fault proxy's, as moto refuses
// none of ours) give a PartialError from the first, classified by code; a throttled call is throttled.
func TestDeliverFailedEntries(t *testing.T) {
	topicArn, q := topicToQueue(t)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	tg := awstest.NewTarget(t, p.URL, "sns-test", topicArn, "")
	b := awstest.Batch(`{"n":0}`, `{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	p.Add(awstest.Rule{Op: "PublishBatch", Times: 1, Handle: awstest.FailEntries(2, "InternalError", false)})
	err := tg.Deliver(ctx, b)
	var pe *plugin.PartialError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{2, 3, 4}) || plugin.IsPermanent(err) {
		t.Fatalf("Deliver = %v, want a retryable PartialError failing [2 3 4]", err)
	}
	if diff := cmp.Diff([]string{`{"n":0}`, `{"n":1}`}, awstest.Bodies(q.Receive(t, 2, 10*time.Second))); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}

	p.Add(awstest.Rule{Op: "PublishBatch", Times: 1, Handle: awstest.FailEntries(0, "InvalidParameter", true)})
	if err := tg.Deliver(ctx, b); !plugin.IsPermanent(err) || errors.As(err, &pe) {
		t.Errorf("Deliver with every entry refused as InvalidParameter = %v, want a permanent error of the batch", err)
	}
	p.Fail("PublishBatch", 1, awstest.Throttle("Throttling"))
	var throttled *plugin.ThrottledError
	if err := tg.Deliver(ctx, b); !errors.As(err, &throttled) {
		t.Errorf("Deliver through a throttling topic = %v, want a ThrottledError", err)
	}
}

// TestEndToEndPartialFailure: PublishBatch refuses the last entries of the first call (InternalError,
// injected by the fault proxy); the runtime resumes at the first refused entry, every record reaches the
// subscribed queue once, in order, and the execution is reported ExecutionPartiallyFailed.
func TestEndToEndPartialFailure(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	topicArn, q := topicToQueue(t)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	p.Add(awstest.Rule{Op: "PublishBatch", Times: 1, Handle: awstest.FailEntries(6, "InternalError", false)})
	var want []string
	recs := make([]*kgo.Record, 15)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"id":%d}`, i)}
		want = append(want, fmt.Sprintf("order %d", i))
	}
	c.Produce(t, recs...)
	def := awstest.KafkaPipe(t, c, topic, 15, nil, nil)
	def["Target"] = topicArn
	def["TargetParameters"] = map[string]any{"InputTemplate": `order <$.value.id>`}
	r := awstest.RunDefinition(t, def, p.URL)

	if diff := cmp.Diff(want, awstest.Bodies(q.Receive(t, 15, time.Minute))); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if n := r.Counter(t, "sluice_pipe_executions_partially_failed_total"); n != 1 {
		t.Errorf("sluice_pipe_executions_partially_failed_total = %v, want 1", n)
	}
}
