package stepfunctions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

// machine starts the executions of one state machine, for the target and the enrichment.
type machine struct {
	arn    string
	client *sfn.Client
}

var _ awsclient.Invoker = (*machine)(nil)

// Invoke starts an execution with payload as its input. When wait, it runs it synchronously
// (StartSyncExecution, EXPRESS only) and returns its output; an execution that did not succeed is an
// *awsclient.ResourceError with the execution's error and cause. Otherwise it starts it
// (StartExecution) and returns at once. Errors of the call are classified.
func (m *machine) Invoke(ctx context.Context, payload []byte, wait bool) ([]byte, error) {
	input, name := aws.String(string(payload)), aws.String(executionName())
	if !wait {
		if _, err := m.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: &m.arn, Name: name, Input: input}); err != nil {
			return nil, fmt.Errorf("starting state machine %s: %w", m.arn, classify(err))
		}
		return nil, nil
	}
	out, err := m.client.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: &m.arn, Name: name, Input: input})
	if err != nil {
		return nil, fmt.Errorf("running state machine %s: %w", m.arn, classify(err))
	}
	if out.Status != types.SyncExecutionStatusSucceeded {
		return nil, awsclient.NewResourceError("execution "+aws.ToString(out.ExecutionArn), string(out.Status),
			aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	return []byte(aws.ToString(out.Output)), nil
}

// classify is awsclient.Classify plus the one Step Functions code it does not know: a state machine of
// the wrong type for the call (STANDARD for StartSyncExecution) is permanent.
func classify(err error) error {
	var wrong *types.StateMachineTypeNotSupported
	if errors.As(err, &wrong) {
		return plugin.Permanent(err)
	}
	return awsclient.Classify(err)
}

// executionName is a fresh name for an execution, so that a retried batch never collides with the
// execution of an earlier attempt: 32 random hex digits, within the 80 characters and the character
// set names allow.
func executionName() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
