package runtime_test

// Tests of the delivery policy (deliver.go, execution.go, guarantees.go): execution-log levels and data,
// secrets, metrics after a run with known counts, bisection into a dead-letter topic, the execution limit.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/execlog"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/retry"
)

// syncBuffer is an io.Writer safe for the pipe's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// execLines decodes an execution log.
func execLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("execution log line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// byExecution groups message types by executionId, in order of first appearance.
func byExecution(recs []map[string]any) [][]string {
	index := map[string]int{}
	var out [][]string
	for _, r := range recs {
		id := r["executionId"].(string)
		i, ok := index[id]
		if !ok {
			i = len(out)
			index[id] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r["messageType"].(string))
	}
	return out
}

// atLevel keeps the steps a level emits (the Pipes table of execution steps by log level, tested row by row in package execlog).
func atLevel(level execlog.Level, steps []execlog.MessageType) []string {
	var out []string
	for _, s := range steps {
		if level != execlog.Off && s.MinLevel() <= level {
			out = append(out, string(s))
		}
	}
	return out
}

var (
	succeededSteps = []execlog.MessageType{
		execlog.ExecutionStarted,
		execlog.EnrichmentStageEntered, execlog.EnrichmentTransformationStarted, execlog.EnrichmentTransformationSucceeded,
		execlog.EnrichmentInvocationStarted, execlog.EnrichmentInvocationSucceeded, execlog.EnrichmentStageSucceeded,
		execlog.TargetStageEntered, execlog.TargetTransformationStarted, execlog.TargetTransformationSucceeded,
		execlog.TargetInvocationStarted, execlog.TargetInvocationSucceeded, execlog.TargetStageSucceeded,
		execlog.ExecutionSucceeded,
	}
	failedSteps = []execlog.MessageType{
		execlog.ExecutionStarted,
		execlog.EnrichmentStageEntered, execlog.EnrichmentTransformationStarted, execlog.EnrichmentTransformationSucceeded,
		execlog.EnrichmentInvocationStarted, execlog.EnrichmentInvocationSucceeded, execlog.EnrichmentStageSucceeded,
		execlog.TargetStageEntered, execlog.TargetTransformationStarted, execlog.TargetTransformationSucceeded,
		execlog.TargetInvocationStarted, execlog.TargetInvocationFailed, execlog.TargetStageFailed,
		execlog.ExecutionFailed,
	}
)

// echoEnrichment answers every enrichment call with its request body.
func echoEnrichment(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(&httpRecorder{reply: func(r request) (int, string) { return http.StatusOK, r.Body }})
	t.Cleanup(srv.Close)
	return srv
}

// TestExecutionLogLevels: each level writes exactly the steps of the Pipes table, for a succeeding and a
// failing execution (the target fails its second call, which is then retried).
func TestExecutionLogLevels(t *testing.T) {
	c := kafkatest.Kfake(t)
	enr := echoEnrichment(t)
	for _, level := range []execlog.Level{execlog.Off, execlog.Error, execlog.Info, execlog.Trace} {
		t.Run(level.String(), func(t *testing.T) {
			topic := c.CreateTopic(t, 1)
			produce(t, c, topic, []*kgoRecord{{value: `{"n":1}`}, {value: `{"n":2}`}})
			rec := &recorder{fail: func(call int) error {
				if call == 2 {
					return errors.New("503 from target")
				}
				return nil
			}}
			def := definition(t, c, topic, spec{enrichment: enr.URL, enrichTemplate: `{"n": <$.value.n>}`,
				target: "file:///unused", targetTemplate: `{"got": <$.n>}`})
			def.LogConfiguration = &pipe.LogConfiguration{Level: level.String()}
			var xlog syncBuffer
			d := deps(t, rec.registry())
			d.ExecutionLog = &xlog
			start(t, def, d)
			waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 2})

			got := byExecution(execLines(t, xlog.String()))
			var want [][]string
			for _, steps := range [][]execlog.MessageType{succeededSteps, failedSteps, succeededSteps} {
				if s := atLevel(level, steps); len(s) > 0 {
					want = append(want, s)
				}
			}
			if level == execlog.Error {
				want = [][]string{atLevel(level, failedSteps)} // the successes write nothing at ERROR
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("execution log at %s, steps per execution (-want +got):\n%s", level, diff)
			}
		})
	}
}

