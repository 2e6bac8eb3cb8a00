package cwlogs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
)

const groupARN = "arn:aws:logs:us-east-1:123456789012:log-group:/sluice/orders"

func TestValidate(t *testing.T) {
	const f = "TargetParameters.CloudWatchLogsParameters."
	tests := []awstest.ValidateCase{
		{Name: "defaults", Target: groupARN},
		{Name: "console form", Target: groupARN + ":*", Params: `{"CloudWatchLogsParameters":{"LogStreamName":"s","Timestamp":"$.timestamp"}}`},
		{Name: "stream is static", Target: groupARN, Params: `{"CloudWatchLogsParameters":{"LogStreamName":"$.value:x"}}`, Want: []plugin.FieldError{
			{Field: f + "LogStreamName", Message: `"$.value:x" holds ':' or '*', which log stream names cannot (and it cannot be a JSON path)`}}},
		{Name: "lengths and a timestamp that is not a path", Target: groupARN, Params: `{"CloudWatchLogsParameters":{"LogStreamName":"","Timestamp":"1700000000000"}}`, Want: []plugin.FieldError{
			{Field: f + "LogStreamName", Message: "must not be empty"},
			{Field: f + "Timestamp", Message: `"1700000000000" is not a JSON path of at most 256 characters such as $.timestamp`}}},
		{Name: "unknown field", Target: groupARN, Params: `{"CloudWatchLogsParameters":{"LogGroupName":"g"}}`, Want: []plugin.FieldError{
			{Field: f + "LogGroupName", Message: "unknown field"}}},
		{Name: "not a log group", Target: "arn:aws:logs:us-east-1:123456789012:destination:d", Want: []plugin.FieldError{
			{Field: "Target", Message: `resource "destination:d" must be log-group:NAME`}}},
		{Name: "bad group name", Target: "arn:aws:logs:us-east-1:123456789012:log-group:a b", Want: []plugin.FieldError{
			{Field: "Target", Message: `log group name "a b" is not 1 to 512 letters, digits and .-_/#`}}},
	}
	awstest.CheckValidate(t, Spec.Validate, tests)
}

// logGroup creates a log group in moto and returns its ARN and name.
func logGroup(t *testing.T) (arn, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name = "/sluice/" + awstest.Name(t, 200)
	if _, err := cloudwatchlogs.NewFromConfig(awstest.Config(t, "")).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &name}); err != nil {
		t.Fatalf("CreateLogGroup: %v", err)
	}
	return "arn:aws:logs:us-east-1:" + awstest.Account + ":log-group:" + name, name
}

type logEvent struct {
	Message   string
	Timestamp int64
}

// readLog reads n events of a log stream with GetLogEvents, from the start, waiting up to a minute.
func readLog(t *testing.T, group, stream string, n int) []logEvent {
	t.Helper()
	client := cloudwatchlogs.NewFromConfig(awstest.Config(t, ""))
	var got []logEvent
	kafkatest.Eventually(t, time.Minute, func() error {
		got = nil
		out, err := client.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: &group, LogStreamName: &stream, StartFromHead: aws.Bool(true),
		})
		if err != nil {
			return err
		}
		for _, e := range out.Events {
			got = append(got, logEvent{aws.ToString(e.Message), aws.ToInt64(e.Timestamp)})
		}
		if len(got) < n {
			return fmt.Errorf("%d log events, want %d", len(got), n)
		}
		return nil
	})
	if len(got) != n {
		t.Errorf("%d log events, want %d", len(got), n)
	}
	return got
}

