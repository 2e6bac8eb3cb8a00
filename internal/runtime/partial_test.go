package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
)

// batchAPITarget behaves like a batch API (SQS SendMessageBatch, Kinesis PutRecords): it takes every entry
// of a call, and on its first call refuses the entries at refuse (indexes into the call) while accepting
// the others, reporting them in a *plugin.PartialError. It records what it accepted, in order.
type batchAPITarget struct {
	refuse []int
	err    error

	mu       sync.Mutex
	calls    [][]string
	accepted []string
}

func (b *batchAPITarget) Deliver(_ context.Context, batch plugin.Batch) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var call []string
	for _, p := range batch.Payloads {
		call = append(call, string(p))
	}
	b.calls = append(b.calls, call)
	first := len(b.calls) == 1
	for i, p := range batch.Payloads {
		if first && slices.Contains(b.refuse, i) {
			continue
		}
		b.accepted = append(b.accepted, string(p))
	}
	if first {
		return &plugin.PartialError{Failed: b.refuse, Err: b.err}
	}
	return nil
}

// TestPartialFailure: a batch API target accepts entries 0, 1 and 3 of a call of 4 and refuses 2. The
// runtime counts entries 0 and 1 as delivered and retries from entry 2 on (re-sending 3, which keeps
// per-key order: at-least-once), so the calls are [0..3] then [2..5] (the rest of the batch, chunked
// anew), and the execution is reported as EXECUTION_PARTIALLY_FAILED in the execution log and the metrics.
func TestPartialFailure(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	var recs []*kgoRecord
	var want []string
	for i := range 6 {
		recs = append(recs, &kgoRecord{value: fmt.Sprintf(`{"i":%d}`, i)})
		want = append(want, fmt.Sprintf(`{"v": {"i":%d}}`, i))
	}
	produce(t, c, topic, recs)
	tgt := &batchAPITarget{refuse: []int{2}, err: errors.New("entry 2: InternalError")}
	reg := plugin.NewRegistry()
	s := fileSpec(tgt)
	s.MaxBatch = 4
	reg.AddTarget(s)
	def := definition(t, c, topic, spec{batchSize: 10, window: 1, target: "file:///unused", targetTemplate: `{"v": <$.value>}`})
	def.LogConfiguration = &pipe.LogConfiguration{Level: "ERROR"}
	var xlog syncBuffer
	promReg := prometheus.NewRegistry()
	d := deps(t, reg)
	d.ExecutionLog, d.Metrics = &xlog, promReg
	start(t, def, d)
	waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 6})

	tgt.mu.Lock()
	calls, accepted := tgt.calls, tgt.accepted
	tgt.mu.Unlock()
	wantCalls := [][]string{want[0:4], want[2:6]}
	if diff := cmp.Diff(wantCalls, calls); diff != "" {
		t.Errorf("target calls (-want +got):\n%s", diff)
	}
	// Entry 3 was accepted twice (at-least-once); every other entry once, all in order.
	wantAccepted := []string{want[0], want[1], want[3], want[2], want[3], want[4], want[5]}
	if diff := cmp.Diff(wantAccepted, accepted); diff != "" {
		t.Errorf("accepted entries (-want +got):\n%s", diff)
	}
	got := byExecution(execLines(t, xlog.String()))
	wantLog := [][]string{{"TARGET_INVOCATION_PARTIALLY_FAILED", "TARGET_STAGE_PARTIALLY_FAILED", "EXECUTION_PARTIALLY_FAILED"}}
	if diff := cmp.Diff(wantLog, got); diff != "" {
		t.Errorf("execution log at ERROR (-want +got):\n%s", diff)
	}
	for series, want := range map[string]string{
		"sluice_pipe_executions_partially_failed_total": fmt.Sprintf("sluice_pipe_executions_partially_failed_total{pipe=%q} 1", def.Name),
		"sluice_pipe_stage_partially_failed_total":      fmt.Sprintf(`sluice_pipe_stage_partially_failed_total{pipe=%q,stage="target"} 1`, def.Name),
	} {
		if err := hasSample(promReg, series, want); err != nil {
			t.Error(err)
		}
	}
}

