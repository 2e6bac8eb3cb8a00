package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/retry"

	_ "github.com/sluicehq/sluice/internal/target/file" // targets and dead letters of the enrichment tests
)

// The registry entries under test.
var targetSpec, enricherSpec = Spec.Specs()

// Definitions of the test state machines.
const (
	// passThrough outputs its input.
	passThrough = `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`
	// summary outputs one object: how many events, and the events.
	summary = `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"count.$":"States.ArrayLength($)","events.$":"$"},"End":true}}}`
	// fail fails every execution.
	fail = `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"OrderRejected","Cause":"no customer"}}}`
)

// emulator sets moto up to run state machines (its execute_state_machine mode) and returns a
// FaultProxy in front of it that answers StartSyncExecution with moto's executions, after the rules
// given (which therefore come first), with a client of moto itself.
func emulator(t *testing.T, rules ...awstest.Rule) (*awstest.FaultProxy, *sfn.Client) {
	t.Helper()
	ep := kafkatest.AWSEndpoint(t)
	awstest.MotoConfig(t, ep, map[string]any{"stepfunctions": map[string]any{"execute_state_machine": true}})
	p := awstest.NewFaultProxy(t, ep)
	for _, r := range rules {
		p.Add(r)
	}
	p.Add(awstest.SyncExecutions())
	// The test's own client keeps the SDK's retries (a pipe's have none): a keep-alive connection the
	// emulator dropped is retried instead of failing the setup.
	return p, sfn.NewFromConfig(awstest.Config(t, "us-east-1"))
}

// createMachine creates a state machine of type typ in moto and returns its ARN.
func createMachine(t *testing.T, cl *sfn.Client, typ types.StateMachineType, definition string) string {
	t.Helper()
	out, err := cl.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name:       aws.String(fmt.Sprintf("sluice-%d", time.Now().UnixNano())),
		Definition: aws.String(definition),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/sfn"),
		Type:       typ,
	})
	if err != nil {
		t.Fatalf("creating a %s state machine in moto: %v", typ, err)
	}
	return aws.ToString(out.StateMachineArn)
}

// executions returns the inputs and statuses of a state machine's executions, read back from moto.
func executions(t *testing.T, cl *sfn.Client, arn string) []sfn.DescribeExecutionOutput {
	t.Helper()
	list, err := cl.ListExecutions(context.Background(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListExecutions(%s): %v", arn, err)
	}
	var out []sfn.DescribeExecutionOutput
	for _, e := range list.Executions {
		d, err := cl.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
		if err != nil {
			t.Fatalf("DescribeExecution(%s): %v", aws.ToString(e.ExecutionArn), err)
		}
		out = append(out, *d)
	}
	return out
}

func raws(ss ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(ss))
	for i, s := range ss {
		out[i] = json.RawMessage(s)
	}
	return out
}

func newTestTarget(t *testing.T, p *awstest.FaultProxy, arn, params string) (plugin.Target, error) {
	t.Helper()
	c := plugin.Check{Endpoint: arn}
	if params != "" {
		c.Params = json.RawMessage(params)
	}
	return targetSpec.New(context.Background(), plugin.Env{PipeName: "sfn-test", AWS: awstest.AWSAt(t, p.URL)}, c)
}

const fireAndForget = `{"StepFunctionStateMachineParameters":{"InvocationType":"FIRE_AND_FORGET"}}`

