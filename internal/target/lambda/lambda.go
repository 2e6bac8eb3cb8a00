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
	"fmt"
	"regexp"
	"strings"

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
	Resource:          checkFunction,
	New:               newFunction,
	Split:             httpenrich.Split,
}

// TargetSpec and EnricherSpec are the registry entries, added to plugin.Default.
var TargetSpec, EnricherSpec = Spec.Specs()

func init() {
	plugin.Default.AddTarget(TargetSpec)
	plugin.Default.AddEnricher(EnricherSpec)
}

// Function name and qualifier (version, alias or $LATEST) as Lambda's Invoke accepts them.
var (
	functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	qualifierRE    = regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9_-]{1,128})$`)
)

// checkFunction checks the resource of a function ARN: function:NAME[:QUALIFIER].
func checkFunction(field string, a awsclient.ARN) []plugin.FieldError {
	kind, rest, _ := strings.Cut(a.Resource, ":")
	if kind != "function" {
		return []plugin.FieldError{{Field: field, Message: fmt.Sprintf(
			"Lambda ARN resource %q is not function:NAME[:VERSION_OR_ALIAS]", a.Resource)}}
	}
	var errs []plugin.FieldError
	name, qualifier, qualified := strings.Cut(rest, ":")
	if !functionNameRE.MatchString(name) {
		errs = append(errs, plugin.FieldError{Field: field, Message: fmt.Sprintf(
			"Lambda function name %q must be 1 to 64 letters, digits, '-' or '_'", name)})
	}
	if qualified && !qualifierRE.MatchString(qualifier) {
		errs = append(errs, plugin.FieldError{Field: field, Message: fmt.Sprintf(
			"Lambda function qualifier %q must be $LATEST, a version or an alias (1 to 128 letters, digits, '-' or '_')", qualifier)})
	}
	return errs
}

// newFunction builds the invoker of a function with the pipe's AWS configuration in the ARN's region.
// It does no I/O: the function is first called by a delivery.
func newFunction(ctx context.Context, env plugin.Env, a awsclient.ARN, _, _ bool) (awsclient.Invoker, error) {
	cfg, err := env.AWS(ctx, a.Region)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration for lambda %s: %w", a, err)
	}
	return &function{arn: a.String(), client: lambda.NewFromConfig(cfg)}, nil
}
