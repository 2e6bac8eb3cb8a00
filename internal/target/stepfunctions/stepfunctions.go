// Package stepfunctions is the AWS Step Functions target and enrichment (pipes-spec §6, §7): the
// whole batch starts one execution, its input one JSON array (an array even for one event; a payload
// that is not JSON is sent as a JSON string), at most 256 KB. What it shares with Lambda is
// awsclient.InvokeSpec.
//
// Target and Enrichment string: a state machine ARN, unqualified or with a version or alias,
//
//	arn:aws:states:us-east-1:123456789012:stateMachine:orders
//	arn:aws:states:us-east-1:123456789012:stateMachine:orders:prod
//
// Target parameters: "StepFunctionStateMachineParameters": {"InvocationType": "REQUEST_RESPONSE" |
// "FIRE_AND_FORGET"}. REQUEST_RESPONSE (the default) runs an EXPRESS state machine synchronously
// (StartSyncExecution) and waits for its result: an execution that FAILED or TIMED_OUT is an
// *awsclient.ResourceError that fails the delivery, which the runtime retries and, past the pipe's
// retry policy, dead-letters. FIRE_AND_FORGET starts the execution (StartExecution) of an EXPRESS or
// STANDARD state machine and does not wait. Errors of the calls go through awsclient.Classify:
// ThrottlingException and ExecutionLimitExceeded are overload, StateMachineDoesNotExist and
// AccessDenied permanent, the rest retried.
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
	httpenrich "github.com/sluicehq/sluice/internal/enrich/http"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Member is the TargetParameters member of the target.
const Member = "StepFunctionStateMachineParameters"

// MaxInputBytes is the most an execution's input holds (262,144 characters of UTF-8 JSON).
const MaxInputBytes = 256 << 10

// Spec is what the Step Functions target and enrichment are made of.
var Spec = awsclient.InvokeSpec{
	Service:         "states",
	Member:          Member,
	MaxPayloadBytes: MaxInputBytes,
	Resource: awsclient.ResourceForm{
		Type: "stateMachine", Noun: "state machine",
		// No white space, brackets, wildcards, the special characters Step Functions refuses, or
		// control characters.
		Name:          regexp.MustCompile("^[^\\s<>{}\\[\\]?*\"#%\\\\^|~`$&,;:/\\x00-\\x1f\\x7f-\\x9f]{1,80}$"),
		NameRule:      "1 to 80 characters without white space, brackets or special characters",
		Qualifier:     regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`),
		QualifierRule: "a version number or an alias (letters, digits, '-' or '_')",
	},
	New:   newMachine,
	Split: httpenrich.Split,
}

func init() { Spec.AddTo(plugin.Default) }

// newMachine builds the runner of a state machine. For synchronous use it asks DescribeStateMachine for
// the type and refuses a STANDARD one.
func newMachine(ctx context.Context, cfg aws.Config, a awsclient.ARN, wait, enrichment bool) (awsclient.Invoker, error) {
	m := &machine{arn: a.String(), client: sfn.NewFromConfig(cfg, func(o *sfn.Options) {
		if o.BaseEndpoint != nil {
			o.APIOptions = append(o.APIOptions, noHostPrefix)
		}
	})}
	if !wait {
		return m, nil
	}
	what := "an enrichment must be an EXPRESS state machine"
	if !enrichment {
		what = fmt.Sprintf("TargetParameters.%s.InvocationType %s needs an EXPRESS state machine; use %s",
			Member, awsclient.RequestResponse, awsclient.FireAndForget)
	}
	if err := m.checkType(ctx, a, what); err != nil {
		return nil, err
	}
	return m, nil
}

// noHostPrefix keeps StartSyncExecution on an overridden endpoint: the SDK would send it to
// "sync-" + the endpoint's host, which names AWS's synchronous endpoint but no emulator.
func noHostPrefix(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("SluiceNoHostPrefix",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
		}), middleware.Before)
}

// checkType refuses a STANDARD state machine where only EXPRESS can serve (what says why). It asks
// DescribeStateMachine of the unqualified ARN (a version or alias has its state machine's type); a role
// without that permission skips the check.
func (m *machine) checkType(ctx context.Context, a awsclient.ARN, what string) error {
	base := a
	if parts := strings.SplitN(a.Resource, ":", 3); len(parts) == 3 {
		base.Resource = parts[0] + ":" + parts[1]
	}
	out, err := m.client.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(base.String())})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && strings.HasPrefix(api.ErrorCode(), "AccessDenied") {
			return nil
		}
		return fmt.Errorf("describing state machine %s: %w", base, awsclient.Classify(err))
	}
	if out.Type == types.StateMachineTypeStandard {
		return plugin.Permanent(fmt.Errorf("state machine %s is a STANDARD workflow: %s", m.arn, what))
	}
	return nil
}