// TestExecutionLogDataAndSecrets: payloads only with IncludeExecutionData; the API key of the target's
// connection appears in no execution-log line and no runtime log line, not even where an event carries it.
func TestExecutionLogDataAndSecrets(t *testing.T) {
	const apiKey = "sk-live-TESTSECRET-4242"
	c := kafkatest.Kfake(t)
	for _, include := range []bool{false, true} {
		t.Run(fmt.Sprintf("IncludeExecutionData=%v", include), func(t *testing.T) {
			topic := c.CreateTopic(t, 1)
			produce(t, c, topic, []*kgoRecord{{value: `{"n":1,"note":"key is ` + apiKey + `"}`}, {value: `{"n":2,"note":"none"}`}})
			var calls sync.Map
			tgt := &httpRecorder{reply: func(r request) (int, string) {
				if r.Header.Get("X-Api-Key") != apiKey {
					return http.StatusUnauthorized, `{}`
				}
				if _, again := calls.LoadOrStore(r.Body, true); !again {
					return http.StatusServiceUnavailable, `{"message":"try again"}`
				}
				return http.StatusOK, `{}`
			}}
			srv := httptest.NewServer(tgt)
			defer srv.Close()
			def := definition(t, c, topic, spec{target: srv.URL + "/orders", targetTemplate: `{"n": <$.value.n>, "note": <$.value.note>}`, targetParams: map[string]any{
				"ApiDestinationParameters": map[string]any{"Connection": map[string]any{
					"AuthorizationType": "API_KEY", "AuthParameters": map[string]any{"ApiKeyAuthParameters": map[string]any{
						"ApiKeyName": "X-Api-Key", "SecretArn": writeSecret(t, map[string]string{"api_key_value": apiKey})}}}},
			}})
			def.LogConfiguration = &pipe.LogConfiguration{Level: "TRACE"}
			if include {
				def.LogConfiguration.IncludeExecutionData = []string{"ALL"}
			}
			var xlog, rlog syncBuffer
			d := deps(t, nil)
			d.ExecutionLog = &xlog
			d.Logger = slog.New(slog.NewJSONHandler(&rlog, &slog.HandlerOptions{Level: slog.LevelDebug}))
			start(t, def, d)
			waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 2})

			recs := execLines(t, xlog.String())
			if len(recs) == 0 {
				t.Fatal("no execution log written at TRACE")
			}
			payloads := 0
			for _, r := range recs {
				_, hasPayload := r["payload"]
				_, hasReq := r["awsRequest"]
				if !include && (hasPayload || hasReq) {
					t.Errorf("%s carries execution data without IncludeExecutionData: %v", r["messageType"], r)
				}
				if hasPayload {
					payloads++
				}
			}
			if include && payloads == 0 {
				t.Errorf("no payload logged with IncludeExecutionData ALL")
			}
			if include && !strings.Contains(xlog.String(), "key is ****") {
				t.Errorf("the event carrying the API key was not logged masked")
			}
			for name, out := range map[string]string{"execution log": xlog.String(), "runtime log": rlog.String()} {
				for i, line := range strings.Split(out, "\n") {
					if strings.Contains(line, apiKey) {
						t.Errorf("%s line %d holds the API key: %s", name, i, line)
					}
				}
			}
		})
	}
}

