package runtime_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/runtime/runtimetest"

	_ "github.com/sluicehq/sluice/internal/target/file"
	_ "github.com/sluicehq/sluice/internal/target/kafka"
)

// spec describes a test pipe; definition turns it into a CreatePipe JSON document and decodes it through
// the same path as sluice run (Decode, SetDefaults, Validate).
type spec struct {
	filters          []string
	batchSize        int
	window           int
	enrichment       string
	enrichParams     map[string]any // EnrichmentParameters besides InputTemplate
	enrichTemplate   string
	target           string
	targetParams     map[string]any // TargetParameters besides InputTemplate
	targetTemplate   string
	startingPosition string
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// pipeName is a valid, unique pipe name derived from the test name.
func pipeName(t testing.TB) string {
	n := unsafeName.ReplaceAllString(t.Name(), "-")
	suffix := fmt.Sprintf("-%d", time.Now().UnixNano()%1e9)
	if len(n)+len(suffix) > 64 {
		n = n[len(n)+len(suffix)-64:]
	}
	return n + suffix
}

// definition builds the pipe of s reading topic on c.
func definition(t testing.TB, c *kafkatest.Cluster, topic string, s spec) *pipe.Definition {
	t.Helper()
	smk := map[string]any{"TopicName": topic, "StartingPosition": "TRIM_HORIZON"}
	if s.startingPosition != "" {
		smk["StartingPosition"] = s.startingPosition
	}
	if len(c.Bootstrap) > 1 {
		smk["AdditionalBootstrapServers"] = c.Bootstrap[1:]
	}
	if s.batchSize > 0 {
		smk["BatchSize"] = s.batchSize
	}
	smk["MaximumBatchingWindowInSeconds"] = s.window
	sp := map[string]any{"SelfManagedKafkaParameters": smk}
	if len(s.filters) > 0 {
		var fs []map[string]string
		for _, f := range s.filters {
			fs = append(fs, map[string]string{"Pattern": f})
		}
		sp["FilterCriteria"] = map[string]any{"Filters": fs}
	}
	d := map[string]any{
		"Name":             pipeName(t),
		"Source":           "smk://" + c.Bootstrap[0],
		"SourceParameters": sp,
		"Target":           s.target,
	}
	tp := map[string]any{}
	for k, v := range s.targetParams {
		tp[k] = v
	}
	if s.targetTemplate != "" {
		tp["InputTemplate"] = s.targetTemplate
	}
	if len(tp) > 0 {
		d["TargetParameters"] = tp
	}
	if s.enrichment != "" {
		d["Enrichment"] = s.enrichment
		ep := map[string]any{}
		for k, v := range s.enrichParams {
			ep[k] = v
		}
		if s.enrichTemplate != "" {
			ep["InputTemplate"] = s.enrichTemplate
		}
		if len(ep) > 0 {
			d["EnrichmentParameters"] = ep
		}
	}
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return decodeDefinition(t, raw)
}

// decodeDefinition runs raw through Decode, SetDefaults and Validate, failing on any problem.
func decodeDefinition(t testing.TB, raw []byte) *pipe.Definition {
	t.Helper()
	def, err := pipe.Decode(raw)
	if err != nil {
		t.Fatalf("decoding test pipe %s: %v", raw, err)
	}
	def.SetDefaults(plugin.Default)
	if errs := def.Validate(plugin.Default); len(errs) > 0 {
		t.Fatalf("test pipe %s is invalid: %v", raw, errs)
	}
	return def
}

// deps returns Deps for tests; reg nil means plugin.Default.
func deps(t testing.TB, reg *plugin.Registry) runtime.Deps { return runtimetest.Deps(t, reg) }

// running is a pipe started by start.
type running struct {
	p    *runtime.Pipe
	stop func() error
}

// start creates and runs the pipe; it is stopped (drained and closed) at the end of the test, or by stop.
func start(t testing.TB, def *pipe.Definition, d runtime.Deps) *running {
	t.Helper()
	r, err := runtimetest.Start(t, def, d)
	if err != nil {
		t.Fatalf("runtime.New: %v", err)
	}
	return &running{p: r.Pipe, stop: r.Stop}
}

// order is the sample record value used by the tests.
type order struct {
	OrderID string  `json:"orderId"`
	City    string  `json:"city"`
	Amount  float64 `json:"amount"`
	Status  string  `json:"status"`
}

// orderRecords returns n orders spread over partitions round-robin; even-numbered orders are PAID with
// an amount above 50 (they match paidOver50), odd ones are not.
func orderRecords(topic string, n int, partitions int32) ([]*kgo.Record, []order) {
	var recs []*kgo.Record
	var orders []order
	for i := range n {
		o := order{OrderID: fmt.Sprintf("o-%03d", i), City: []string{"Lisbon", "Seattle", "Tokyo"}[i%3], Amount: 75.5, Status: "PAID"}
		if i%2 == 1 {
			o.Status, o.Amount = "PENDING", 20
		}
		v, _ := json.Marshal(o)
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i) % partitions, Key: []byte(o.OrderID), Value: v})
		orders = append(orders, o)
	}
	return recs, orders
}

