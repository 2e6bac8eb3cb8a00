package lambda

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluicehq/sluice/internal/awsclient"
)

// function invokes one function, for the target and the enrichment.
type function struct {
	arn    string
	client *lambda.Client
}

var _ awsclient.Invoker = (*function)(nil)

// Invoke sends payload, synchronously (RequestResponse) when wait, else as an Event, and returns the
// function's response (nil for an Event). A function error is an *awsclient.ResourceError with the
// function's errorType and errorMessage; errors of the call are classified by awsclient.Classify.
func (f *function) Invoke(ctx context.Context, payload []byte, wait bool) ([]byte, error) {
	typ := types.InvocationTypeRequestResponse
	if !wait {
		typ = types.InvocationTypeEvent
	}
	out, err := f.client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(f.arn),
		InvocationType: typ,
		Payload:        payload,
	})
	if err != nil {
		return nil, fmt.Errorf("invoking lambda function %s: %w", f.arn, awsclient.Classify(err))
	}
	if out.FunctionError == nil {
		return out.Payload, nil
	}
	var doc struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(out.Payload, &doc) != nil {
		doc.ErrorMessage = string(out.Payload)
	}
	return nil, awsclient.NewResourceError("lambda function "+f.arn, *out.FunctionError, doc.ErrorType, doc.ErrorMessage)
}