// TestMetricsKnownCounts runs 20 records, 10 of which the filter drops, through a target that fails its
// third call once, and checks the series.
func TestMetricsKnownCounts(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	recs, _ := orderRecords(topic, 20, 1) // even orders are PAID over 50
	c.Produce(t, recs...)
	rec := &recorder{fail: func(call int) error {
		if call == 3 {
			return &plugin.ThrottledError{Err: errors.New("429 from target")}
		}
		return nil
	}}
	def := definition(t, c, topic, spec{batchSize: 5, target: "file:///unused",
		filters: []string{`{"value": {"status": ["PAID"]}}`}})
	reg := prometheus.NewRegistry()
	d := deps(t, rec.registry())
	d.Metrics = reg
	start(t, def, d)
	waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 20})

	name := def.Name
	deliveredEvents := 0
	for _, call := range rec.snapshot() {
		deliveredEvents += len(call)
	}
	calls := len(rec.snapshot())
	for _, tc := range []struct {
		series string
		want   string // the sample line, %[1]q the pipe name
	}{
		{"sluice_source_records_total", `sluice_source_records_total{pipe=%[1]q} 20`},
		{"sluice_pipe_records_filtered_total", `sluice_pipe_records_filtered_total{pipe=%[1]q} 10`},
		{"sluice_pipe_invocations_total", `sluice_pipe_invocations_total{pipe=%[1]q} ` + fmt.Sprint(calls)},
		{"sluice_pipe_events_total", `sluice_pipe_events_total{pipe=%[1]q} ` + fmt.Sprint(deliveredEvents)},
		{"sluice_pipe_executions_throttled_total", `sluice_pipe_executions_throttled_total{pipe=%[1]q} 1`},
		{"sluice_pipe_executions_failed_total", `sluice_pipe_executions_failed_total{pipe=%[1]q} 0`},
		{"sluice_pipe_executions_timeout_total", `sluice_pipe_executions_timeout_total{pipe=%[1]q} 0`},
		{"sluice_pipe_stage_failed_total", `sluice_pipe_stage_failed_total{pipe=%[1]q,stage="target"} 1`},
		{"sluice_pipe_retries_total", `sluice_pipe_retries_total{outcome="throttled",pipe=%[1]q,stage="execution"} 1`},
		{"sluice_pipe_records_dead_lettered_total", `sluice_pipe_records_dead_lettered_total{pipe=%[1]q} 0`},
	} {
		if err := hasSample(reg, tc.series, fmt.Sprintf(tc.want, name)); err != nil {
			t.Errorf("%s: %v", tc.series, err)
		}
	}
	// 10 matching records in batches of 5 at most: the filter keeps 2 or 3 per batch; every call is one
	// execution, and the histograms saw each.
	if calls < 4 {
		t.Errorf("target called %d times, want at least 4 (executions plus the retry)", calls)
	}
	if n, err := testutil.GatherAndCount(reg, "sluice_pipe_duration_seconds"); err != nil || n != 1 {
		t.Errorf("duration series = %d (%v), want 1", n, err)
	}
	if err := hasSample(reg, "sluice_kafka_fetch_records_total",
		fmt.Sprintf(`sluice_kafka_fetch_records_total{client="source",pipe=%q,topic=%q} 20`, name, topic)); err != nil {
		t.Errorf("franz-go client series: %v", err)
	}
	if n, err := testutil.GatherAndCount(reg, "sluice_source_consumer_lag_records"); err != nil || n != 1 {
		t.Errorf("lag series = %d (%v), want 1 (one partition)", n, err)
	}
}

// hasSample reports whether the text exposition of series contains line.
func hasSample(reg *prometheus.Registry, series, line string) error {
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, mf := range mfs {
		if mf.GetName() != series {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetCounter().GetValue()
			if m.GetGauge() != nil {
				v = m.GetGauge().GetValue()
			}
			s := fmt.Sprintf("%s{%s} %v", series, strings.Join(labels, ","), v)
			if s == line {
				return nil
			}
			b.WriteString(s + "\n")
		}
	}
	return fmt.Errorf("want %s, have:\n%s", line, b.String())
}