// TestEndToEnd: records on the real broker go through a pipe to a log stream in moto and are read back
// with GetLogEvents: the payload as the message, the record's timestamp (Timestamp "$.timestamp") as
// the event's, and a batch whose timestamps go back in time written in several PutLogEvents calls,
// each in chronological order.
func TestEndToEnd(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	arn, group := logGroup(t)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	// Timestamps: 0..4 minutes, then back to 2..6 minutes: two chronological runs.
	var want []logEvent
	recs := make([]*kgo.Record, 10)
	for i := range recs {
		at := base.Add(time.Duration(i%5+2*(i/5)) * time.Minute)
		recs[i] = &kgo.Record{Topic: topic, Timestamp: at, Value: fmt.Appendf(nil, `{"n":%d}`, i)}
		want = append(want, logEvent{fmt.Sprintf("event %d", i), at.UnixMilli()})
	}
	c.Produce(t, recs...)
	def := awstest.KafkaPipe(t, c, topic, 10, nil, nil)
	def["Target"] = arn
	def["TargetParameters"] = map[string]any{
		"InputTemplate":            `event <$.value.n>`,
		"CloudWatchLogsParameters": map[string]any{"LogStreamName": "orders", "Timestamp": "$.timestamp"},
	}
	awstest.RunDefinition(t, def, p.URL)

	// GetLogEvents answers in timestamp order, as CloudWatch Logs does.
	sort.SliceStable(want, func(i, j int) bool { return want[i].Timestamp < want[j].Timestamp })
	got := readLog(t, group, "orders", 10)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{5, 5}, awstest.EntriesPerCall(t, p, awstest.LogsPutLogEvents)); diff != "" {
		t.Errorf("events per PutLogEvents call (-want +got):\n%s", diff)
	}
}

func build(t *testing.T, endpoint, arn, params string) plugin.Target {
	return awstest.NewTarget(t, endpoint, "logs-test", arn, params)
}

// TestDeliverRejected provokes moto's own rejection of log events: one three hours in the future is
// refused (tooNewLogEventStartIndex) while the ones before it in the same call are written; the target
// reports a permanent partial failure of that event. The stream (the pipe's name by default) is created
// on the first delivery.
func TestDeliverRejected(t *testing.T) {
	arn, group := logGroup(t)
	tg := build(t, awstest.Endpoint(t), arn, `{"CloudWatchLogsParameters":{"Timestamp":"$.at"}}`)
	now := time.Now().Truncate(time.Millisecond)
	var b plugin.Batch
	for i, at := range []time.Time{now, now.Add(time.Second), now.Add(3 * time.Hour)} {
		payload := json.RawMessage(fmt.Sprintf(`{"n":%d,"at":%d}`, i, at.UnixMilli()))
		b.Payloads, b.Inputs = append(b.Payloads, payload), append(b.Inputs, payload)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := tg.Deliver(ctx, b)
	var pe *plugin.PartialError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{2}) || !plugin.IsPermanent(err) || !strings.Contains(err.Error(), "TooNewLogEvent") {
		t.Fatalf("Deliver = %v, want a permanent PartialError failing [2] for TooNewLogEvent", err)
	}
	want := []logEvent{{string(b.Payloads[0]), now.UnixMilli()}, {string(b.Payloads[1]), now.Add(time.Second).UnixMilli()}}
	if diff := cmp.Diff(want, readLog(t, group, "logs-test", 2)); diff != "" {
		t.Errorf("log events (-want +got):\n%s", diff)
	}
}

// TestDeliverErrors: a log group that does not exist is a permanent failure (auto-stop material); a
// throttled PutLogEvents is throttled.
func TestDeliverErrors(t *testing.T) {
	tg := build(t, awstest.Endpoint(t), "arn:aws:logs:us-east-1:123456789012:log-group:/sluice/missing-"+awstest.Name(t, 40), ``)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`"x"`)}}
	if err := tg.Deliver(ctx, b); !plugin.IsPermanent(err) {
		t.Errorf("Deliver to a missing log group = %v, want a permanent error", err)
	}

	arn, _ := logGroup(t)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	tg = build(t, p.URL, arn, ``)
	p.Fail("PutLogEvents", 1, awstest.Throttle("ThrottlingException"))
	var throttled *plugin.ThrottledError
	if err := tg.Deliver(ctx, b); !errors.As(err, &throttled) {
		t.Errorf("Deliver through a throttling CloudWatch Logs = %v, want a ThrottledError", err)
	}
	if err := tg.Deliver(ctx, b); err != nil {
		t.Errorf("Deliver after the throttling: %v", err)
	}
}
