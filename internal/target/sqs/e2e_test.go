package sqs

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// produceOrders writes n records to topic on the real broker, one partition: key "k<i>", value
// {"id":"o<i>","group":"g<i%groups>","n":<i>}.
func produceOrders(t *testing.T, c *kafkatest.Cluster, topic string, n, groups int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, `{"id":"o%d","group":"g%d","n":%d}`, i, i%groups, i)}
	}
	c.Produce(t, recs...)
}

// fifoPipe is a pipe from topic to the FIFO queue q, 25 records a batch, the group and deduplication ids
// read from each record's value, the message made by an input template.
func fifoPipe(t *testing.T, c *kafkatest.Cluster, topic string, q *awstest.Queue) map[string]any {
	def := awstest.KafkaPipe(t, c, topic, 25, nil, nil)
	def["Target"] = q.ARN
	def["TargetParameters"] = map[string]any{
		"InputTemplate":      `{"order": <$.value.id>, "n": <$.value.n>, "key": "<$.key>"}`,
		"SqsQueueParameters": map[string]any{"MessageGroupId": "$.value.group", "MessageDeduplicationId": "$.value.id"},
	}
	def["LogConfiguration"] = map[string]any{"Level": "ERROR"} // for EXECUTION_PARTIALLY_FAILED
	return def
}

func wantBodies(n int) []string {
	out := make([]string, n)
	for i := range out {
		// A key that is not JSON stays base64, as in Pipes.
		out[i] = fmt.Sprintf(`{"order": "o%d", "n": %d, "key": "%s"}`, i, i, base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "k%d", i)))
	}
	return out
}

// TestEndToEndFIFO: records on the real broker go through a pipe into a FIFO queue in moto and are read
// back with ReceiveMessage: the payload rendered by the template, the dynamic group and deduplication
// ids, and the batch of 25 split into SendMessageBatch calls of 10, 10 and 5.
func TestEndToEndFIFO(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	q := awstest.NewQueue(t, ".fifo", nil)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	produceOrders(t, c, topic, 25, 1)
	awstest.RunDefinition(t, fifoPipe(t, c, topic, q), p.URL)

	got := q.Receive(t, 25, time.Minute)
	if diff := cmp.Diff(wantBodies(25), awstest.Bodies(got)); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
	for i, m := range got {
		if g, d := awstest.Attribute(m, "MessageGroupId"), awstest.Attribute(m, "MessageDeduplicationId"); g != "g0" || d != fmt.Sprintf("o%d", i) {
			t.Errorf("message %d: MessageGroupId %q, MessageDeduplicationId %q; want g0 and o%d", i, g, d, i)
		}
	}
	if diff := cmp.Diff([]int{10, 10, 5}, awstest.EntriesPerCall(t, p, awstest.SQSSendMessageBatch)); diff != "" {
		t.Errorf("entries per SendMessageBatch call (-want +got):\n%s", diff)
	}
}

// TestEndToEndPartialFailure: the second SendMessageBatch call of the batch has its last six entries
// refused (InternalError, as SQS reports a failed entry; injected by the fault proxy since moto never
// fails single entries). The runtime counts the entries before the first refused one as delivered,
// retries from it, and the FIFO queue ends with every record once, in order; the execution is reported
// as ExecutionPartiallyFailed.
func TestEndToEndPartialFailure(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	q := awstest.NewQueue(t, ".fifo", nil)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	p.Add(awstest.Rule{Op: "SendMessageBatch", Skip: 1, Times: 1, Handle: awstest.FailEntries(4, "InternalError", false)})
	produceOrders(t, c, topic, 25, 1)
	r := awstest.RunDefinition(t, fifoPipe(t, c, topic, q), p.URL)

	got := q.Receive(t, 25, time.Minute)
	if diff := cmp.Diff(wantBodies(25), awstest.Bodies(got)); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
	// 0-9, then 10-19 of which 14-19 are refused; the retry resumes at 14: 14-23, 24.
	if diff := cmp.Diff([]int{10, 10, 10, 1}, awstest.EntriesPerCall(t, p, awstest.SQSSendMessageBatch)); diff != "" {
		t.Errorf("entries per SendMessageBatch call (-want +got):\n%s", diff)
	}
	kafkatest.Eventually(t, 10*time.Second, func() error {
		if n := r.Counter(t, "sluice_pipe_executions_partially_failed_total"); n != 1 {
			return fmt.Errorf("sluice_pipe_executions_partially_failed_total = %v, want 1", n)
		}
		return nil
	})
	if logged := r.ExecutionLog(t, "EXECUTION_PARTIALLY_FAILED"); len(logged) != 1 {
		t.Errorf("execution log has %d EXECUTION_PARTIALLY_FAILED records, want 1", len(logged))
	} else {
		t.Logf("EXECUTION_PARTIALLY_FAILED: %v", logged[0]["error"])
	}
}

