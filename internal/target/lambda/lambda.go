// Package lambda is the AWS Lambda target and enrichment (pipes-spec §6, §7): the whole batch goes to
// the function in one Invoke, as one JSON array (an array even for one event; a payload that is not
// JSON is sent as a JSON string).
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
// Lambda's Event invocation, which returns once Lambda has queued the event (whose payload limit is
// then Lambda's asynchronous one, 1 MB). A function error (the X-Amz-Function-Error of a synchronous
// invocation, "Handled" or "Unhandled") fails the delivery, which the runtime retries and, past the
// pipe's retry policy, dead-letters, as it does any other failure. Errors of the Invoke call itself go
// through awsclient.Classify: TooManyRequestsException is overload (the pipe lowers its concurrency),
// ResourceNotFoundException and AccessDenied are permanent, the rest is retried.
//
// The enrichment always invokes synchronously (pipes-spec §6). The function's response, at most 6 MB, is
// the new list of events: a JSON array gives one event per element, "", {} and [] give none (the target
// is skipped), any other value one event (the same rules as the HTTP enrichment, httpenrich.Split). It
// takes no EnrichmentParameters beyond the runtime's InputTemplate.
package lambda

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Service is the ARN service, the registry kind of the target and the enrichment.
const Service = "lambda"

// Member is the TargetParameters member of the target.
const Member = "LambdaFunctionParameters"

// asyncPayloadBytes is the most an asynchronous (Event) invocation carries.
const asyncPayloadBytes = 1 << 20

func init() {
	plugin.Default.AddTarget(TargetSpec)
	plugin.Default.AddEnricher(EnricherSpec)
}

// TargetSpec is the registry entry of the Lambda target: no batch limit of its own (the pipe's
// BatchSize decides, as in Pipes), the 6 MB payload limit.
var TargetSpec = plugin.TargetSpec{
	Kinds:    []string{Service},
	Members:  []string{Member},
	Validate: validateTarget,
	New:      newTarget,
}

// EnricherSpec is the registry entry of the Lambda enrichment.
var EnricherSpec = plugin.EnricherSpec{
	Kinds:    []string{Service},
	Validate: validateEnricher,
	New:      newEnricher,
}

// Function name and qualifier (version, alias or $LATEST) as Lambda's Invoke accepts them.
var (
	functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	qualifierRE    = regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9_-]{1,128})$`)
)

// function is a parsed function ARN.
type function struct {
	arn, region, name, qualifier string
}

// parseFunction checks the function ARN in field and returns it with every problem found.
func parseFunction(field, value string) (function, []plugin.FieldError) {
	a, errs := awsclient.CheckARN(field, value, Service)
	if a.Resource == "" {
		return function{}, errs
	}
	f := function{arn: value, region: a.Region}
	kind, rest, _ := strings.Cut(a.Resource, ":")
	if kind != "function" {
		return f, append(errs, plugin.FieldError{Field: field, Message: fmt.Sprintf(
			"Lambda ARN resource %q is not function:NAME[:VERSION_OR_ALIAS]", a.Resource)})
	}
	f.name, f.qualifier, _ = strings.Cut(rest, ":")
	if !functionNameRE.MatchString(f.name) {
		errs = append(errs, plugin.FieldError{Field: field, Message: fmt.Sprintf(
			"Lambda function name %q must be 1 to 64 letters, digits, '-' or '_'", f.name)})
	}
	if strings.Contains(rest, ":") && !qualifierRE.MatchString(f.qualifier) {
		errs = append(errs, plugin.FieldError{Field: field, Message: fmt.Sprintf(
			"Lambda function qualifier %q must be $LATEST, a version or an alias (1 to 128 letters, digits, '-' or '_')", f.qualifier)})
	}
	return f, errs
}

// parameters decodes LambdaFunctionParameters strictly from the pipe's TargetParameters.
func parameters(c plugin.Check) (invocationType string, errs []plugin.FieldError) {
	return awsclient.InvocationType(c, "TargetParameters", Member)
}

func validateTarget(c plugin.Check) []plugin.FieldError {
	_, errs := parseFunction("Target", c.Endpoint)
	_, perrs := parameters(c)
	return append(errs, perrs...)
}

func validateEnricher(c plugin.Check) []plugin.FieldError {
	_, errs := parseFunction("Enrichment", c.Endpoint)
	return errs
}

// client builds the Lambda client of the function's region with the pipe's AWS configuration.
func client(ctx context.Context, env plugin.Env, f function) (*lambda.Client, error) {
	if env.AWS == nil {
		return nil, plugin.Permanent(fmt.Errorf("lambda %s: this host has no AWS support configured", f.arn))
	}
	cfg, err := env.AWS(ctx, f.region)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration for lambda %s: %w", f.arn, err)
	}
	return lambda.NewFromConfig(cfg), nil
}
