// Package lambda is the AWS Lambda target and enrichment (pipes-spec §6, §7): the whole batch goes to
// the function in one Invoke, as one JSON array (an array even for one event; a payload that is not
// JSON is sent as a JSON string). What it shares with Step Functions is awsclient.InvokeSpec.
//
// Target and Enrichment string: a function ARN, unqualified or with a version or alias,
//
//	arn:aws:lambda:us-east-1:123456789012:function:my-function
//	arn:aws:lambda:us-east-1:123456789012:function:my-function:live
//	arn:aws:lambda:us-east-1:123456789012:function:my-function:7
//
// sent as Invoke's FunctionName as it is; the region of the call is the ARN's.
//
// Target parameters: "LambdaFunctionParameters": {"InvocationType": "REQUEST_RESPONSE" | "FIRE_AND_FORGET"}.
// REQUEST_RESPONSE (the default) invokes synchronously and waits for the function; FIRE_AND_FORGET is
// Lambda's Event invocation, which returns once Lambda has queued the event, and whose payload limit
// is Lambda's asynchronous one, 1 MB (6 MB otherwise), for each event and for the batch's array. A
// function error (the X-Amz-Function-Error of a synchronous invocation, "Handled" or "Unhandled") is an
// *awsclient.ResourceError: the delivery fails, and the runtime retries it and, past the pipe's retry
// policy, dead-letters it, as it does any other failure. Errors of the Invoke call itself go through
// awsclient.Classify: TooManyRequestsException is overload (the pipe lowers its concurrency),
// ResourceNotFoundException and AccessDenied are permanent, the rest is retried.
//
// The enrichment always invokes synchronously (pipes-spec §6). The function's response, at most 6 MB, is
// the new list of events: a JSON array gives one event per element, "", {} and [] give none (the target
// is skipped), any other value one event (the rules of the HTTP enrichment, httpenrich.Split). It takes
// no EnrichmentParameters beyond the runtime's InputTemplate.
package lambda

import (
	"context"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sluicehq/sluice/internal/awsclient"
	httpenrich "github.com/sluicehq/sluice/internal/enrich/http"
	"github.com/sluicehq/sluice/internal/plugin"
)

// asyncPayloadBytes is the most an asynchronous (Event) invocation carries.
const asyncPayloadBytes = 1 << 20

// Spec is what the Lambda target and enrichment are made of.
var Spec = awsclient.InvokeSpec{
	Service:           "lambda",
	Member:            "LambdaFunctionParameters",
	AsyncPayloadBytes: asyncPayloadBytes,
	Resource: awsclient.ResourceForm{
		Type: "function", Noun: "Lambda function",
		// As Invoke's FunctionName accepts them; the qualifier is a version, an alias or $LATEST.
		Name:          regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`),
		NameRule:      "1 to 64 letters, digits, '-' or '_'",
		Qualifier:     regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9_-]{1,128})$`),
		QualifierRule: "$LATEST, a version or an alias (1 to 128 letters, digits, '-' or '_')",
	},
	New:   newFunction,
	Split: httpenrich.Split,
}

func init() { Spec.AddTo(plugin.Default) }

// newFunction builds the invoker of a function. It does no I/O: the function is first called by a
// delivery.
func newFunction(_ context.Context, cfg aws.Config, a awsclient.ARN, _, _ bool) (awsclient.Invoker, error) {
	return &function{arn: a.String(), client: lambda.NewFromConfig(cfg)}, nil
}