// TestDeliver checks one execution per batch with the batch as one JSON array, synchronous on an
// EXPRESS state machine and started without waiting on EXPRESS and STANDARD ones, read back from moto.
func TestDeliver(t *testing.T) {
	p, cl := emulator(t)
	for _, tc := range []struct {
		name     string
		typ      types.StateMachineType
		params   string
		wantCall string
	}{
		{"express request-response", types.StateMachineTypeExpress, ``, "StartSyncExecution"},
		{"express fire-and-forget", types.StateMachineTypeExpress, fireAndForget, "StartExecution"},
		{"standard fire-and-forget", types.StateMachineTypeStandard, fireAndForget, "StartExecution"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arn := createMachine(t, cl, tc.typ, passThrough)
			before := len(p.Calls(tc.wantCall))
			tg, err := newTestTarget(t, p, arn, tc.params)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if err := tg.Deliver(context.Background(), plugin.Batch{Payloads: raws(`{"id":1}`, `text`, `{"id":3}`)}); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if n := len(p.Calls(tc.wantCall)) - before; n != 1 {
				t.Errorf("%d %s calls, want 1", n, tc.wantCall)
			}
			var ex []sfn.DescribeExecutionOutput
			kafkatest.Eventually(t, 10*time.Second, func() error {
				ex = executions(t, cl, arn)
				if len(ex) != 1 || ex[0].Status == types.ExecutionStatusRunning {
					return fmt.Errorf("%d executions, want one that ended", len(ex))
				}
				return nil
			})
			var got []string
			for _, e := range ex {
				var v any
				if err := json.Unmarshal([]byte(aws.ToString(e.Input)), &v); err != nil {
					t.Fatalf("execution input %s: %v", aws.ToString(e.Input), err)
				}
				b, _ := json.Marshal(v)
				got = append(got, string(b)+" "+string(e.Status))
			}
			if diff := cmp.Diff([]string{`[{"id":1},"text",{"id":3}] SUCCEEDED`}, got); diff != "" {
				t.Errorf("executions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeliverFailures checks the errors of a delivery: a failed execution is retried, StartSyncExecution
// throttled is overload, a full execution quota too, a state machine that does not exist is permanent.
func TestDeliverFailures(t *testing.T) {
	p, cl := emulator(t)
	failing := createMachine(t, cl, types.StateMachineTypeExpress, fail)
	tg, err := newTestTarget(t, p, failing, ``)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	err = tg.Deliver(context.Background(), plugin.Batch{Payloads: raws(`{}`)})
	var re *awsclient.ResourceError
	if !errors.As(err, &re) || re.Status != "FAILED" || re.Code != "OrderRejected" || re.Message != "no customer" {
		t.Fatalf("Deliver = %v, want the execution's failure", err)
	}
	if c, _ := retry.Classify(err); c != retry.Retryable {
		t.Errorf("a failed execution is %v, want retryable", c)
	}

	ok := createMachine(t, cl, types.StateMachineTypeExpress, passThrough)
	for _, tc := range []struct {
		name string
		op   string
		err  awstest.APIError
		want retry.Class
	}{
		{"throttled", "StartSyncExecution", awstest.Throttle("ThrottlingException"), retry.Throttled},
		{"execution quota", "StartSyncExecution", awstest.APIError{Code: "ExecutionLimitExceeded", Message: "limit"}, retry.Throttled},
		{"no such state machine", "StartSyncExecution", awstest.APIError{Code: "StateMachineDoesNotExist", Message: "gone"}, retry.Permanent},
		{"throttled fire and forget", "StartExecution", awstest.Throttle("ThrottlingException"), retry.Throttled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := ``
			if tc.op == "StartExecution" {
				params = fireAndForget
			}
			p, _ := emulator(t, awstest.Rule{Op: tc.op, Times: 1, Error: &tc.err})
			tg, err := newTestTarget(t, p, ok, params)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = tg.Deliver(context.Background(), plugin.Batch{Payloads: raws(`{}`)})
			if c, _ := retry.Classify(err); err == nil || c != tc.want {
				t.Fatalf("Deliver = %v (%v), want a %v error", err, c, tc.want)
			}
			if !strings.Contains(err.Error(), tc.err.Code) || !strings.Contains(err.Error(), ok) {
				t.Errorf("error %q does not name the state machine and %s", err, tc.err.Code)
			}
		})
	}
}

// TestStandardRequestResponse checks that a STANDARD state machine is refused, at New, for
// REQUEST_RESPONSE and as an enrichment.
func TestStandardRequestResponse(t *testing.T) {
	denied := awstest.APIError{Code: "AccessDeniedException", Message: "denied"}
	p, cl := emulator(t, awstest.Rule{Op: "DescribeStateMachine", Skip: 2, Times: 1, Error: &denied})
	arn := createMachine(t, cl, types.StateMachineTypeStandard, passThrough)
	if _, err := newTestTarget(t, p, arn, ``); !plugin.IsPermanent(err) || !strings.Contains(err.Error(), "STANDARD") {
		t.Errorf("New(STANDARD, REQUEST_RESPONSE) = %v, want a permanent error naming STANDARD", err)
	}
	_, err := enricherSpec.New(context.Background(), plugin.Env{AWS: awstest.AWSAt(t, p.URL)}, plugin.Check{Endpoint: arn})
	if !plugin.IsPermanent(err) || !strings.Contains(err.Error(), "EXPRESS") {
		t.Errorf("enrichment New(STANDARD) = %v, want a permanent error asking for EXPRESS", err)
	}
	// A role that may not describe the state machine (the third DescribeStateMachine is denied) skips
	// the check; StartSyncExecution then refuses it.
	tg, err := newTestTarget(t, p, arn, ``)
	if err != nil {
		t.Fatalf("New without DescribeStateMachine: %v", err)
	}
	if err := tg.Deliver(context.Background(), plugin.Batch{Payloads: raws(`{}`)}); !plugin.IsPermanent(err) {
		t.Errorf("Deliver to STANDARD with REQUEST_RESPONSE = %v, want a permanent error", err)
	}
}

// TestEnrich checks the enrichment's cardinality rules on moto's executions: the output array as is,
// one object for the whole batch, or nothing.
func TestEnrich(t *testing.T) {
	p, cl := emulator(t)
	in := raws(`{"id":1}`, `{"id":2}`)
	for _, tc := range []struct {
		name, definition string
		want             []json.RawMessage
	}{
		{"array out", passThrough, in},
		{"one object out", summary, raws(`{"count":2,"events":[{"id":1},{"id":2}]}`)},
		{"empty array out", `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":[],"End":true}}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arn := createMachine(t, cl, types.StateMachineTypeExpress, tc.definition)
			e, err := enricherSpec.New(context.Background(), plugin.Env{AWS: awstest.AWSAt(t, p.URL)}, plugin.Check{Endpoint: arn})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			got, err := e.Enrich(context.Background(), plugin.Batch{Payloads: in})
			if err != nil {
				t.Fatalf("Enrich: %v", err)
			}
			compact := func(rs []json.RawMessage) []string {
				var out []string
				for _, r := range rs {
					var v any
					_ = json.Unmarshal(r, &v)
					b, _ := json.Marshal(v)
					out = append(out, string(b))
				}
				return out
			}
			if diff := cmp.Diff(compact(tc.want), compact(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// End-to-end tests: records produced on the real broker go through a pipe run in this process into
// moto's Step Functions, whose executions run their definitions (moto's execute_state_machine mode);
// StartSyncExecution, which moto's server lacks, is answered by awstest.SyncExecutions from moto's own
// executions. What a pipe started is read back with ListExecutions, DescribeExecution and
// GetExecutionHistory.

// batchInputs waits until the state machine's executions that ended carry n events in all and returns
// their inputs' ids, in start order.
func batchInputs(t *testing.T, cl *sfn.Client, arn string, n int) [][]int {
	t.Helper()
	return awstest.WaitBatches(t, n, func() ([][]int, error) {
		ex := executions(t, cl, arn)
		slices.SortFunc(ex, func(a, b sfn.DescribeExecutionOutput) int { return a.StartDate.Compare(aws.ToTime(b.StartDate)) })
		var batches [][]int
		for _, e := range ex {
			if e.Status == types.ExecutionStatusRunning {
				return nil, fmt.Errorf("execution %s is still running", aws.ToString(e.ExecutionArn))
			}
			b, err := awstest.IDs([]byte(aws.ToString(e.Input)))
			if err != nil {
				return nil, err
			}
			batches = append(batches, b)
		}
		return batches, nil
	})
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
			awstest.RunDefinition(t, awstest.KafkaPipe(t, c, topic, 3, nil, map[string]any{"Target": arn, "TargetParameters": tp}), p.URL)
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
	awstest.RunDefinition(t, awstest.KafkaPipe(t, c, topic, 2,
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
	pp := awstest.RunDefinition(t, awstest.KafkaPipe(t, c, topic, 10, nil, map[string]any{
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
	d, err := pipe.Load(raw, plugin.Default, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
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
	awstest.RunDefinition(t, awstest.KafkaPipe(t, c, topic, 2, nil, map[string]any{
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
