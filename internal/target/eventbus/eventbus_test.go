package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	_ "github.com/sluicehq/sluice/internal/target/file" // the dead-letter destination of TestEndToEndRefusedEntry
)

const busARN = "arn:aws:events:us-east-1:123456789012:event-bus/orders"

func TestValidate(t *testing.T) {
	const f = "TargetParameters.EventBridgeEventBusParameters."
	tests := []awstest.ValidateCase{
		{Name: "defaults", Target: busARN},
		{Name: "all static", Target: busARN, Params: `{"EventBridgeEventBusParameters":{"Source":"com.example","DetailType":"Order","Resources":["arn:aws:s3:::b"],"Time":"$.value.at","EndpointId":"abcde.veo"}}`},
		{Name: "all dynamic", Target: busARN, Params: `{"EventBridgeEventBusParameters":{"Source":"$.value.src","DetailType":"$.value.type","Resources":["$.value.arns"]}}`},
		{Name: "aws source", Target: busARN, Params: `{"EventBridgeEventBusParameters":{"Source":"aws.s3"}}`, Want: []plugin.FieldError{
			{Field: f + "Source", Message: `must not start with "aws.", which AWS services keep for themselves`}}},
		{Name: "lengths", Target: busARN, Params: `{"EventBridgeEventBusParameters":{"Source":"","DetailType":"` + strings.Repeat("d", 129) + `","Resources":["","$.a","$.b","$.c","$.d","$.e","$.f","$.g","$.h","$.i","$.j"]}}`, Want: []plugin.FieldError{
			{Field: f + "Source", Message: "must not be empty"},
			{Field: f + "DetailType", Message: "must be 1..128 characters, is 129"},
			{Field: f + "Resources", Message: "has 11 items, more than 10"},
			{Field: f + "Resources[0]", Message: "must not be empty"}}},
		{Name: "bad resource, time and endpoint", Target: busARN, Params: `{"EventBridgeEventBusParameters":{"Resources":["s3 bucket"],"Time":"2024-01-01","EndpointId":"$.value.endpoint"}}`, Want: []plugin.FieldError{
			{Field: f + "Resources[0]", Message: `"s3 bucket" is neither an ARN nor a JSON path: ARN "s3 bucket": prefix must be "arn:"`},
			{Field: f + "Time", Message: `must be a JSON path such as $.value.time: json path: line 1, column 1: a json path starts with $`},
			{Field: f + "EndpointId", Message: `"$.value.endpoint" is not an endpoint's URL subdomain such as abcde.veo (JSON paths are not allowed here)`}}},
		{Name: "unknown field", Target: busARN, Params: `{"EventBridgeEventBusParameters":{"Detail":"x"}}`, Want: []plugin.FieldError{
			{Field: f + "Detail", Message: "unknown field"}}},
		{Name: "not a bus", Target: "arn:aws:events:us-east-1:123456789012:rule/r", Want: []plugin.FieldError{
			{Field: "Target", Message: `resource "rule/r" must be event-bus/NAME`}}},
		{Name: "bad bus name", Target: "arn:aws:events:us-east-1:123456789012:event-bus/a b", Want: []plugin.FieldError{
			{Field: "Target", Message: `event bus name "a b" is not 1 to 256 letters, digits and /.-_`}}},
	}
	awstest.CheckValidate(t, Spec.Validate, tests)
}

func TestDetail(t *testing.T) {
	tests := []struct{ payload, want string }{
		{`{"a":1}`, `{"a":1}`},
		{" {\"a\": [1, 2]}\n", `{"a": [1, 2]}`},
		{`[1,2]`, `{"payload":[1,2]}`},
		{`"text"`, `{"payload":"text"}`},
		{`42`, `{"payload":42}`},
		{`order 7 "shipped"`, `{"payload":"order 7 \"shipped\""}`},
		{`{"broken":`, `{"payload":"{\"broken\":"}`},
		{``, `{"payload":""}`},
	}
	for _, tc := range tests {
		if got := Detail([]byte(tc.payload)); got != tc.want {
			t.Errorf("Detail(%q) = %s, want %s", tc.payload, got, tc.want)
		}
		if !json.Valid([]byte(Detail([]byte(tc.payload)))) {
			t.Errorf("Detail(%q) is not JSON", tc.payload)
		}
	}
}

