package awstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/kafkatest"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/internal/secret"
)

// Pipe is a pipe run in-process by Run.
type Pipe struct {
	// Def is the pipe's definition, defaulted.
	Def *pipe.Definition
	// Metrics holds the pipe's series (internal/metrics).
	Metrics *prometheus.Registry
	errc    chan error
}

// Definition decodes def, a CreatePipe definition in its JSON shape, and defaults and validates it with
// the plugins of plugin.Default; it returns the definition and every problem found.
func Definition(t testing.TB, def map[string]any) (*pipe.Definition, pipe.FieldErrors) {
	t.Helper()
	raw, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	d, err := pipe.Decode(raw)
	if err != nil {
		t.Fatalf("decoding pipe %s: %v", raw, err)
	}
	d.SetDefaults(plugin.Default)
	return d, d.Validate(plugin.Default)
}

// WantFieldError fails the test unless errs holds an error on field whose message contains msg; with
// field "" it fails unless errs is empty.
func WantFieldError(t testing.TB, errs pipe.FieldErrors, field, msg string) {
	t.Helper()
	if field == "" {
		if len(errs) > 0 {
			t.Errorf("Validate() = %v, want none", errs)
		}
		return
	}
	for _, e := range errs {
		if e.Field == field && strings.Contains(e.Message, msg) {
			return
		}
	}
	t.Errorf("Validate() = %v, want an error on %s mentioning %q", errs, field, msg)
}

// NewPipe builds def (which must be valid, see Definition) with the emulator as its AWS (Provider: the
// host's test credentials, the pipe's RoleArn assumed when it has one). The error is runtime.New's.
func NewPipe(t testing.TB, def map[string]any) (*runtime.Pipe, *Pipe, error) {
	t.Helper()
	return NewPipeWith(t, def, Provider(t))
}

// NewPipeWith is NewPipe with the pipe's AWS configurations from aws (a test that needs the credentials
// the pipe signs with shares the Provider, whose assumed-role credentials are cached per role).
func NewPipeWith(t testing.TB, def map[string]any, aws *awsclient.Provider) (*runtime.Pipe, *Pipe, error) {
	t.Helper()
	d, errs := Definition(t, def)
	if len(errs) > 0 {
		t.Fatalf("pipe %v is invalid: %v", def, errs)
	}
	reg := prometheus.NewRegistry()
	p, err := runtime.New(context.Background(), d, runtime.Deps{
		AWS:          aws.For(d.Name, d.RoleArn, sandbox.Unrestricted()),
		Secrets:      &secret.Resolver{},
		Logger:       slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})),
		Metrics:      reg,
		DrainTimeout: 3 * time.Second, // a test ending with a failing execution need not wait long
		Retry:        runtime.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
	})
	return p, &Pipe{Def: d, Metrics: reg, errc: make(chan error, 1)}, err
}

// Run builds def, a CreatePipe definition in its JSON shape, as NewPipe does and runs it until the test
// ends (then drains and closes it).
func Run(t testing.TB, def map[string]any) *Pipe {
	t.Helper()
	return RunWith(t, def, Provider(t))
}

// RunWith is Run with NewPipeWith's Provider.
func RunWith(t testing.TB, def map[string]any, aws *awsclient.Provider) *Pipe {
	t.Helper()
	p, r, err := NewPipeWith(t, def, aws)
	if err != nil {
		t.Fatalf("runtime.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.errc <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		runErr := <-r.errc
		closeCtx, cc := context.WithTimeout(context.Background(), 30*time.Second)
		defer cc()
		if err := errors.Join(runErr, p.Close(closeCtx)); err != nil {
			t.Errorf("stopping pipe: %v", err)
		}
	})
	return r
}

// Metric returns the sum of the samples of the metric name (every label set); 0 when it has none.
func (p *Pipe) Metric(t testing.TB, name string) float64 {
	t.Helper()
	families, err := p.Metrics.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// KafkaPipe returns a CreatePipe definition named name reading topic from the broker at bootstrap from
// the start (TRIM_HORIZON) in batches of batchSize; the caller adds the Target and the rest.
func KafkaPipe(name, bootstrap, topic string, batchSize int) map[string]any {
	return map[string]any{
		"Name":   name,
		"Source": "smk://" + bootstrap,
		"SourceParameters": map[string]any{"SelfManagedKafkaParameters": map[string]any{
			"TopicName": topic, "StartingPosition": "TRIM_HORIZON", "BatchSize": batchSize,
		}},
	}
}

// Orders produces n orders on a new topic of c with two partitions, {"orderId": "o-I", "city": "cI%3",
// "amount": I}, and returns the topic.
func Orders(t testing.TB, c *kafkatest.Cluster, n int) string {
	t.Helper()
	topic := c.CreateTopic(t, 2)
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Key: []byte(fmt.Sprint(i)),
			Value: fmt.Appendf(nil, `{"orderId":"o-%d","city":"c%d","amount":%d}`, i, i%3, i)})
	}
	c.Produce(t, recs...)
	return topic
}

// WaitLines waits up to a minute until the file at path holds at least n lines, and returns its lines.
func WaitLines(t testing.TB, path string, n int) []string {
	t.Helper()
	var lines []string
	kafkatest.Eventually(t, 60*time.Second, func() error {
		data, _ := os.ReadFile(path)
		if lines = strings.Fields(string(data)); len(lines) < n {
			return fmt.Errorf("%d lines in %s, want %d", len(lines), path, n)
		}
		return nil
	})
	return lines
}
