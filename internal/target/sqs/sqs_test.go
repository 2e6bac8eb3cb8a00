package sqs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/plugin"
)

const queueARN = "arn:aws:sqs:us-east-1:123456789012:orders"

func TestValidate(t *testing.T) {
	const f = "TargetParameters.SqsQueueParameters."
	tests := []awstest.ValidateCase{
		{Name: "standard queue", Target: queueARN},
		{Name: "static group on a standard queue (fair queues)", Target: queueARN, Params: `{"SqsQueueParameters":{"MessageGroupId":"g"}}`},
		{Name: "FIFO with paths", Target: queueARN + ".fifo", Params: `{"SqsQueueParameters":{"MessageGroupId":"$.value.customer","MessageDeduplicationId":"$.value.id"}}`},
		{Name: "template is the runtime's", Target: queueARN, Params: `{"InputTemplate":"x"}`},
		{Name: "FIFO without group", Target: queueARN + ".fifo", Params: `{"SqsQueueParameters":{}}`, Want: []plugin.FieldError{
			{Field: f + "MessageGroupId", Message: "is required for the FIFO queue orders.fifo"}}},
		{Name: "dedup on a standard queue", Target: queueARN, Params: `{"SqsQueueParameters":{"MessageDeduplicationId":"x"}}`, Want: []plugin.FieldError{
			{Field: f + "MessageDeduplicationId", Message: "applies only to FIFO queues (names ending in .fifo), not to orders"}}},
		{Name: "too long and a bad path", Target: queueARN + ".fifo", Params: `{"SqsQueueParameters":{"MessageGroupId":"` + strings.Repeat("g", 101) + `","MessageDeduplicationId":"$.value[x]"}}`, Want: []plugin.FieldError{
			{Field: f + "MessageGroupId", Message: "must be 0..100 characters, is 101"},
			{Field: f + "MessageDeduplicationId", Message: "is not a valid JSON path"}}},
		{Name: "unknown member field", Target: queueARN, Params: `{"SqsQueueParameters":{"GroupId":"g"}}`, Want: []plugin.FieldError{
			{Field: f + "GroupId", Message: "unknown field"}}},
		{Name: "wrong type", Target: queueARN, Params: `{"SqsQueueParameters":{"MessageGroupId":7}}`, Want: []plugin.FieldError{
			{Field: f + "MessageGroupId", Message: "must be a string, not a number"}}},
		{Name: "no region: the default region", Target: "arn:aws:sqs::123456789012:orders"},
		{Name: "another service", Target: "arn:aws:sns:us-east-1:123456789012:orders", Want: []plugin.FieldError{
			{Field: "Target", Message: `is an ARN of service "sns", not "sqs"`}}},
		{Name: "no account", Target: "arn:aws:sqs:::orders", Want: []plugin.FieldError{
			{Field: "Target", Message: "must name the account (12 digits)"}}},
		{Name: "bad queue name", Target: "arn:aws:sqs:us-east-1:123456789012:a/b", Want: []plugin.FieldError{
			{Field: "Target", Message: `queue name "a/b" is not 1 to 80 letters, digits and -_ (then .fifo)`}}},
		{Name: "not an ARN", Target: "sqs://orders", Want: []plugin.FieldError{
			{Field: "Target", Message: `ARN "sqs://orders": prefix must be "arn:"`}}},
	}
	awstest.CheckValidate(t, Spec.Validate, tests)
}

// TestValidateDeadLetter: a standard queue can take a pipe's dead letters; a FIFO queue cannot, since a
// dead-letter destination has no parameters to give the MessageGroupId.
func TestValidateDeadLetter(t *testing.T) {
	if errs := Spec.Validate(plugin.Check{Endpoint: queueARN, DeadLetter: true}); errs != nil {
		t.Errorf("Validate(standard queue as dead-letter destination) = %v", errs)
	}
	want := []plugin.FieldError{{Field: "Target", Message: queueARN + ".fifo is a FIFO queue, which needs a MessageGroupId that a dead-letter destination (no parameters) cannot give"}}
	if diff := cmp.Diff(want, Spec.Validate(plugin.Check{Endpoint: queueARN + ".fifo", DeadLetter: true})); diff != "" {
		t.Errorf("Validate(FIFO queue as dead-letter destination) (-want +got):\n%s", diff)
	}
}

// deliver delivers one batch of payloads, whose inputs are the payloads themselves.
func deliver(t *testing.T, tg plugin.Target, payloads ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return tg.Deliver(ctx, awstest.Batch(payloads...))
}

func build(t *testing.T, endpoint, target, params string) plugin.Target {
	return awstest.NewTarget(t, endpoint, "sqs-test", target, params)
}