// TestEndToEndThrottled: SQS answers the first two calls with a throttling error; the runtime counts them
// as throttled executions, backs off and retries, and every record arrives once, in order.
func TestEndToEndThrottled(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	q := awstest.NewQueue(t, ".fifo", nil)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	p.Fail("SendMessageBatch", 2, awstest.APIError{Code: "com.amazonaws.sqs#RequestThrottled", QueryCode: "RequestThrottled", Message: "Request is throttled."})
	produceOrders(t, c, topic, 25, 1)
	r := awstest.RunDefinition(t, fifoPipe(t, c, topic, q), p.URL)

	if diff := cmp.Diff(wantBodies(25), awstest.Bodies(q.Receive(t, 25, time.Minute))); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
	if n := r.Counter(t, "sluice_pipe_executions_throttled_total"); n != 2 {
		t.Errorf("sluice_pipe_executions_throttled_total = %v, want 2", n)
	}
	if diff := cmp.Diff([]int{10, 10, 10, 10, 5}, awstest.EntriesPerCall(t, p, awstest.SQSSendMessageBatch)); diff != "" {
		t.Errorf("entries per SendMessageBatch call (-want +got):\n%s", diff)
	}
}

// TestEndToEndRefusedRecord: moto itself refuses one record's message (longer than the queue's
// MaximumMessageSize), which fails SendMessageBatch as a whole. The target narrows the refusal down to that
// message and reports a permanent partial failure from it; the runtime counts the messages before it as
// delivered, dead-letters the refused record (to another SQS queue, a Sluice extension) and delivers the
// rest: the queue ends with every other record, in order.
func TestEndToEndRefusedRecord(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	q := awstest.NewQueue(t, ".fifo", map[string]string{"MaximumMessageSize": "1024", "ContentBasedDeduplication": "true"})
	dlq := awstest.NewQueue(t, "-dlq", nil)
	recs := make([]*kgo.Record, 10)
	var want []string
	for i := range recs {
		value := fmt.Sprintf(`{"n":%d,"pad":""}`, i)
		if i == 4 {
			value = fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", 2000))
		} else {
			want = append(want, fmt.Sprintf(`{"n": %d, "pad": ""}`, i))
		}
		recs[i] = &kgo.Record{Topic: topic, Value: []byte(value)}
	}
	c.Produce(t, recs...)
	def := awstest.KafkaPipe(t, c, topic, 10, nil, nil)
	def["SourceParameters"].(map[string]any)["SelfManagedKafkaParameters"].(map[string]any)["DeadLetterConfig"] = map[string]any{"Arn": dlq.ARN}
	def["Target"] = q.ARN
	def["TargetParameters"] = map[string]any{"InputTemplate": `{"n": <$.value.n>, "pad": <$.value.pad>}`, "SqsQueueParameters": map[string]any{"MessageGroupId": "g"}}
	r := awstest.RunDefinition(t, def, awstest.Endpoint(t))

	if diff := cmp.Diff(want, awstest.Bodies(q.Receive(t, 9, time.Minute))); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
	var letter struct {
		Reason, ErrorClass, Error string
		Offset                    int64
	}
	if err := json.Unmarshal([]byte(awstest.Bodies(dlq.Receive(t, 1, time.Minute))[0]), &letter); err != nil {
		t.Fatalf("dead letter: %v", err)
	}
	if letter.Offset != 4 || letter.Reason != "permanent-failure" || !strings.Contains(letter.Error, "Message must be shorter than 1024 bytes") {
		t.Errorf("dead letter = %+v, want record 4, permanent-failure, moto's refusal", letter)
	}
	if n := r.Counter(t, "sluice_pipe_executions_partially_failed_total"); n < 1 {
		t.Errorf("sluice_pipe_executions_partially_failed_total = %v, want at least 1", n)
	}
}
