package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/internal/secret"
)

// Running is a pipe run in the test's process by Run.
type Running struct {
	// Metrics holds the pipe's series.
	Metrics *prometheus.Registry
	log     *lockedBuffer
}

// Run loads def (a CreatePipe document) as `sluice run` does (pipe.Load with plugin.Default; a problem
// fails the test), builds it with its AWS calls sent to endpoint
// (the emulator, or a FaultProxy in front of it) and its RoleArn assumed, and runs it until the test
// ends. Its execution log (LogConfiguration) is kept for ExecutionLog; retries back off from 20 ms to
// 200 ms.
func Run(t testing.TB, def map[string]any, endpoint string) *Running {
	t.Helper()
	raw, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	d, err := pipe.Load(raw, plugin.Default, nil)
	if err != nil {
		t.Fatalf("pipe %s: %v", raw, err)
	}
	o := Options(t)
	o.Endpoint = endpoint
	r := &Running{Metrics: prometheus.NewRegistry(), log: &lockedBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := runtime.New(ctx, d, runtime.Deps{
		AWS:          awsclient.New(o).For(d.Name, d.RoleArn, sandbox.Policy{}),
		Secrets:      &secret.Resolver{},
		Logger:       slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})),
		Metrics:      r.Metrics,
		ExecutionLog: r.log,
		DrainTimeout: 10 * time.Second,
		Retry:        runtime.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
	})
	if err != nil {
		cancel()
		t.Fatalf("building pipe %s: %v", d.Name, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		runErr := <-errc
		closeCtx, cc := context.WithTimeout(context.Background(), 30*time.Second)
		defer cc()
		if err := errors.Join(runErr, p.Close(closeCtx)); err != nil {
			t.Errorf("stopping pipe %s: %v", d.Name, err)
		}
	})
	return r
}

// Total returns the sum of a counter's series ("sluice_pipe_executions_partially_failed_total").
func (r *Running) Total(t testing.TB, name string) float64 {
	t.Helper()
	families, err := r.Metrics.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// ExecutionLog returns the execution log records written so far whose messageType is typ
// ("EXECUTION_PARTIALLY_FAILED"), each as decoded JSON.
func (r *Running) ExecutionLog(t testing.TB, typ string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(r.log.String(), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("execution log line %q: %v", line, err)
		}
		if rec["messageType"] == typ {
			out = append(out, rec)
		}
	}
	return out
}

// KafkaSource returns the members of a CreatePipe document reading topic from the brokers from the start
// in batches of batchSize, named name, with RoleArn(name); add the Target and the rest.
func KafkaSource(name string, brokers []string, topic string, batchSize int) map[string]any {
	params := map[string]any{"TopicName": topic, "StartingPosition": "TRIM_HORIZON", "BatchSize": batchSize}
	if len(brokers) > 1 {
		params["AdditionalBootstrapServers"] = brokers[1:]
	}
	return map[string]any{
		"Name":             name,
		"Source":           "smk://" + brokers[0],
		"SourceParameters": map[string]any{"SelfManagedKafkaParameters": params},
		"RoleArn":          RoleArn(name),
		"LogConfiguration": map[string]any{"Level": "ERROR"},
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// NewTarget builds the target of a pipe named pipeName with Target target and TargetParameters params
// (JSON, "" for none) from plugin.Default, its AWS calls sent to endpoint; the spec's Validate must find
// nothing wrong. Delivering a plugin.Batch to it is what the runtime does, without the source.
func NewTarget(t testing.TB, endpoint, pipeName, target, params string) plugin.Target {
	t.Helper()
	spec, ok := plugin.Default.TargetSpec(target)
	if !ok {
		t.Fatalf("no target plugin serves %s", target)
	}
	c := plugin.Check{Endpoint: target, PipeName: pipeName, RoleArn: RoleArn(pipeName)}
	if params != "" {
		c.Params = json.RawMessage(params)
	}
	if spec.Validate != nil {
		if errs := spec.Validate(c); len(errs) > 0 {
			t.Fatalf("target %s %s: %v", target, params, errs)
		}
	}
	tg, err := spec.New(context.Background(), Env(t, pipeName, endpoint), c)
	if err != nil {
		t.Fatalf("building target %s: %v", target, err)
	}
	return tg
}

// Batch is the plugin.Batch of payloads whose inputs are the payloads themselves.
func Batch(payloads ...string) plugin.Batch {
	var b plugin.Batch
	for _, p := range payloads {
		b.Payloads = append(b.Payloads, json.RawMessage(p))
		b.Inputs = append(b.Inputs, json.RawMessage(p))
	}
	return b
}