// TestPartialFailurePermanentDeadLetters: with a dead-letter destination, a permanent partial failure
// is isolated like any permanent failure: the refused entry is dead-lettered, the entries before it are
// not sent again, and the rest are delivered (entry 3, accepted in the first call, is sent again with
// each retry of the range holding the refused entry: at-least-once, in order).
func TestPartialFailurePermanentDeadLetters(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	var recs []*kgoRecord
	for i := range 4 {
		recs = append(recs, &kgoRecord{value: fmt.Sprintf(`{"i":%d}`, i)})
	}
	produce(t, c, topic, recs)
	tgt := &poisonAPITarget{poison: `"offset":2,`}
	reg := plugin.NewRegistry()
	fs, _ := plugin.Default.TargetSpec("file:///x")
	realFile := fs.New
	fs.New = func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
		if c.Endpoint == "file:///test" {
			return tgt, nil
		}
		return realFile(ctx, env, c)
	}
	reg.AddTarget(fs)
	def := definition(t, c, topic, spec{batchSize: 10, window: 1, target: "file:///test"})
	dlqTarget, dlqPath := outFile(t)
	zero := 0
	smk := def.SourceParameters.SelfManagedKafkaParameters
	smk.MaximumRetryAttempts = &zero
	smk.DeadLetterConfig = &pipe.DeadLetterConfig{Arn: dlqTarget}
	start(t, def, deps(t, reg))
	waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 4})
	if lines := waitLines(t, dlqPath, 1); len(lines) != 1 || field(t, lines[0], "offset") != "2" {
		t.Errorf("dead letters = %q, want the record at offset 2", lines)
	}
	tgt.mu.Lock()
	defer tgt.mu.Unlock()
	var offsets []string
	for _, a := range tgt.accepted {
		offsets = append(offsets, field(t, a, "offset"))
	}
	if !slices.Equal(offsets, []string{"0", "1", "3", "3", "3"}) {
		t.Errorf("accepted offsets %v, want 0, 1, then 3 for each of the three calls holding it", offsets)
	}
}

// poisonAPITarget is a batch API target that refuses one entry permanently wherever it is in a call and
// accepts the others.
type poisonAPITarget struct {
	poison   string // a substring of the refused event
	mu       sync.Mutex
	accepted []string
}

func (b *poisonAPITarget) Deliver(_ context.Context, batch plugin.Batch) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var failed []int
	for i, p := range batch.Payloads {
		if strings.Contains(string(batch.Inputs[i]), b.poison) {
			failed = append(failed, i)
			continue
		}
		b.accepted = append(b.accepted, string(p))
	}
	if len(failed) > 0 {
		return &plugin.PartialError{Failed: failed, Err: plugin.Permanent(errors.New("InvalidParameterValue"))}
	}
	return nil
}

// refuseAllTarget refuses every event permanently.
type refuseAllTarget struct{}

func (refuseAllTarget) Deliver(context.Context, plugin.Batch) error {
	return plugin.Permanent(errors.New("AccessDeniedException"))
}

// TestDeadLetterPartialFailure: a dead-letter destination answering a *plugin.PartialError is retried
// from its first failed entry, as a target is: the 4 letters go out as one call, the destination refuses
// the third (retryably) and the retry carries the third and fourth only, so the first two are stored once.
func TestDeadLetterPartialFailure(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	var recs []*kgoRecord
	for i := range 4 {
		recs = append(recs, &kgoRecord{value: fmt.Sprintf(`{"i":%d}`, i)})
	}
	produce(t, c, topic, recs)
	dlq := &batchAPITarget{refuse: []int{2}, err: errors.New("entry 2: InternalError")}
	reg := plugin.NewRegistry()
	fs, _ := plugin.Default.TargetSpec("file:///x")
	fs.New = func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
		if c.DeadLetter {
			return dlq, nil
		}
		return refuseAllTarget{}, nil
	}
	reg.AddTarget(fs)
	def := definition(t, c, topic, spec{batchSize: 10, window: 1, target: "file:///test"})
	zero := 0
	smk := def.SourceParameters.SelfManagedKafkaParameters
	smk.MaximumRetryAttempts = &zero
	smk.DeadLetterConfig = &pipe.DeadLetterConfig{Arn: "file:///dlq"}
	start(t, def, deps(t, reg))
	waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 4})

	dlq.mu.Lock()
	defer dlq.mu.Unlock()
	offsets := func(letters []string) []string {
		var out []string
		for _, l := range letters {
			out = append(out, field(t, l, "offset"))
		}
		return out
	}
	var calls [][]string
	for _, call := range dlq.calls {
		calls = append(calls, offsets(call))
	}
	if diff := cmp.Diff([][]string{{"0", "1", "2", "3"}, {"2", "3"}}, calls); diff != "" {
		t.Errorf("dead-letter calls by offset (-want +got):\n%s", diff)
	}
	// 3 is stored twice (accepted in the first call, re-sent after 2 to keep the order: at-least-once).
	if got := offsets(dlq.accepted); !slices.Equal(got, []string{"0", "1", "3", "2", "3"}) {
		t.Errorf("stored dead letters by offset %v, want 0, 1, 3, then 2, 3", got)
	}
}
