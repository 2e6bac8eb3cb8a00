package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluicehq/sluice/internal/plugin"
)

// opErr wraps an API error the way a service client returns it.
func opErr(code string) error {
	return &smithy.OperationError{
		ServiceID:     "SQS",
		OperationName: "SendMessageBatch",
		Err:           &smithy.GenericAPIError{Code: code, Message: "message of " + code},
	}
}

func httpErr(status int) error {
	return &smithy.OperationError{
		ServiceID: "SQS", OperationName: "SendMessageBatch",
		Err: &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      errors.New("unexpected response"),
		}},
	}
}

func TestClassify(t *testing.T) {
	type class int
	const (
		retried class = iota
		throttled
		permanent
		asIs // context errors and nil
	)
	cases := []struct {
		name string
		err  error
		want class
	}{
		{"nil", nil, asIs},
		{"canceled", fmt.Errorf("sending: %w", context.Canceled), asIs},
		{"deadline", context.DeadlineExceeded, asIs},
		{"ThrottlingException", opErr("ThrottlingException"), throttled},
		{"Throttling", opErr("Throttling"), throttled},
		{"ProvisionedThroughputExceededException", opErr("ProvisionedThroughputExceededException"), throttled},
		{"TooManyRequestsException", opErr("TooManyRequestsException"), throttled},
		{"RequestLimitExceeded", opErr("RequestLimitExceeded"), throttled},
		{"SlowDown", opErr("SlowDown"), throttled},
		{"LimitExceededException", opErr("LimitExceededException"), throttled},
		{"KMSThrottlingException", opErr("KMSThrottlingException"), throttled},
		{"SQS query-compatible throttling", opErr("AWS.SimpleQueueService.RequestThrottled"), throttled},
		{"429 without code", httpErr(http.StatusTooManyRequests), throttled},
		{"AccessDenied", opErr("AccessDenied"), permanent},
		{"AccessDeniedException", opErr("AccessDeniedException"), permanent},
		{"ResourceNotFoundException", opErr("ResourceNotFoundException"), permanent},
		{"ResourceNotFound (SageMaker)", opErr("ResourceNotFound"), permanent},
		{"NotFound (SNS)", opErr("NotFound"), permanent},
		{"SQS NonExistentQueue", opErr("AWS.SimpleQueueService.NonExistentQueue"), permanent},
		{"QueueDoesNotExist", opErr("QueueDoesNotExist"), permanent},
		{"InvalidParameterValue", opErr("InvalidParameterValue"), permanent},
		{"InvalidParameterException", opErr("InvalidParameterException"), permanent},
		{"ValidationException", opErr("ValidationException"), permanent},
		{"StateMachineDoesNotExist", opErr("StateMachineDoesNotExist"), permanent},
		{"KMSAccessDeniedException", opErr("KMSAccessDeniedException"), permanent},
		{"UnrecognizedClientException", opErr("UnrecognizedClientException"), permanent},
		{"InternalFailure", opErr("InternalFailure"), retried},
		{"ServiceUnavailable", opErr("ServiceUnavailable"), retried},
		{"ExpiredTokenException", opErr("ExpiredTokenException"), retried},
		{"unknown code", opErr("SomethingNew"), retried},
		{"500 without code", httpErr(http.StatusInternalServerError), retried},
		{"403 without code", httpErr(http.StatusForbidden), retried},
		{"connection refused", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), retried},
		{"already permanent", plugin.Permanent(opErr("InternalFailure")), permanent},
		{"already throttled", &plugin.ThrottledError{Err: opErr("InternalFailure")}, throttled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Classify(c.err)
			var th *plugin.ThrottledError
			var gotClass class
			switch {
			case c.err == nil || errors.Is(c.err, context.Canceled) || errors.Is(c.err, context.DeadlineExceeded):
				gotClass = asIs
				if got != c.err {
					t.Fatalf("Classify(%v) = %v, want it unchanged", c.err, got)
				}
			case errors.As(got, &th):
				gotClass = throttled
			case plugin.IsPermanent(got):
				gotClass = permanent
			default:
				gotClass = retried
				if got != c.err {
					t.Fatalf("Classify(%v) = %v, want it unchanged", c.err, got)
				}
			}
			if gotClass != c.want {
				t.Fatalf("Classify(%v) class = %d, want %d", c.err, gotClass, c.want)
			}
			if c.err != nil && !errors.Is(got, c.err) {
				t.Fatalf("Classify(%v) = %v, which does not wrap the original", c.err, got)
			}
			if c.err != nil && got.Error() != c.err.Error() {
				t.Fatalf("Classify(%v) message = %q, want the original's", c.err, got.Error())
			}
		})
	}
}

func TestClassifyCode(t *testing.T) {
	base := errors.New("entry 3 failed")
	cases := []struct {
		code            string
		throttled, perm bool
	}{
		{"ProvisionedThroughputExceededException", true, false}, // Kinesis PutRecords entry
		{"ThrottlingException", true, false},                    // EventBridge PutEvents entry
		{"AWS.SimpleQueueService.NonExistentQueue", false, true},
		{"KMSAccessDeniedException", false, true},
		{"InternalFailure", false, false},
		{"", false, false},
	}
	for _, c := range cases {
		got := ClassifyCode(c.code, base)
		var th *plugin.ThrottledError
		if errors.As(got, &th) != c.throttled || plugin.IsPermanent(got) != c.perm || !errors.Is(got, base) {
			t.Errorf("ClassifyCode(%q) = %#v; want throttled %v, permanent %v, wrapping the error", c.code, got, c.throttled, c.perm)
		}
	}
}