// TestBisectToDeadLetterTopic: batches of 10 with a poison record the target always rejects; the batch is
// bisected, only the poison record goes to the kafka:// dead-letter topic, the rest is delivered once, in
// order.
func TestBisectToDeadLetterTopic(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	dlqTopic := c.CreateTopic(t, 1)
	var recs []*kgoRecord
	for i := range 30 {
		v := fmt.Sprintf(`{"i":%d}`, i)
		if i == 13 {
			v = `{"i":13,"poison":true}`
		}
		recs = append(recs, &kgoRecord{value: v})
	}
	produce(t, c, topic, recs)
	var delivered []string
	var mu sync.Mutex
	tgt := targetFunc(func(ctx context.Context, events []json.RawMessage) error {
		for _, e := range events {
			if strings.Contains(string(e), "poison") {
				return plugin.Permanent(errors.New("400 bad request"))
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			delivered = append(delivered, string(e))
		}
		return nil
	})
	reg := plugin.NewRegistry()
	kafkaSpec, _ := plugin.Default.TargetSpec("kafka://x/y")
	reg.AddTarget(kafkaSpec)
	reg.AddTarget(fileSpec(tgt))
	def := definition(t, c, topic, spec{batchSize: 10, target: "file:///unused", targetTemplate: `{"v": <$.value>}`})
	maxRetries := 1
	smk := def.SourceParameters.SelfManagedKafkaParameters
	smk.MaximumRetryAttempts = &maxRetries
	smk.DeadLetterConfig = &pipe.DeadLetterConfig{Arn: "kafka://" + strings.Join(c.Bootstrap, ",") + "/" + dlqTopic}
	promReg := prometheus.NewRegistry()
	d := deps(t, reg)
	d.Metrics = promReg
	start(t, def, d)
	waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 30})

	mu.Lock()
	var want []string
	for i := range 30 {
		if i != 13 {
			want = append(want, fmt.Sprintf(`{"v": {"i":%d}}`, i))
		}
	}
	if diff := cmp.Diff(want, delivered); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	mu.Unlock()

	cl := c.Client(t, kgo.ConsumeTopics(dlqTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var letters []retry.DeadLetter
	kafkatest.Eventually(t, 20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			var dl retry.DeadLetter
			if err := json.Unmarshal(r.Value, &dl); err != nil {
				t.Errorf("dead letter %q: %v", r.Value, err)
			}
			letters = append(letters, dl)
		})
		if len(letters) == 0 {
			return errors.New("no dead letter yet")
		}
		return nil
	})
	if len(letters) != 1 {
		t.Fatalf("got %d dead letters, want 1: %+v", len(letters), letters)
	}
	dl := letters[0]
	if dl.Offset != 13 || dl.Topic != topic || dl.Partition != 0 || dl.Reason != retry.ReasonPermanent ||
		dl.Pipe != def.Name || !strings.Contains(string(dl.Event), `"offset":13`) || dl.Attempts < 2 {
		t.Errorf("dead letter = %+v (event %s); want offset 13 of %s, permanent-failure, >= 2 attempts", dl, dl.Event, topic)
	}
	if err := hasSample(promReg, "sluice_pipe_records_dead_lettered_total",
		fmt.Sprintf("sluice_pipe_records_dead_lettered_total{pipe=%q} 1", def.Name)); err != nil {
		t.Error(err)
	}
}

// targetFunc is a plugin.Target from a function.
type targetFunc func(ctx context.Context, events []json.RawMessage) error

func (f targetFunc) Deliver(ctx context.Context, b plugin.Batch) error {
	return f(ctx, b.Payloads)
}

// TestExecutionTimeout: a target that hangs on its first call is cut off by the execution limit, logged
// as EXECUTION_TIMEOUT, counted, and retried.
func TestExecutionTimeout(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	produce(t, c, topic, []*kgoRecord{{value: `{"n":1}`}})
	var mu sync.Mutex
	calls := 0
	var delivered []string
	tgt := targetFunc(func(ctx context.Context, events []json.RawMessage) error {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			<-ctx.Done() // hangs until the execution limit
			return ctx.Err()
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			delivered = append(delivered, string(e))
		}
		return nil
	})
	reg := plugin.NewRegistry()
	reg.AddTarget(fileSpec(tgt))
	def := definition(t, c, topic, spec{target: "file:///unused", targetTemplate: `{"v": <$.value>}`})
	def.LogConfiguration = &pipe.LogConfiguration{Level: "ERROR"}
	var xlog syncBuffer
	promReg := prometheus.NewRegistry()
	d := deps(t, reg)
	d.ExecutionLog, d.Metrics, d.ExecutionTimeout = &xlog, promReg, 300*time.Millisecond
	started := time.Now()
	start(t, def, d)
	waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 1})
	if elapsed := time.Since(started); elapsed < 300*time.Millisecond {
		t.Errorf("committed after %v, before the execution limit", elapsed)
	}
	mu.Lock()
	if !slices.Equal(delivered, []string{`{"v": {"n":1}}`}) {
		t.Errorf("delivered %v, want the record once after the timeout", delivered)
	}
	mu.Unlock()
	got := byExecution(execLines(t, xlog.String()))
	want := [][]string{{"TARGET_INVOCATION_FAILED", "TARGET_STAGE_FAILED", "EXECUTION_TIMEOUT"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("execution log at ERROR (-want +got):\n%s", diff)
	}
	for series, want := range map[string]string{
		"sluice_pipe_executions_timeout_total": fmt.Sprintf("sluice_pipe_executions_timeout_total{pipe=%q} 1", def.Name),
		"sluice_pipe_retries_total":            fmt.Sprintf(`sluice_pipe_retries_total{outcome="timeout",pipe=%q,stage="execution"} 1`, def.Name),
	} {
		if err := hasSample(promReg, series, want); err != nil {
			t.Error(err)
		}
	}
}
