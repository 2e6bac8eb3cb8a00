package lambda

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"

	_ "github.com/sluicehq/sluice/internal/target/file" // dead letters
)

// End-to-end tests: records produced on the real broker go through a pipe run in this process into
// Lambda. The function is a FaultProxy rule speaking Lambda's Invoke protocol (moto's Lambda cannot run
// a function without Docker, and its Docker-free mode only echoes), recording every invocation and
// failing on demand; TestPipeEnrichmentMoto uses moto's own Docker-free Lambda.

// produce writes n records {"id": i} to a new topic on the real broker.
func produce(t *testing.T, n int) (*kafkatest.Cluster, string) { return awstest.ProduceIDs(t, n) }

// ids returns the "id" of each element of a batch array.
func ids(t *testing.T, payload []byte) []int {
	t.Helper()
	out, err := awstest.IDs(payload)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// delivered waits until the invocations of function that the rule let through (not answered with a
// fault) carry at least n events, and returns their batches.
func delivered(t *testing.T, p *awstest.FaultProxy, function string, n int, ok func(awstest.Invocation) bool) [][]int {
	t.Helper()
	return awstest.WaitBatches(t, n, func() ([][]int, error) {
		var batches [][]int
		for _, inv := range p.Invocations() {
			if inv.Function == function && ok(inv) {
				b, err := awstest.IDs(inv.Payload)
				if err != nil {
					return nil, err
				}
				batches = append(batches, b)
			}
		}
		return batches, nil
	})
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestPipeTarget delivers 7 records with BatchSize 3: one Invoke per batch with the batch as one JSON
// array of the rendered events, in order, with the invocation type of LambdaFunctionParameters.
func TestPipeTarget(t *testing.T) {
	for _, tc := range []struct{ invocationType, wantType string }{
		{"REQUEST_RESPONSE", "RequestResponse"},
		{"FIRE_AND_FORGET", "Event"},
	} {
		t.Run(tc.invocationType, func(t *testing.T) {
			c, topic := produce(t, 7)
			p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
			p.Add(awstest.Lambda(echo))
			fn := fnARN + ":live"
			awstest.RunDefinition(t, awstest.KafkaPipe(t, c, topic, 3, nil, map[string]any{
				"Target": fn,
				"TargetParameters": map[string]any{
					"InputTemplate":            `{"id": <$.value.id>, "offset": <$.offset>}`,
					"LambdaFunctionParameters": map[string]any{"InvocationType": tc.invocationType},
				},
			}), p.URL)
			batches := delivered(t, p, fn, 7, func(awstest.Invocation) bool { return true })
			var all []int
			for _, b := range batches {
				if len(b) == 0 || len(b) > 3 {
					t.Errorf("batch %v: want 1 to 3 events (BatchSize 3)", b)
				}
				all = append(all, b...)
			}
			if !slices.Equal(all, seq(7)) {
				t.Errorf("events in invocation order = %v, want %v", all, seq(7))
			}
			for _, inv := range p.Invocations() {
				if inv.Type != tc.wantType {
					t.Errorf("invocation type %q, want %q", inv.Type, tc.wantType)
				}
			}
			// The calls are made with the pipe's role, assumed through STS: temporary credentials.
			for _, call := range p.Calls("") {
				if strings.HasPrefix(call.Op, awstest.InvokeOp) && (call.Header.Get("X-Amz-Security-Token") == "" ||
					!strings.Contains(call.Header.Get("Authorization"), "Credential=ASIA")) {
					t.Errorf("Invoke signed with %q, want the assumed role's temporary credentials", call.Header.Get("Authorization"))
				}
			}
		})
	}
}

// deadLetters waits until the dead-letter file holds n records and returns their offsets, reasons,
// error classes and whether the error names the function's message.
func deadLetters(t *testing.T, path string, n int) []string {
	t.Helper()
	var out []string
	for _, dl := range awstest.DeadLetters(t, path, n) {
		out = append(out, fmt.Sprintf("%d %s %s %v", dl.Offset, dl.Reason, dl.ErrorClass, strings.Contains(dl.Error, "order 3 is poison")))
	}
	return out
}

// TestPipeFunctionError: a function that fails on one record fails its batches; the runtime retries
// them (MaximumRetryAttempts 2), then bisects and dead-letters that record alone, and the others are
// delivered.
func TestPipeFunctionError(t *testing.T) {
	c, topic := produce(t, 7)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	p.Add(awstest.Lambda(func(inv awstest.Invocation) awstest.FunctionResult {
		if slices.Contains(ids(t, inv.Payload), 3) {
			return awstest.FunctionResult{FunctionError: "Unhandled", Payload: []byte(`{"errorType":"ValueError","errorMessage":"order 3 is poison"}`)}
		}
		return awstest.FunctionResult{Payload: []byte(`null`)}
	}))
	dlq := filepath.Join(t.TempDir(), "dead.jsonl")
	awstest.RunDefinition(t, awstest.KafkaPipe(t, c, topic, 3,
		map[string]any{"MaximumRetryAttempts": 2, "DeadLetterConfig": map[string]any{"Arn": "file://" + dlq}},
		map[string]any{"Target": fnARN, "TargetParameters": map[string]any{"InputTemplate": `{"id": <$.value.id>}`}}), p.URL)

	if got, want := deadLetters(t, dlq, 1), []string{"3 retries-exhausted retryable true"}; !slices.Equal(got, want) {
		t.Errorf("dead letters = %v, want %v", got, want)
	}
	succeeded := func(inv awstest.Invocation) bool { return !slices.Contains(ids(t, inv.Payload), 3) }
	var got []int
	for _, b := range delivered(t, p, fnARN, 6, succeeded) {
		got = append(got, b...)
	}
	if want := []int{0, 1, 2, 4, 5, 6}; !slices.Equal(got, want) {
		t.Errorf("events delivered = %v, want %v", got, want)
	}
	failed := 0
	for _, inv := range p.Invocations() {
		if !succeeded(inv) {
			failed++
		}
	}
	// The batch [3 4 5] is tried 3 times (2 retries), then bisected: [3] 3 times more.
	if failed < 6 {
		t.Errorf("%d invocations with the failing record, want at least 6 (retries, then alone)", failed)
	}
}

// TestPipeThrottled: Invoke answered TooManyRequestsException counts as throttling (the pipe's
// ExecutionThrottled, which lowers its concurrency) and is retried until the function takes the batch.
func TestPipeThrottled(t *testing.T) {
	c, topic := produce(t, 4)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	p.Fail(awstest.InvokeOp, 3, awstest.Throttle("TooManyRequestsException"))
	var (
		mu  sync.Mutex
		got []int // what the function received
	)
	p.Add(awstest.Lambda(func(inv awstest.Invocation) awstest.FunctionResult {
		b, _ := awstest.IDs(inv.Payload)
		mu.Lock()
		got = append(got, b...)
		mu.Unlock()
		return echo(inv)
	}))
	pp := awstest.RunDefinition(t, awstest.KafkaPipe(t, c, topic, 10, nil, map[string]any{
		"Target": fnARN, "TargetParameters": map[string]any{"InputTemplate": `{"id": <$.value.id>}`}}), p.URL)
	kafkatest.Eventually(t, 60*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) < 4 {
			return fmt.Errorf("the function received %v, want 4 events", got)
		}
		return nil
	})
	mu.Lock()
	if !slices.Equal(got, seq(4)) {
		t.Errorf("the function received %v, want %v once each", got, seq(4))
	}
	mu.Unlock()
	if n := pp.Counter(t, "sluice_pipe_executions_throttled_total"); n != 3 {
		t.Errorf("sluice_pipe_executions_throttled_total = %v, want 3", n)
	}
	if n := len(p.Invocations()); n < 4 {
		t.Errorf("%d Invoke calls, want the 3 throttled and the ones that went through", n)
	}
}