// busToQueue creates an event bus in moto with a rule forwarding every event whose source starts with
// "com.example" or "Pipe " to a new queue.
func busToQueue(t *testing.T) (busArn string, q *awstest.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := eventbridge.NewFromConfig(awstest.Config(t, ""))
	name := awstest.Name(t, 200)
	bus, err := client.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: &name})
	if err != nil {
		t.Fatalf("CreateEventBus: %v", err)
	}
	q = awstest.NewQueue(t, "", nil)
	if _, err := client.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String("to-queue"), EventBusName: &name,
		EventPattern: aws.String(`{"source":[{"prefix":"com.example"},{"prefix":"Pipe "}]}`),
	}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	if _, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String("to-queue"), EventBusName: &name, Targets: []types.Target{{Id: aws.String("q"), Arn: &q.ARN}},
	}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
	return aws.ToString(bus.EventBusArn), q
}

// event is what the rule forwards to the queue.
type event struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Resources  []string        `json:"resources"`
	Time       string          `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

func received(t *testing.T, q *awstest.Queue, n int) []event {
	t.Helper()
	var out []event
	for _, body := range awstest.Bodies(q.Receive(t, n, time.Minute)) {
		var e event
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("the queue's message %s: %v", body, err)
		}
		out = append(out, e)
	}
	return out
}

// TestEndToEnd: records on the real broker go through a pipe to an event bus in moto, and a rule on the
// bus forwards them to an SQS queue where they are read back: the payload as detail (a JSON object as
// it is, anything else wrapped), Source, DetailType and Resources read from each record, Time from its
// value, and the batch of 12 put in calls of 10 and 2.
func TestEndToEnd(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	busArn, q := busToQueue(t)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	recs := make([]*kgo.Record, 12)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"n":%d,"src":"com.example.s%d","arns":["arn:aws:s3:::b%d","arn:aws:s3:::c"],"at":%q}`,
			i, i%2, i, base.Add(time.Duration(i)*time.Minute).Format(time.RFC3339))}
	}
	c.Produce(t, recs...)
	def := awstest.KafkaPipe(t, c, topic, 12, nil, nil)
	def["Target"] = busArn
	def["TargetParameters"] = map[string]any{
		"InputTemplate": `{"n": <$.value.n>, "pipe": "<aws.pipes.pipe-name>"}`,
		"EventBridgeEventBusParameters": map[string]any{
			"Source": "$.value.src", "DetailType": "Order", "Resources": []string{"$.value.arns", "arn:aws:s3:::static"}, "Time": "$.value.at",
		},
	}
	awstest.RunDefinition(t, def, p.URL)

	got := received(t, q, 12)
	for i, e := range got {
		want := event{
			Source: fmt.Sprintf("com.example.s%d", i%2), DetailType: "Order",
			Resources: []string{fmt.Sprintf("arn:aws:s3:::b%d", i), "arn:aws:s3:::c", "arn:aws:s3:::static"},
			Time:      base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
			Detail:    json.RawMessage(fmt.Sprintf(`{"n": %d, "pipe": "%s"}`, i, def["Name"])),
		}
		if !json.Valid(e.Detail) || !cmp.Equal(compact(t, want.Detail), compact(t, e.Detail)) {
			t.Errorf("event %d: detail %s, want %s", i, e.Detail, want.Detail)
		}
		e.Detail, want.Detail = nil, nil
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("event %d (-want +got):\n%s", i, diff)
		}
	}
	if diff := cmp.Diff([]int{10, 2}, awstest.EntriesPerCall(t, p, awstest.EventBridgePutEvents)); diff != "" {
		t.Errorf("entries per PutEvents call (-want +got):\n%s", diff)
	}
}

