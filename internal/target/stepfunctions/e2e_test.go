package stepfunctions

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"

	_ "github.com/sluicehq/sluice/internal/target/file" // targets and dead letters of the enrichment tests
)

// End-to-end tests: records produced on the real broker go through a pipe run in this process into
// moto's Step Functions, whose executions run their definitions (moto's execute_state_machine mode);
// StartSyncExecution, which moto's server lacks, is answered by awstest.SyncExecutions from moto's own
// executions. What a pipe started is read back with ListExecutions, DescribeExecution and
// GetExecutionHistory.

// batchInputs waits until the state machine's executions that ended carry n events in all and returns
// their inputs' ids, in start order.
func batchInputs(t *testing.T, cl *sfn.Client, arn string, n int) [][]int {
	t.Helper()
	var batches [][]int
	kafkatest.Eventually(t, 60*time.Second, func() error {
		batches = nil
		ex := executions(t, cl, arn)
		slices.SortFunc(ex, func(a, b sfn.DescribeExecutionOutput) int { return a.StartDate.Compare(aws.ToTime(b.StartDate)) })
		total := 0
		for _, e := range ex {
			if e.Status == types.ExecutionStatusRunning {
				return fmt.Errorf("execution %s is still running", aws.ToString(e.ExecutionArn))
			}
			b, err := awstest.IDs([]byte(aws.ToString(e.Input)))
			if err != nil {
				return err
			}
			batches = append(batches, b)
			total += len(b)
		}
		if total < n {
			return fmt.Errorf("executions of %s carry %d events, want %d", arn, total, n)
		}
		return nil
	})
	return batches
}

// TestPipeTarget: 7 records with BatchSize 3 start one execution per batch whose input is the batch as
// one JSON array: synchronously on an EXPRESS state machine, without waiting on a STANDARD one.
func TestPipeTarget(t *testing.T) {
	p, cl := emulator(t)
	for _, tc := range []struct {
		name     string
		typ      types.StateMachineType
		params   map[string]any
		wantCall string
	}{
		{"express REQUEST_RESPONSE", types.StateMachineTypeExpress, nil, "StartSyncExecution"},
		{"standard FIRE_AND_FORGET", types.StateMachineTypeStandard, map[string]any{"InvocationType": "FIRE_AND_FORGET"}, "StartExecution"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, topic := awstest.ProduceIDs(t, 7)
			arn := createMachine(t, cl, tc.typ, passThrough)
			tp := map[string]any{"InputTemplate": `{"id": <$.value.id>, "partition": <$.partition>}`}
			if tc.params != nil {
				tp[Member] = tc.params
			}
			awstest.RunPipe(t, awstest.KafkaPipe(t, c, topic, 3, nil, map[string]any{"Target": arn, "TargetParameters": tp}), p.URL)
			var all []int
			batches := batchInputs(t, cl, arn, 7)
			for _, b := range batches {
				if len(b) == 0 || len(b) > 3 {
					t.Errorf("execution input %v: want 1 to 3 events (BatchSize 3)", b)
				}
				all = append(all, b...)
			}
			if want := []int{0, 1, 2, 3, 4, 5, 6}; !slices.Equal(all, want) {
				t.Errorf("events in execution order = %v, want %v", all, want)
			}
			calls := 0
			for _, call := range p.Calls(tc.wantCall) {
				if strings.Contains(string(call.Body), arn) {
					calls++
				}
			}
			if calls != len(batches) {
				t.Errorf("%d %s calls for %d executions", calls, tc.wantCall, len(batches))
			}
			// The execution history shows the input the execution started with.
			ex := executions(t, cl, arn)
			h, err := cl.GetExecutionHistory(context.Background(), &sfn.GetExecutionHistoryInput{ExecutionArn: ex[0].ExecutionArn})
			if err != nil {
				t.Fatalf("GetExecutionHistory: %v", err)
			}
			if len(h.Events) == 0 || h.Events[0].Type != types.HistoryEventTypeExecutionStarted ||
				!strings.HasPrefix(aws.ToString(h.Events[0].ExecutionStartedEventDetails.Input), "[") {
				t.Errorf("execution history starts with %+v, want ExecutionStarted with the batch array", h.Events[:min(1, len(h.Events))])
			}
		})
	}
}

// TestPipeFailedExecution: an execution that fails fails the delivery; after the retries the records
// are dead-lettered with the execution's error.
func TestPipeFailedExecution(t *testing.T) {
	p, cl := emulator(t)
	arn := createMachine(t, cl, types.StateMachineTypeExpress, fail)
	c, topic := awstest.ProduceIDs(t, 2)
	dlq := filepath.Join(t.TempDir(), "dead.jsonl")
	awstest.RunPipe(t, awstest.KafkaPipe(t, c, topic, 2,
		map[string]any{"MaximumRetryAttempts": 1, "DeadLetterConfig": map[string]any{"Arn": "file://" + dlq}},
		map[string]any{"Target": arn}), p.URL)
	var got []string
	for _, dl := range awstest.DeadLetters(t, dlq, 2) {
		got = append(got, fmt.Sprintf("%d %s %s %v", dl.Offset, dl.Reason, dl.ErrorClass, strings.Contains(dl.Error, "failed (FAILED): OrderRejected: no customer")))
	}
	slices.Sort(got)
	if want := []string{"0 retries-exhausted retryable true", "1 retries-exhausted retryable true"}; !slices.Equal(got, want) {
		t.Errorf("dead letters = %v, want %v", got, want)
	}
	// [0 1] twice (one retry), then [0] and [1] twice each.
	if n := len(executions(t, cl, arn)); n < 6 {
		t.Errorf("%d executions, want at least 6", n)
	}
}

