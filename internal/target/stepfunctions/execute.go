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

// runner starts the executions of one state machine, for the target and the enrichment.
type runner struct {
	m      machine
	client *sfn.Client
}

// ExecutionError is a state machine's own failure: the execution started and ended other than
// SUCCEEDED (FAILED, TIMED_OUT).
type ExecutionError struct {
	Execution string
	Status    types.SyncExecutionStatus
	// Code and Cause are the execution's error and cause, as the state machine reported them.
	Code, Cause string
}

func (e *ExecutionError) Error() string {
	msg := fmt.Sprintf("execution %s %s", e.Execution, e.Status)
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Cause != "" {
		msg += ": " + e.Cause
	}
	return msg
}

// maxCause bounds the cause kept in an ExecutionError (logs, dead letters).
const maxCause = 512

// input checks the size of an execution input.
func (r *runner) input(in []byte) (*string, error) {
	if len(in) > MaxInputBytes {
		// Step Functions would answer InvalidExecutionInput: no retry makes this batch smaller.
		return nil, plugin.Permanent(fmt.Errorf("state machine %s: the batch is %d bytes as one JSON array, over the %d bytes of an execution input",
			r.m.arn, len(in), MaxInputBytes))
	}
	return aws.String(string(in)), nil
}

// runSync runs an EXPRESS execution with input and returns its output. An execution that did not
// succeed is an *ExecutionError (retried); errors of the call itself are classified by classify.
func (r *runner) runSync(ctx context.Context, in []byte) ([]byte, error) {
	input, err := r.input(in)
	if err != nil {
		return nil, err
	}
	out, err := r.client.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{
		StateMachineArn: aws.String(r.m.arn),
		Name:            aws.String(executionName()),
		Input:           input,
	})
	if err != nil {
		return nil, fmt.Errorf("running state machine %s: %w", r.m.arn, classify(err))
	}
	if out.Status != types.SyncExecutionStatusSucceeded {
		cause := aws.ToString(out.Cause)
		if len(cause) > maxCause {
			cause = cause[:maxCause] + "..."
		}
		return nil, &ExecutionError{Execution: aws.ToString(out.ExecutionArn), Status: out.Status, Code: aws.ToString(out.Error), Cause: cause}
	}
	return []byte(aws.ToString(out.Output)), nil
}

// start starts an execution with input without waiting for it.
func (r *runner) start(ctx context.Context, in []byte) error {
	input, err := r.input(in)
	if err != nil {
		return err
	}
	_, err = r.client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(r.m.arn),
		Name:            aws.String(executionName()),
		Input:           input,
	})
	if err != nil {
		return fmt.Errorf("starting state machine %s: %w", r.m.arn, classify(err))
	}
	return nil
}

// classify is awsclient.Classify plus the Step Functions codes it does not know: a full execution
// quota is overload, a state machine that does not exist, is being deleted or has the wrong type for
// the call is permanent.
func classify(err error) error {
	var (
		limit    *types.ExecutionLimitExceeded
		missing  *types.StateMachineDoesNotExist
		deleting *types.StateMachineDeleting
		wrong    *types.StateMachineTypeNotSupported
	)
	switch {
	case errors.As(err, &limit):
		return &plugin.ThrottledError{Err: err}
	case errors.As(err, &missing), errors.As(err, &deleting), errors.As(err, &wrong):
		return plugin.Permanent(err)
	}
	return awsclient.Classify(err)
}

// executionName is a fresh name for an execution: 32 random hex digits, within the 80 characters and
// the character set names allow.
func executionName() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