const paidOver50 = `{"value": {"status": ["PAID"], "amount": [{"numeric": [">", 50]}]}}`

// readLines returns the lines of a file (none when it does not exist yet).
func readLines(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 10<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// waitLines waits until path has at least n lines and returns them.
func waitLines(t testing.TB, path string, n int) []string {
	t.Helper()
	var lines []string
	kafkatest.Eventually(t, 60*time.Second, func() error {
		lines = readLines(t, path)
		if len(lines) < n {
			return fmt.Errorf("%s has %d lines, want %d", path, len(lines), n)
		}
		return nil
	})
	return lines
}

// waitCommitted waits until group has committed want (partition -> next offset) for topic.
func waitCommitted(t testing.TB, c *kafkatest.Cluster, group, topic string, want map[int32]int64) {
	t.Helper()
	adm := c.Admin(t)
	kafkatest.Eventually(t, 60*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resps, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return err
		}
		for p, off := range want {
			r, ok := resps.Lookup(topic, p)
			if !ok {
				return fmt.Errorf("group %s has no offset for %s[%d]", group, topic, p)
			}
			if r.Err != nil {
				return r.Err
			}
			if r.At != off {
				return fmt.Errorf("group %s committed %s[%d] at %d, want %d", group, topic, p, r.At, off)
			}
		}
		return nil
	})
}

// endOffsets is partition -> number of records for records produced round-robin.
func endOffsets(n int, partitions int32) map[int32]int64 {
	m := map[int32]int64{}
	for i := range n {
		m[int32(i)%partitions]++
	}
	return m
}

// groupOf returns the consumer group of a defaulted definition.
func groupOf(def *pipe.Definition) string {
	return def.SourceParameters.SelfManagedKafkaParameters.ConsumerGroupID
}

// outFile is a file target string in the test's temporary directory.
func outFile(t testing.TB) (target, path string) {
	path = filepath.Join(t.TempDir(), "out.jsonl")
	return "file://" + path, path
}

// writeSecret writes a secret JSON file and returns its file:// reference.
func writeSecret(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "secret-*.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return "file://" + f.Name()
}

// recorder is a target registered under the file kind in a test registry: it records every Deliver call
// (copying the events), can fail calls, block them and announce MaxBatch.
type recorder struct {
	mu     sync.Mutex
	calls  [][]string
	max    int
	fail   func(call int) error // call counts from 1; nil: never fail
	block  chan struct{}        // when not nil, Deliver waits for it to be closed (or ctx)
	called chan struct{}        // receives (non-blocking) when a Deliver call starts
}

func (r *recorder) Deliver(ctx context.Context, b plugin.Batch) error {
	events := b.Payloads
	select {
	case r.called <- struct{}{}:
	default:
	}
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.calls) + 1
	var evs []string
	for _, e := range events {
		evs = append(evs, string(e))
	}
	r.calls = append(r.calls, evs)
	if r.fail != nil {
		if err := r.fail(n); err != nil {
			return err
		}
	}
	return nil
}

// registry returns a registry whose file kind builds r (with r.max as its MaxBatch), with the HTTP
// enrichments of plugin.Default.
func (r *recorder) registry() *plugin.Registry {
	reg := plugin.NewRegistry()
	if s, ok := plugin.Default.EnricherSpec("http://enrichment"); ok {
		reg.AddEnricher(s)
	}
	s := fileSpec(r)
	s.MaxBatch = r.max
	reg.AddTarget(s)
	return reg
}

// fileSpec is a test registry entry serving the file kind with t.
func fileSpec(t plugin.Target) plugin.TargetSpec {
	return plugin.TargetSpec{Kinds: []string{"file"},
		New: func(context.Context, plugin.Env, plugin.Check) (plugin.Target, error) { return t, nil }}
}

// snapshot returns the calls so far; delivered returns the events of the successful ones.
func (r *recorder) snapshot() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]string(nil), r.calls...)
}

// events returns every event recorded, in call order.
func (r *recorder) events() []string {
	var out []string
	for _, c := range r.snapshot() {
		out = append(out, c...)
	}
	return out
}

// field extracts one member of a JSON line as text.
func field(t testing.TB, line, name string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("line %q is not a JSON object: %v", line, err)
	}
	return strings.Trim(string(m[name]), `"`)
}

// kgoRecord is a record to produce: partition, key and value text.
type kgoRecord struct {
	partition  int32
	key, value string
}

// produce writes recs to topic in order.
func produce(t testing.TB, c *kafkatest.Cluster, topic string, recs []*kgoRecord) {
	t.Helper()
	var out []*kgo.Record
	for _, r := range recs {
		kr := &kgo.Record{Topic: topic, Partition: r.partition, Value: []byte(r.value)}
		if r.key != "" {
			kr.Key = []byte(r.key)
		}
		out = append(out, kr)
	}
	c.Produce(t, out...)
}
