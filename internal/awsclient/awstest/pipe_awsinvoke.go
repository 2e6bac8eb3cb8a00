package awstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/retry"
	"github.com/sluicehq/sluice/internal/runtime/runtimetest"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// Pipe is a pipe that RunDefinition runs in the test's process.
type Pipe struct {
	Def     *pipe.Definition
	metrics *prometheus.Registry
	log     *lockedBuffer // the execution log (ExecutionLog)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// KafkaPipe returns a CreatePipe document reading topic on c from the start, batchSize records at a
// time (0: the default), named after the test, with RoleArn RoleArn("pipe"); rest adds or replaces
// top-level members (Target, TargetParameters, Enrichment, ...) and smk adds SelfManagedKafkaParameters
// members (MaximumRetryAttempts, DeadLetterConfig, ...).
func KafkaPipe(t testing.TB, c *kafkatest.Cluster, topic string, batchSize int, smk, rest map[string]any) map[string]any {
	t.Helper()
	name := unsafeName.ReplaceAllString(t.Name(), "-")
	suffix := fmt.Sprintf("-%d", time.Now().UnixNano()%1e9)
	if len(name)+len(suffix) > 64 {
		name = name[len(name)+len(suffix)-64:]
	}
	params := map[string]any{"TopicName": topic, "StartingPosition": "TRIM_HORIZON"}
	if batchSize > 0 {
		params["BatchSize"] = batchSize
	}
	if len(c.Bootstrap) > 1 {
		params["AdditionalBootstrapServers"] = c.Bootstrap[1:]
	}
	maps.Copy(params, smk)
	def := map[string]any{
		"Name":             name + suffix,
		"Source":           "smk://" + c.Bootstrap[0],
		"SourceParameters": map[string]any{"SelfManagedKafkaParameters": params},
		"RoleArn":          RoleArn("pipe"),
	}
	maps.Copy(def, rest)
	return def
}

// RunDefinition loads def through the path the API and `sluice run` take (pipe.Load with
// plugin.Default, so the test's package must register its plugins; a problem fails the test), builds it
// with its AWS calls sent to endpoint ("" is the emulator; a FaultProxy's URL) with the pipe's RoleArn
// assumed, and runs it until the test ends. The retry backoff is short (20 to 200 ms) so that retries
// and dead letters happen quickly.
func RunDefinition(t testing.TB, def map[string]any, endpoint string) *Pipe {
	t.Helper()
	raw, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	d, err := pipe.Load(raw, plugin.Default, nil)
	if err != nil {
		t.Fatalf("test pipe %s is invalid: %v", raw, err)
	}
	p, err := StartPipe(t, d, endpoint)
	if err != nil {
		t.Fatalf("building pipe %s: %v", d.Name, err)
	}
	return p
}

// StartPipe builds and runs d as RunDefinition does, returning the build error of runtime.New.
func StartPipe(t testing.TB, d *pipe.Definition, endpoint string) (*Pipe, error) {
	t.Helper()
	return StartPipeWith(t, d, ProviderAt(t, endpoint))
}

// StartPipeWith is StartPipe with the pipe's AWS configuration from provider, which the test shares (to
// read the credentials the pipe assumed, which the provider caches per role).
func StartPipeWith(t testing.TB, d *pipe.Definition, provider *awsclient.Provider) (*Pipe, error) {
	t.Helper()
	deps := runtimetest.Deps(t, nil)
	deps.AWS = provider.For(d.Name, d.RoleArn, sandbox.Unrestricted())
	reg, log := prometheus.NewRegistry(), &lockedBuffer{}
	deps.Metrics, deps.ExecutionLog = reg, log
	if _, err := runtimetest.Start(t, d, deps); err != nil {
		return nil, err
	}
	return &Pipe{Def: d, metrics: reg, log: log}, nil
}

// Counter returns the sum of the counter name's series (sluice_pipe_executions_throttled_total, ...).
func (p *Pipe) Counter(t testing.TB, name string) float64 {
	t.Helper()
	mfs, err := p.metrics.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// ProduceIDs writes n records, values {"id": 0} to {"id": n-1} in order, to a new one-partition topic on
// the real broker, and returns the broker and the topic.
func ProduceIDs(t testing.TB, n int) (*kafkatest.Cluster, string) {
	t.Helper()
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, `{"id":%d}`, i)}
	}
	c.Produce(t, recs...)
	return c, topic
}

// IDs returns the "id" member of each element of a JSON array (a batch of ProduceIDs' events after a
// template such as {"id": <$.value.id>}).
func IDs(array []byte) ([]int, error) {
	var batch []struct {
		ID *int `json:"id"`
	}
	if err := json.Unmarshal(array, &batch); err != nil {
		return nil, fmt.Errorf("%s is not a JSON array of objects: %w", array, err)
	}
	out := make([]int, len(batch))
	for i, e := range batch {
		if e.ID == nil {
			return nil, fmt.Errorf("%s: element %d has no id", array, i)
		}
		out[i] = *e.ID
	}
	return out, nil
}

// DeadLetters waits until the file:// dead-letter destination at path holds at least n records and
// returns them.
func DeadLetters(t testing.TB, path string, n int) []retry.DeadLetter {
	t.Helper()
	var out []retry.DeadLetter
	kafkatest.Eventually(t, 60*time.Second, func() error {
		out = out[:0]
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for line := range bytes.Lines(data) {
			var dl retry.DeadLetter
			if err := json.Unmarshal(line, &dl); err != nil {
				return fmt.Errorf("dead letter %s: %w", line, err)
			}
			out = append(out, dl)
		}
		if len(out) < n {
			return fmt.Errorf("%d dead letters in %s, want %d", len(out), path, n)
		}
		return nil
	})
	return out
}

// WaitBatches polls batches, the batch arrays a pipe delivered so far (their ids, as IDs reads them),
// until they carry at least n events in all, and returns the last answer; an error from batches is
// polled again until the deadline, then fails the test.
func WaitBatches(t testing.TB, n int, batches func() ([][]int, error)) [][]int {
	t.Helper()
	var got [][]int
	kafkatest.Eventually(t, 60*time.Second, func() error {
		var err error
		if got, err = batches(); err != nil {
			return err
		}
		if total := len(slices.Concat(got...)); total < n {
			return fmt.Errorf("%d events delivered, want %d", total, n)
		}
		return nil
	})
	return got
}