// TestPipeThrottled: StartSyncExecution answered ThrottlingException counts as throttling (the pipe's
// ExecutionThrottled) and is retried until the execution starts.
func TestPipeThrottled(t *testing.T) {
	throttle := awstest.Throttle("ThrottlingException")
	p, cl := emulator(t, awstest.Rule{Op: "StartSyncExecution", Times: 2, Error: &throttle})
	arn := createMachine(t, cl, types.StateMachineTypeExpress, passThrough)
	c, topic := awstest.ProduceIDs(t, 3)
	pp := awstest.RunPipe(t, awstest.KafkaPipe(t, c, topic, 10, nil, map[string]any{
		"Target": arn, "TargetParameters": map[string]any{"InputTemplate": `{"id": <$.value.id>}`}}), p.URL)
	if got := batchInputs(t, cl, arn, 3); !slices.Equal(slices.Concat(got...), []int{0, 1, 2}) {
		t.Errorf("executions carry %v, want [0 1 2]", got)
	}
	if n := pp.Counter(t, "sluice_pipe_executions_throttled_total"); n != 2 {
		t.Errorf("sluice_pipe_executions_throttled_total = %v, want 2", n)
	}
	if n := len(p.Calls("StartSyncExecution")); n != 2+len(executions(t, cl, arn)) {
		t.Errorf("%d StartSyncExecution calls, want the 2 throttled and one per execution", n)
	}
}

// TestPipeStandardRequestResponse: a pipe whose target is a STANDARD state machine with
// REQUEST_RESPONSE passes validation (the ARN does not tell the type) and fails to build, permanently.
func TestPipeStandardRequestResponse(t *testing.T) {
	p, cl := emulator(t)
	arn := createMachine(t, cl, types.StateMachineTypeStandard, passThrough)
	c, topic := awstest.ProduceIDs(t, 1)
	raw, _ := json.Marshal(awstest.KafkaPipe(t, c, topic, 1, nil, map[string]any{"Target": arn}))
	d, err := pipe.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	d.SetDefaults()
	if errs := d.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	if _, err := awstest.StartPipe(t, d, p.URL); !plugin.IsPermanent(err) || !strings.Contains(err.Error(), "STANDARD") {
		t.Fatalf("building the pipe = %v, want a permanent error naming STANDARD", err)
	}
}

// TestPipeEnrichment: an EXPRESS enrichment gets each batch as one JSON array; its output replaces the
// batch (here one summary object per batch), which the file target writes.
func TestPipeEnrichment(t *testing.T) {
	p, cl := emulator(t)
	arn := createMachine(t, cl, types.StateMachineTypeExpress, summary)
	c, topic := awstest.ProduceIDs(t, 5)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	awstest.RunPipe(t, awstest.KafkaPipe(t, c, topic, 2, nil, map[string]any{
		"Enrichment":           arn,
		"EnrichmentParameters": map[string]any{"InputTemplate": `{"id": <$.value.id>}`},
		"Target":               "file://" + out,
	}), p.URL)
	batches := batchInputs(t, cl, arn, 5)
	var want []string
	for _, b := range batches {
		if len(b) > 2 {
			t.Errorf("enrichment input %v: want at most 2 events (BatchSize 2)", b)
		}
		var events []string
		for _, id := range b {
			events = append(events, fmt.Sprintf(`{"id":%d}`, id))
		}
		want = append(want, fmt.Sprintf(`{"count":%d,"events":[%s]}`, len(b), strings.Join(events, ",")))
	}
	var got []string
	kafkatest.Eventually(t, 30*time.Second, func() error {
		data, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		got = strings.Fields(string(data)) // one compact JSON document per line
		if len(got) < len(want) {
			return fmt.Errorf("%d lines in %s, want %d", len(got), out, len(want))
		}
		return nil
	})
	for i := range got {
		var v any
		if err := json.Unmarshal([]byte(got[i]), &v); err != nil {
			t.Fatalf("target line %q: %v", got[i], err)
		}
		b, _ := json.Marshal(v)
		got[i] = string(b)
	}
	if !slices.Equal(got, want) {
		t.Errorf("target events =\n%v\nwant\n%v", got, want)
	}
	if n := len(p.Calls("StartSyncExecution")); n != len(batches) {
		t.Errorf("%d StartSyncExecution calls, want one per batch (%d)", n, len(batches))
	}
}
