package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

// invoker makes the Invoke calls of one function, for the target and the enrichment.
type invoker struct {
	fn     function
	client *lambda.Client
}

// FunctionError is a function's own failure: the invocation ran and the function raised an error
// (Lambda's X-Amz-Function-Error), or timed out or ran out of memory ("Unhandled").
type FunctionError struct {
	Function string
	// Kind is the X-Amz-Function-Error header: "Handled" or "Unhandled".
	Kind string
	// Type and Message are the errorType and errorMessage of the function's error payload.
	Type, Message string
}

func (e *FunctionError) Error() string {
	msg := fmt.Sprintf("lambda function %s failed (%s)", e.Function, e.Kind)
	if e.Type != "" {
		msg += ": " + e.Type
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// maxErrorMessage bounds the function's errorMessage kept in a FunctionError (logs, dead letters).
const maxErrorMessage = 512

// invoke sends payload with the invocation type and returns the function's response payload (nil for
// an Event invocation). A function error is a *FunctionError (retried); errors of the call itself are
// classified by awsclient.Classify.
func (in *invoker) invoke(ctx context.Context, typ types.InvocationType, payload []byte) ([]byte, error) {
	if limit := payloadLimit(typ); len(payload) > limit {
		// Lambda would answer RequestTooLargeException: no retry makes this batch smaller.
		return nil, plugin.Permanent(fmt.Errorf("lambda function %s: the batch is %d bytes as one JSON array, over the %d bytes of an invocation",
			in.fn.arn, len(payload), limit))
	}
	out, err := in.client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(in.fn.arn),
		InvocationType: typ,
		Payload:        payload,
	})
	if err != nil {
		return nil, fmt.Errorf("invoking lambda function %s: %w", in.fn.arn, awsclient.Classify(err))
	}
	if out.FunctionError != nil {
		fe := &FunctionError{Function: in.fn.arn, Kind: *out.FunctionError}
		var body struct {
			ErrorType    string `json:"errorType"`
			ErrorMessage string `json:"errorMessage"`
		}
		if json.Unmarshal(out.Payload, &body) == nil {
			fe.Type = body.ErrorType
			fe.Message = truncate(body.ErrorMessage, maxErrorMessage)
		} else {
			fe.Message = truncate(string(out.Payload), maxErrorMessage)
		}
		return nil, fe
	}
	return out.Payload, nil
}

// payloadLimit is the most one invocation of typ carries.
func payloadLimit(typ types.InvocationType) int {
	if typ == types.InvocationTypeEvent {
		return asyncPayloadBytes
	}
	return plugin.MaxPayloadBytes
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// IsFunctionError reports whether err is, or wraps, a function's own failure.
func IsFunctionError(err error) bool {
	var fe *FunctionError
	return errors.As(err, &fe)
}
