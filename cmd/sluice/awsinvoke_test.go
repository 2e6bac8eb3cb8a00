package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// TestRunBinaryInvoke runs the built binary against Lambda and Step Functions, each batch as one JSON
// array: records on the real broker reach a function (the fault proxy's Lambda-protocol function, as
// --aws-endpoint) and an EXPRESS state machine run by moto, whose StartSyncExecution goes to
// AWS_ENDPOINT_URL_SFN as it is (the SDK would otherwise prefix the host with "sync-").
func TestRunBinaryInvoke(t *testing.T) {
	c, topic := awstest.ProduceIDs(t, 4)
	endpoint := awstest.Endpoint(t)
	awstest.MotoConfig(t, endpoint, map[string]any{"stepfunctions": map[string]any{"execute_state_machine": true}})
	proxy := awstest.NewFaultProxy(t, endpoint)
	var (
		mu       sync.Mutex
		received [][]int // by the function
	)
	proxy.Add(awstest.Lambda(func(inv awstest.Invocation) awstest.FunctionResult {
		ids, err := awstest.IDs(inv.Payload)
		if err == nil {
			mu.Lock()
			received = append(received, ids)
			mu.Unlock()
		}
		return awstest.FunctionResult{Payload: []byte(`{}`)}
	}))
	proxy.Add(awstest.SyncExecutions())
	states := sfn.NewFromConfig(awstest.Config(t, ""))
	sm, err := states.CreateStateMachine(t.Context(), &sfn.CreateStateMachineInput{
		Name:       aws.String(fmt.Sprintf("run-states-%d", time.Now().UnixNano())),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String(awstest.RoleArn("states")),
		Type:       sfntypes.StateMachineTypeExpress,
	})
	if err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	}

	for _, tc := range []struct {
		name, target, awsEndpoint, sfnEndpoint string
		delivered                              func() ([][]int, error)
	}{
		{"lambda", "arn:aws:lambda:us-east-1:" + awstest.Account + ":function:f", proxy.URL, "", func() ([][]int, error) {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(received), nil
		}},
		{"states", aws.ToString(sm.StateMachineArn), endpoint, proxy.URL, func() ([][]int, error) {
			list, err := states.ListExecutions(t.Context(), &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
			if err != nil {
				return nil, err
			}
			slices.SortFunc(list.Executions, func(a, b sfntypes.ExecutionListItem) int { return a.StartDate.Compare(aws.ToTime(b.StartDate)) })
			var inputs [][]int
			for _, e := range list.Executions {
				d, err := states.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
				if err != nil {
					return nil, err
				}
				ids, err := awstest.IDs([]byte(aws.ToString(d.Input)))
				if err != nil {
					return nil, err
				}
				inputs = append(inputs, ids)
			}
			return inputs, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def, _ := json.Marshal(awstest.KafkaPipe(t, c, topic, 3, nil, map[string]any{"Target": tc.target,
				"TargetParameters": map[string]any{"InputTemplate": `{"id": <$.value.id>}`}}))
			cmd := exec.Command(sluicetest.Binary(t), "run", "--file", writeFile(t, "pipe.json", string(def)), "--aws-endpoint", tc.awsEndpoint)
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
			if tc.sfnEndpoint != "" {
				cmd.Env = append(cmd.Env, "AWS_ENDPOINT_URL_SFN="+tc.sfnEndpoint)
			}
			p := sluicetest.StartCmd(t, cmd)
			batches := awstest.WaitBatches(t, 4, func() ([][]int, error) {
				if p.Exited() {
					t.Fatalf("sluice run exited:\n%s", sluicetest.Tail(p.Stderr.String(), 3000))
				}
				return tc.delivered()
			})
			for _, b := range batches {
				if len(b) > 3 {
					t.Errorf("batch %v: want at most 3 events (BatchSize 3)", b)
				}
			}
			if got := slices.Concat(batches...); !slices.Equal(got, []int{0, 1, 2, 3}) {
				t.Errorf("%s received %v, want [0 1 2 3] in order", tc.target, got)
			}
		})
	}
}
