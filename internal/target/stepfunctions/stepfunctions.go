// Package stepfunctions is the AWS Step Functions target and enrichment (pipes-spec §6, §7): the
// whole batch starts one execution, its input one JSON array (an array even for one event; a payload
// that is not JSON is sent as a JSON string), at most 256 KB.
//
// Target and Enrichment string: a state machine ARN, unqualified or with a version or alias,
//
//	arn:aws:states:us-east-1:123456789012:stateMachine:orders
//	arn:aws:states:us-east-1:123456789012:stateMachine:orders:prod
//
// Target parameters: "StepFunctionStateMachineParameters": {"InvocationType": "REQUEST_RESPONSE" |
// "FIRE_AND_FORGET"}. REQUEST_RESPONSE (the default) runs an EXPRESS state machine synchronously
// (StartSyncExecution) and waits for its result: an execution that FAILED or TIMED_OUT fails the
// delivery, which the runtime retries and, past the pipe's retry policy, dead-letters. FIRE_AND_FORGET
// starts the execution (StartExecution) of an EXPRESS or STANDARD state machine and does not wait.
//
// A STANDARD state machine with REQUEST_RESPONSE, which Pipes refuses, cannot be told from its ARN, so
// Validate (which does no I/O) lets it through and the constructor refuses it: it asks
// DescribeStateMachine for the type and fails the pipe's start permanently on STANDARD. A role allowed
// to start executions but not to describe the state machine skips that check; StartSyncExecution then
// fails every delivery with StateMachineTypeNotSupported, a permanent error.
//
// The enrichment runs an EXPRESS state machine synchronously (a STANDARD one is refused the same way).
// Its output, at most 6 MB, is the new list of events: a JSON array gives one event per element, "",
// {} and [] give none (the target is skipped), any other value one event (httpenrich.Split's rules).
//
// Every execution gets a fresh random name, so that a retried batch never collides with the execution
// of an earlier attempt. With an endpoint override (--aws-endpoint, AWS_ENDPOINT_URL_SFN: LocalStack,
// moto) StartSyncExecution is sent to that endpoint as it is, without the "sync-" host prefix that
// AWS's own endpoints take.
package stepfunctions

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Service is the ARN service, the registry kind of the target and the enrichment.
const Service = "states"

// Member is the TargetParameters member of the target.
const Member = "StepFunctionStateMachineParameters"

// MaxInputBytes is the most an execution's input holds (262,144 characters of UTF-8 JSON).
const MaxInputBytes = 256 << 10

func init() {
	plugin.Default.AddTarget(TargetSpec)
	plugin.Default.AddEnricher(EnricherSpec)
}

// TargetSpec is the registry entry of the Step Functions target: no batch limit of its own (the
// pipe's BatchSize decides, as in Pipes), 256 KB per event.
var TargetSpec = plugin.TargetSpec{
	Kinds:           []string{Service},
	Members:         []string{Member},
	Validate:        validateTarget,
	MaxPayloadBytes: MaxInputBytes,
	New:             newTarget,
}

// EnricherSpec is the registry entry of the Step Functions enrichment.
var EnricherSpec = plugin.EnricherSpec{
	Kinds:           []string{Service},
	Validate:        validateEnricher,
	MaxPayloadBytes: MaxInputBytes,
	New:             newEnricher,
}

// A state machine name: 1 to 80 characters, none of them white space, brackets, wildcards, the
// special characters Step Functions refuses, or control characters; a qualifier (version or alias)
// of letters, digits, '-' and '_'.
var (
	machineNameRE = regexp.MustCompile("^[^\\s<>{}\\[\\]?*\"#%\\\\^|~`$&,;:/\\x00-\\x1f\\x7f-\\x9f]{1,80}$")
	qualifierRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
)

// machine is a parsed state machine ARN.
type machine struct {
	arn, region string
	// base is the ARN without version or alias, which DescribeStateMachine takes.
	base string
}

// parseMachine checks the state machine ARN in field and returns it with every problem found.
func parseMachine(field, value string) (machine, []plugin.FieldError) {
	a, errs := awsclient.CheckARN(field, value, Service)
	if a.Resource == "" {
		return machine{}, errs
	}
	m := machine{arn: value, region: a.Region, base: value}
	kind, rest, _ := strings.Cut(a.Resource, ":")
	if kind != "stateMachine" {
		return m, append(errs, plugin.FieldError{Field: field, Message: fmt.Sprintf(
			"Step Functions ARN resource %q is not stateMachine:NAME[:VERSION_OR_ALIAS]", a.Resource)})
	}
	name, qualifier, qualified := strings.Cut(rest, ":")
	if !machineNameRE.MatchString(name) {
		errs = append(errs, plugin.FieldError{Field: field, Message: fmt.Sprintf(
			"state machine name %q must be 1 to 80 characters without white space, brackets or special characters", name)})
	}
	if qualified {
		m.base = strings.TrimSuffix(value, ":"+qualifier)
		if !qualifierRE.MatchString(qualifier) {
			errs = append(errs, plugin.FieldError{Field: field, Message: fmt.Sprintf(
				"state machine qualifier %q must be a version or an alias (letters, digits, '-' or '_')", qualifier)})
		}
	}
	return m, errs
}

func validateTarget(c plugin.Check) []plugin.FieldError {
	_, errs := parseMachine("Target", c.Endpoint)
	_, perrs := awsclient.InvocationType(c, "TargetParameters", Member)
	return append(errs, perrs...)
}

func validateEnricher(c plugin.Check) []plugin.FieldError {
	_, errs := parseMachine("Enrichment", c.Endpoint)
	return errs
}

// client builds the Step Functions client of the state machine's region with the pipe's AWS
// configuration.
func client(ctx context.Context, env plugin.Env, m machine) (*sfn.Client, error) {
	if env.AWS == nil {
		return nil, plugin.Permanent(fmt.Errorf("state machine %s: this host has no AWS support configured", m.arn))
	}
	cfg, err := env.AWS(ctx, m.region)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration for state machine %s: %w", m.arn, err)
	}
	return sfn.NewFromConfig(cfg, func(o *sfn.Options) {
		if o.BaseEndpoint != nil {
			o.APIOptions = append(o.APIOptions, noHostPrefix)
		}
	}), nil
}

// noHostPrefix keeps StartSyncExecution on an overridden endpoint: the SDK would send it to
// "sync-" + the endpoint's host, which names AWS's synchronous endpoint but no emulator.
func noHostPrefix(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("SluiceNoHostPrefix",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
		}), middleware.Before)
}

// checkType refuses a STANDARD state machine where only EXPRESS can serve (what, a sentence naming
// the use). It asks DescribeStateMachine; a role without that permission skips the check.
func checkType(ctx context.Context, cl *sfn.Client, m machine, what string) error {
	out, err := cl.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(m.base)})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && strings.HasPrefix(api.ErrorCode(), "AccessDenied") {
			return nil
		}
		return fmt.Errorf("describing state machine %s: %w", m.base, awsclient.Classify(err))
	}
	if out.Type == types.StateMachineTypeStandard {
		return plugin.Permanent(fmt.Errorf("state machine %s is a STANDARD workflow: %s", m.arn, what))
	}
	return nil
}