func compact(t *testing.T, raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func build(t *testing.T, endpoint, busArn, params string) plugin.Target {
	return awstest.NewTarget(t, endpoint, "bus-test", busArn, params)
}

var batch = awstest.Batch

// TestDeliverDefaults: without parameters the events carry the default Source and DetailType, and
// payloads that are not JSON objects arrive wrapped.
func TestDeliverDefaults(t *testing.T) {
	busArn, q := busToQueue(t)
	tg := build(t, awstest.Endpoint(t), busArn, ``)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tg.Deliver(ctx, batch(`{"a":1}`, `[1]`, `plain text`)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := received(t, q, 3)
	for i, want := range []string{`{"a":1}`, `{"payload":[1]}`, `{"payload":"plain text"}`} {
		if got[i].Source != "Pipe bus-test" || got[i].DetailType != DefaultDetailType || compact(t, got[i].Detail) != want {
			t.Errorf("event %d: source %q, detail-type %q, detail %s; want \"Pipe bus-test\", %q, %s", i, got[i].Source, got[i].DetailType, got[i].Detail, DefaultDetailType, want)
		}
	}
}

// TestDeliverRefusedEntry provokes moto's own refusal of one entry: a Source path leading to "" gives an
// entry without a Source, which PutEvents refuses with InvalidArgument while putting the others. The
// target reports a permanent partial failure from that entry.
func TestDeliverRefusedEntry(t *testing.T) {
	busArn, q := busToQueue(t)
	tg := build(t, awstest.Endpoint(t), busArn, `{"EventBridgeEventBusParameters":{"Source":"$.src"}}`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := tg.Deliver(ctx, batch(`{"src":"com.example.a"}`, `{"src":""}`, `{"src":"com.example.c"}`))
	var pe *plugin.PartialError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{1}) || !plugin.IsPermanent(err) || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Fatalf("Deliver = %v, want a permanent PartialError failing [1] with InvalidArgument", err)
	}
	got := received(t, q, 2)
	if got[0].Source != "com.example.a" || got[1].Source != "com.example.c" {
		t.Errorf("sources %q, %q; want com.example.a and com.example.c", got[0].Source, got[1].Source)
	}
}

// TestDeliverFailedEntries: PutEvents' positional failures (injected by the fault proxy's Refuse) give a
// PartialError classified by code: InternalFailure is retried, ThrottlingException throttled.
func TestDeliverFailedEntries(t *testing.T) {
	busArn, q := busToQueue(t)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	tg := build(t, p.URL, busArn, `{"EventBridgeEventBusParameters":{"Source":"com.example"}}`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p.Add(awstest.Refuse(awstest.EventBridgePutEvents, 0, "InternalFailure", 1, 2))
	err := tg.Deliver(ctx, batch(`{"n":0}`, `{"n":1}`, `{"n":2}`))
	var pe *plugin.PartialError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{1, 2}) || plugin.IsPermanent(err) {
		t.Fatalf("Deliver = %v, want a retryable PartialError failing [1 2]", err)
	}
	received(t, q, 1)
	p.Add(awstest.Refuse(awstest.EventBridgePutEvents, 0, "ThrottlingException", 2))
	var throttled *plugin.ThrottledError
	if err := tg.Deliver(ctx, batch(`{"n":0}`, `{"n":1}`, `{"n":2}`)); !errors.As(err, &pe) || !errors.As(err, &throttled) {
		t.Fatalf("Deliver = %v, want a throttled PartialError", err)
	}
	p.Fail("PutEvents", 1, awstest.Throttle("ThrottlingException"))
	if err := tg.Deliver(ctx, batch(`{"n":0}`)); !errors.As(err, &throttled) {
		t.Errorf("Deliver through a throttling bus = %v, want a ThrottledError", err)
	}
}

// TestDeliverEndpointID: an EndpointId (a global endpoint) is passed on to PutEvents, which the SDK then
// signs with SigV4a for every region. moto cannot route a SigV4a request (it finds the service and region
// in the SigV4 credential scope), so the fault proxy answers the call, as EventBridge does, and the test
// checks what reached it.
func TestDeliverEndpointID(t *testing.T) {
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	p.Add(awstest.Rule{Op: "PutEvents", Handle: func(_ context.Context, x *awstest.Exchange) (*awstest.Response, error) {
		return &awstest.Response{Status: 200, Header: map[string][]string{"Content-Type": {"application/x-amz-json-1.1"}},
			Body: []byte(`{"FailedEntryCount":0,"Entries":[{"EventId":"e1"}]}`)}, nil
	}})
	tg := build(t, p.URL, busARN, `{"EventBridgeEventBusParameters":{"Source":"com.example","EndpointId":"abcde.veo"}}`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tg.Deliver(ctx, batch(`{"n":0}`)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	calls := p.Calls("PutEvents")
	if len(calls) != 1 {
		t.Fatalf("%d PutEvents calls, want 1", len(calls))
	}
	var req struct{ EndpointId string }
	if err := json.Unmarshal(calls[0].Body, &req); err != nil || req.EndpointId != "abcde.veo" {
		t.Errorf("PutEvents body %s: EndpointId %q, want abcde.veo", calls[0].Body, req.EndpointId)
	}
	if auth := calls[0].Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-ECDSA-P256-SHA256 ") || calls[0].Header.Get("X-Amz-Region-Set") != "*" {
		t.Errorf("PutEvents signed %q for regions %q, want SigV4a for *", auth, calls[0].Header.Get("X-Amz-Region-Set"))
	}
}

// TestEndToEndRefusedEntry: through the runtime, moto's own refusal of one entry (its Source path gives
// "") is a permanent partial failure: the record is dead-lettered (to a file) and every other record
// reaches the bus, in order.
func TestEndToEndRefusedEntry(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	busArn, q := busToQueue(t)
	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	recs := make([]*kgo.Record, 6)
	for i := range recs {
		src := "com.example"
		if i == 2 {
			src = ""
		}
		recs[i] = &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"n":%d,"src":%q}`, i, src)}
	}
	c.Produce(t, recs...)
	def := awstest.KafkaPipe(t, c, topic, 6, nil, nil)
	def["SourceParameters"].(map[string]any)["SelfManagedKafkaParameters"].(map[string]any)["DeadLetterConfig"] = map[string]any{"Arn": "file://" + dead}
	def["Target"] = busArn
	def["TargetParameters"] = map[string]any{"InputTemplate": `{"n": <$.value.n>}`, "EventBridgeEventBusParameters": map[string]any{"Source": "$.value.src"}}
	r := awstest.RunDefinition(t, def, awstest.Endpoint(t))

	// 3..5 were put with 2's refused call and are put again when the runtime resumes after 2
	// (at-least-once, in order); 2 never is.
	var got []int
	for _, body := range awstest.Bodies(q.ReceiveAtLeast(t, 5, time.Minute)) {
		var e struct{ Detail struct{ N int } }
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("the queue's message %s: %v", body, err)
		}
		got = append(got, e.Detail.N)
	}
	if len(got) < 5 || !cmp.Equal(got[:5], []int{0, 1, 3, 4, 5}) || slices.Contains(got, 2) || !slices.IsSorted(got[5:]) || (len(got) > 5 && got[5] < 3) {
		t.Errorf("details n = %v, want 0 1 3 4 5, then possibly a resend of 3..5 in order, never 2", got)
	}
	t.Logf("events on the bus, in order: %v", got)
	kafkatest.Eventually(t, 30*time.Second, func() error {
		data, err := os.ReadFile(dead)
		if err != nil {
			return err
		}
		if !strings.Contains(string(data), `"offset":2`) || !strings.Contains(string(data), "InvalidArgument") || strings.Count(string(data), "\n") != 1 {
			return fmt.Errorf("dead letters %s, want record 2 refused with InvalidArgument", data)
		}
		return nil
	})
	if n := r.Counter(t, "sluice_pipe_executions_partially_failed_total"); n < 1 {
		t.Errorf("sluice_pipe_executions_partially_failed_total = %v, want at least 1", n)
	}
}