// TestPipeEnrichment: the enrichment function gets each batch as one JSON array and its response is
// the new event list: an object is one event for the whole batch, an array one event per element, []
// skips the target.
func TestPipeEnrichment(t *testing.T) {
	const enricher = "arn:aws:lambda:us-east-1:123456789012:function:enrich"
	for _, tc := range []struct {
		name     string
		response func(ids []int) string
		want     func(batch []int) []int // the ids the target gets for one enrichment batch
	}{
		{"object: one event per batch", func(ids []int) string { return fmt.Sprintf(`{"id":%d}`, 100+len(ids)) },
			func(b []int) []int { return []int{100 + len(b)} }},
		{"array: one event per element", func(ids []int) string {
			var out []string
			for _, id := range ids {
				out = append(out, fmt.Sprintf(`{"id":%d},{"id":%d}`, id, 10*id))
			}
			return "[" + strings.Join(out, ",") + "]"
		}, func(b []int) []int {
			var out []int
			for _, id := range b {
				out = append(out, id, 10*id)
			}
			return out
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, topic := produce(t, 5)
			p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
			p.Add(awstest.Lambda(func(inv awstest.Invocation) awstest.FunctionResult {
				if inv.Function == enricher {
					return awstest.FunctionResult{Payload: []byte(tc.response(ids(t, inv.Payload)))}
				}
				return echo(inv)
			}))
			awstest.RunDefinition(t, awstest.KafkaPipe(t, c, topic, 2, nil, map[string]any{
				"Enrichment":           enricher,
				"EnrichmentParameters": map[string]any{"InputTemplate": `{"id": <$.value.id>}`},
				"Target":               fnARN,
			}), p.URL)
			var enriched []int
			for _, b := range delivered(t, p, enricher, 5, func(awstest.Invocation) bool { return true }) {
				if len(b) > 2 {
					t.Errorf("enrichment batch %v: want at most 2 events (BatchSize 2)", b)
				}
				enriched = append(enriched, tc.want(b)...)
			}
			var got []int
			for _, b := range delivered(t, p, fnARN, len(enriched), func(awstest.Invocation) bool { return true }) {
				got = append(got, b...)
			}
			if !slices.Equal(got, enriched) {
				t.Errorf("target events = %v, want %v", got, enriched)
			}
			for _, inv := range p.Invocations() {
				if inv.Function == enricher && inv.Type != "RequestResponse" {
					t.Errorf("enrichment invoked as %q, want RequestResponse", inv.Type)
				}
			}
		})
	}
}