func payloads(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// TestDeliverFIFO sends a batch to a FIFO queue in moto, with the group and deduplication ids read from
// each event, and reads it back in order with its ids.
func TestDeliverFIFO(t *testing.T) {
	q := awstest.NewQueue(t, ".fifo", nil)
	tg := build(t, awstest.Endpoint(t), q.ARN, `{"SqsQueueParameters":{"MessageGroupId":"$.group","MessageDeduplicationId":"$.id"}}`)
	events := payloads(10, `{"id":"e%d","group":"g","n":1}`)
	if err := deliver(t, tg, events...); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := q.Receive(t, 10, 10*time.Second)
	if diff := cmp.Diff(events, awstest.Bodies(got)); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
	for i, m := range got {
		if g, d := awstest.Attribute(m, "MessageGroupId"), awstest.Attribute(m, "MessageDeduplicationId"); g != "g" || d != fmt.Sprintf("e%d", i) {
			t.Errorf("message %d: MessageGroupId %q, MessageDeduplicationId %q; want g and e%d", i, g, d, i)
		}
	}
}

// TestDeliverRefusedEntry provokes moto's own refusal: a message longer than the queue's
// MaximumMessageSize makes SendMessageBatch fail as a whole, and the target narrows it down to that
// message, delivering those before it and reporting a permanent partial failure from it.
func TestDeliverRefusedEntry(t *testing.T) {
	q := awstest.NewQueue(t, "", map[string]string{"MaximumMessageSize": "1024"})
	tg := build(t, awstest.Endpoint(t), q.ARN, ``)
	events := payloads(6, `{"n":%d}`)
	events[3] = `{"big":"` + strings.Repeat("x", 2000) + `"}`
	err := deliver(t, tg, events...)
	var pe *plugin.PartialError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{3, 4, 5}) || !plugin.IsPermanent(err) {
		t.Fatalf("Deliver = %v, want a permanent PartialError failing [3 4 5]", err)
	}
	t.Logf("Deliver: %v", err)
	if diff := cmp.Diff(events[:3], awstest.Bodies(q.Receive(t, 3, 10*time.Second))); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
}

// TestDeliverBadCharacter: a character SQS refuses fails its message permanently, before any call for it.
func TestDeliverBadCharacter(t *testing.T) {
	q := awstest.NewQueue(t, "", nil)
	tg := build(t, awstest.Endpoint(t), q.ARN, ``)
	err := deliver(t, tg, `"a"`, "\"b\x01\"", `"c"`)
	var pe *plugin.PartialError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{1, 2}) || !plugin.IsPermanent(err) || !strings.Contains(err.Error(), "U+0001 at byte 2") {
		t.Fatalf("Deliver = %v, want a permanent PartialError failing [1 2] naming U+0001", err)
	}
	if diff := cmp.Diff([]string{`"a"`}, awstest.Bodies(q.Receive(t, 1, 10*time.Second))); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
}

// TestDeliverMissingGroup: a MessageGroupId path that finds nothing fails that message permanently.
func TestDeliverMissingGroup(t *testing.T) {
	q := awstest.NewQueue(t, ".fifo", map[string]string{"ContentBasedDeduplication": "true"})
	tg := build(t, awstest.Endpoint(t), q.ARN, `{"SqsQueueParameters":{"MessageGroupId":"$.group"}}`)
	err := deliver(t, tg, `{"group":"a"}`, `{"nogroup":1}`)
	var pe *plugin.PartialError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{1}) || !plugin.IsPermanent(err) || !strings.Contains(err.Error(), "$.group") {
		t.Fatalf("Deliver = %v, want a permanent PartialError failing [1] naming $.group", err)
	}
	q.Receive(t, 1, 10*time.Second)
}

// TestDeliverFailedEntries: entries SendMessageBatch reports in Failed (injected by the fault proxy, as
// moto never fails single entries) give a PartialError from the first, with the error's class.
func TestDeliverFailedEntries(t *testing.T) {
	q := awstest.NewQueue(t, "", nil)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	p.Add(awstest.Rule{Op: "SendMessageBatch", Times: 1, Handle: awstest.FailEntries(4, "InternalError", false)})
	tg := build(t, p.URL, q.ARN, ``)
	events := payloads(6, `{"n":%d}`)
	err := deliver(t, tg, events...)
	var pe *plugin.PartialError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{4, 5}) || plugin.IsPermanent(err) {
		t.Fatalf("Deliver = %v, want a retryable PartialError failing [4 5]", err)
	}
	if diff := cmp.Diff(events[:4], awstest.Bodies(q.Receive(t, 4, 10*time.Second))); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}

	p.Fail("SendMessageBatch", 1, awstest.APIError{Code: "com.amazonaws.sqs#RequestThrottled", QueryCode: "RequestThrottled", Message: "slow down"})
	err = deliver(t, tg, events...)
	var throttled *plugin.ThrottledError
	if !errors.As(err, &throttled) || errors.As(err, &pe) {
		t.Fatalf("Deliver through a throttling queue = %v, want a ThrottledError for the whole batch", err)
	}
	if p.Fail("SendMessageBatch", 1, awstest.APIError{Code: "com.amazonaws.sqs#QueueDoesNotExist", QueryCode: "AWS.SimpleQueueService.NonExistentQueue", Message: "gone"}); !plugin.IsPermanent(deliver(t, tg, events...)) {
		t.Fatalf("Deliver to a queue that does not exist: want a permanent error")
	}
}
