package awstest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

func sdkConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint:     aws.String(endpoint),
		RetryMaxAttempts: 1, // the proxy's answers must reach the test, not the SDK's retryer
	}
}

func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// TestFaultProxySQS drives the SDK's SQS client (JSON protocol, query-compatible codes) through the proxy
// in front of moto: the chosen calls get the chosen errors as the SDK decodes them, skipped and later
// calls reach the emulator, and every call is recorded.
func TestFaultProxySQS(t *testing.T) {
	p := NewFaultProxy(t, kafkatest.AWSEndpoint(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := sqs.NewFromConfig(sdkConfig(p.URL))
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(kafkatest.TopicName(t))})
	if err != nil {
		t.Fatalf("CreateQueue through the proxy: %v", err)
	}
	if !strings.HasPrefix(aws.ToString(q.QueueUrl), p.URL) {
		t.Errorf("QueueUrl = %s, want it under the proxy's %s", aws.ToString(q.QueueUrl), p.URL)
	}

	p.Add(Rule{Op: "SendMessage", Skip: 1, Times: 2, Error: &APIError{Code: "com.amazonaws.sqs#RequestThrottled", Message: "slow down"}})
	p.Add(Rule{Op: "SendMessage", Skip: 3, Times: 1, Error: &APIError{Code: "com.amazonaws.sqs#QueueDoesNotExist", QueryCode: "AWS.SimpleQueueService.NonExistentQueue", Message: "gone"}})
	send := func(body string) error {
		_, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(body)})
		return err
	}
	for i, want := range []string{"", "RequestThrottled", "RequestThrottled", "AWS.SimpleQueueService.NonExistentQueue", ""} {
		err := send(string(rune('a' + i)))
		if got := errorCode(err); got != want || (want == "" && err != nil) {
			t.Errorf("SendMessage #%d: error %v (code %q), want code %q", i+1, err, got, want)
		}
		if want == "AWS.SimpleQueueService.NonExistentQueue" {
			var dne *sqstypes.QueueDoesNotExist
			if !errors.As(err, &dne) {
				t.Errorf("SendMessage #%d: error %T, want the SDK's *types.QueueDoesNotExist", i+1, err)
			}
		}
	}

	got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	var bodies []string
	for _, m := range got.Messages {
		bodies = append(bodies, aws.ToString(m.Body))
	}
	if strings.Join(bodies, ",") != "a,e" {
		t.Errorf("the queue holds %q, want the two forwarded messages [a e]", bodies)
	}
	calls := p.Calls("SendMessage")
	var answered []bool
	for _, c := range calls {
		answered = append(answered, c.Answered)
	}
	if len(calls) != 5 || answered[0] || !answered[1] || !answered[2] || !answered[3] || answered[4] {
		t.Errorf("recorded SendMessage calls answered = %v, want [false true true true false]", answered)
	}
	if n := len(p.Calls("")); n != 7 {
		t.Errorf("recorded %d calls in all, want 7 (CreateQueue, 5 SendMessage, ReceiveMessage)", n)
	}
}

// TestFaultProxySNS checks the query protocol's XML error as the SDK's SNS client decodes it.
func TestFaultProxySNS(t *testing.T) {
	p := NewFaultProxy(t, kafkatest.AWSEndpoint(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := sns.NewFromConfig(sdkConfig(p.URL))
	topic, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(kafkatest.TopicName(t))})
	if err != nil {
		t.Fatalf("CreateTopic through the proxy: %v", err)
	}
	p.Fail("Publish", 1, Throttle("Throttled"))
	_, err = client.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("x")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "Throttled" || api.ErrorMessage() != "Rate exceeded" || api.ErrorFault() != smithy.FaultClient {
		t.Fatalf("Publish through a throttling proxy: %v, want the SDK's Throttled client error with its message", err)
	}
	if _, err := client.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("x")}); err != nil {
		t.Errorf("second Publish, forwarded: %v", err)
	}
}

// TestFaultProxyHandle changes a batch call on its way to the emulator and its answer on the way back:
// the second entry is dropped and reported failed, as SQS reports an entry it refused.
func TestFaultProxyHandle(t *testing.T) {
	p := NewFaultProxy(t, kafkatest.AWSEndpoint(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := sqs.NewFromConfig(sdkConfig(p.URL))
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(kafkatest.TopicName(t))})
	if err != nil {
		t.Fatalf("CreateQueue through the proxy: %v", err)
	}
	p.Add(Rule{Op: "SendMessageBatch", Times: 1, Handle: func(ctx context.Context, x *Exchange) (*Response, error) {
		var req map[string]any
		if err := json.Unmarshal(x.Body, &req); err != nil {
			return nil, err
		}
		entries := req["Entries"].([]any)
		req["Entries"] = []any{entries[0]}
		body, _ := json.Marshal(req)
		resp, err := x.Forward(ctx, body)
		if err != nil {
			return nil, err
		}
		var out map[string]any
		if err := json.Unmarshal(resp.Body, &out); err != nil {
			return nil, err
		}
		out["Failed"] = []any{map[string]any{"Id": entries[1].(map[string]any)["Id"], "Code": "InternalError", "SenderFault": false, "Message": "try again"}}
		resp.Body, _ = json.Marshal(out)
		return resp, nil
	}})
	out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q.QueueUrl, Entries: []sqstypes.SendMessageBatchRequestEntry{
		{Id: aws.String("0"), MessageBody: aws.String("first")},
		{Id: aws.String("1"), MessageBody: aws.String("second")},
	}})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	if len(out.Successful) != 1 || aws.ToString(out.Successful[0].Id) != "0" || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "1" || aws.ToString(out.Failed[0].Code) != "InternalError" {
		t.Errorf("SendMessageBatch = successful %+v, failed %+v; want 0 sent and 1 failed with InternalError", out.Successful, out.Failed)
	}
	got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(got.Messages) != 1 || aws.ToString(got.Messages[0].Body) != "first" {
		t.Errorf("the queue holds %d messages, want only the forwarded entry \"first\"", len(got.Messages))
	}
}