// TestPipeEnrichmentSkip: an enrichment answering [] for every batch skips the target.
func TestPipeEnrichmentSkip(t *testing.T) {
	c, topic := produce(t, 3)
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	var enriched atomic.Int32
	p.Add(awstest.Lambda(func(inv awstest.Invocation) awstest.FunctionResult {
		if inv.Function == fnARN+":enrich" {
			var batch []json.RawMessage
			_ = json.Unmarshal(inv.Payload, &batch) // the source's events
			enriched.Add(int32(len(batch)))
			return awstest.FunctionResult{Payload: []byte(`[]`)}
		}
		return echo(inv)
	}))
	pp := awstest.RunDefinition(t, awstest.KafkaPipe(t, c, topic, 10, nil, map[string]any{
		"Enrichment": fnARN + ":enrich", "Target": fnARN,
	}), p.URL)
	kafkatest.Eventually(t, 60*time.Second, func() error {
		if n := enriched.Load(); n < 3 {
			return fmt.Errorf("%d events enriched, want 3", n)
		}
		if n := pp.Counter(t, "sluice_pipe_target_stage_skipped_total"); n == 0 {
			return fmt.Errorf("no target stage skipped yet")
		}
		return nil
	})
	for _, inv := range p.Invocations() {
		if inv.Function == fnARN {
			t.Errorf("the target was invoked with %s, want it skipped", inv.Payload)
		}
	}
}

// TestPipeEnrichmentMoto runs the enrichment on moto's own Lambda, without Docker (a function there
// echoes its event): the target gets the records' events unchanged.
func TestPipeEnrichmentMoto(t *testing.T) {
	c, topic := produce(t, 4)
	enricher := motoFunction(t, awstest.Endpoint(t))
	p := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	sink := awstest.Lambda(echo)
	sink.Op = awstest.InvokeOp + fnARN + "/" // the target only; the enrichment goes on to moto
	p.Add(sink)
	awstest.RunDefinition(t, awstest.KafkaPipe(t, c, topic, 10, nil, map[string]any{
		"Enrichment":           enricher,
		"EnrichmentParameters": map[string]any{"InputTemplate": `{"id": <$.value.id>, "via": "moto"}`},
		"Target":               fnARN,
	}), p.URL)
	var got []int
	for _, b := range delivered(t, p, fnARN, 4, func(inv awstest.Invocation) bool {
		return strings.Contains(string(inv.Payload), `"moto"`)
	}) {
		got = append(got, b...)
	}
	if !slices.Equal(got, seq(4)) {
		t.Errorf("target events = %v, want %v", got, seq(4))
	}
	enrichments := 0
	for _, call := range p.Calls("") {
		if strings.HasPrefix(call.Op, awstest.InvokeOp+enricher) && !call.Answered {
			enrichments++
		}
	}
	if enrichments == 0 {
		t.Errorf("no enrichment call reached moto")
	}
}
