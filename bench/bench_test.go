package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/event"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	kafkatarget "github.com/sluicehq/sluice/internal/target/kafka"
	"github.com/sluicehq/sluice/pattern"
	"github.com/sluicehq/sluice/transform"
)

const (
	partitions = 4
	valueSize  = 1024
	// minRecords keeps the calibration run (b.N = 1) meaningful.
	minRecords = 2000
	filter     = `{"value": {"status": ["PAID"], "amount": [{"numeric": [">", 50]}]}}`
	template   = `{"order": <$.value>, "pipe": <aws.pipes.pipe-name>, "partition": <$.partition>, "offset": <$.offset>}`
)

// BenchmarkPipeVsBareLoop measures Kafka → filter → template → Kafka through a Sluice pipe and through a
// bare franz-go loop doing the same work by hand (both of the filter's clauses, the template's rendering:
// the same values as the pipe writes, checked each round), on kfake and on the real broker.
func BenchmarkPipeVsBareLoop(b *testing.B) {
	b.Run("kfake", func(b *testing.B) { compare(b, kafkatest.Kfake(b), 0) })
	b.Run("kafka", func(b *testing.B) { compare(b, kafkatest.Real(b), 0) })
	// Larger source batches (a pipe setting, BatchSize 1000) amortise the per-execution cost.
	b.Run("kfake-batch1000", func(b *testing.B) { compare(b, kafkatest.Kfake(b), 1000) })
	b.Run("kafka-batch1000", func(b *testing.B) { compare(b, kafkatest.Real(b), 1000) })
}

// rounds is how many times each side runs over the same records; the best rate of each side is reported,
// as the least disturbed by other work on the machine. The sides alternate so that both see the same
// conditions.
const rounds = 3

func compare(b *testing.B, c *kafkatest.Cluster, batchSize int) {
	n := max(b.N, minRecords)
	src := c.CreateTopic(b, partitions)
	matched := fill(b, c, src, n)
	b.ResetTimer()
	var sluice, bare float64
	var sl, bl []float64
	for r := 1; r <= benchRounds(); r++ { // SLUICE_BENCH_ROUNDS (file_test.go)
		// Both sides render the template with the same pipe name, so that their outputs are the same
		// values (in another order), checked below.
		name := fmt.Sprintf("bench-%d", time.Now().UnixNano())
		s, sout := runPipe(b, c, src, name, n, matched, batchSize, false)
		l, bout := runBare(b, c, src, name, n, matched)
		if ds, db := readDigest(b, c, sout, matched), readDigest(b, c, bout, matched); ds != db {
			b.Fatalf("round %d: the pipe wrote %+v and the bare loop %+v (records, bytes, sum of hashes): they must write the same values", r, ds, db)
		}
		sluice, bare = max(sluice, s), max(bare, l)
		sl, bl = append(sl, s), append(bl, l)
	}
	// One line for all rounds: the testing package keeps only the first lines of a benchmark's log.
	b.Logf("%s rounds: sluice %s, bare loop %s; spread max/min sluice %.2f, bare %.2f", c.Name, kilo(sl), kilo(bl),
		sluice/slices.Min(sl), bare/slices.Min(bl))
	b.StopTimer()
	b.ReportMetric(sluice, "sluice-rec/s")
	b.ReportMetric(bare, "bare-rec/s")
	b.ReportMetric(sluice/bare, "ratio")
	b.ReportMetric(sluice/slices.Min(sl), "sluice-max/min")
	b.Logf("%s, %d records of %d B (%d match), batch size %d, best of %d: sluice %.0f rec/s, bare loop %.0f rec/s, ratio %.2f",
		c.Name, n, valueSize, matched, max(batchSize, pipe.DefaultBatchSize), len(sl), sluice, bare, sluice/bare)
}

// matches reports whether the i-th order passes the filter: every other order of each partition (records
// go round-robin over the partitions), so that every partition has work for the target.
func matches(i int) bool { return (i/partitions)%2 == 0 }

// value returns the i-th order as JSON padded to valueSize bytes.
func value(i int) []byte {
	status, amount := "PAID", 75.5
	if !matches(i) {
		status, amount = "PENDING", 20
	}
	v := fmt.Appendf(nil, `{"orderId":"o-%08d","customerId":"c-%05d","city":"Lisbon","amount":%g,"status":%q,`+
		`"createdAt":"2026-11-25T12:00:00Z","items":[{"sku":"A-1","qty":2,"price":10.5},{"sku":"B-2","qty":1,"price":54.5}],"note":"`,
		i, i%50000, amount, status)
	pad := valueSize - len(v) - 2
	v = append(v, strings.Repeat("x", max(pad, 0))...)
	return append(v, `"}`...)
}

// fill produces n records round-robin over the partitions and returns how many match.
func fill(b *testing.B, c *kafkatest.Cluster, topic string, n int) int {
	b.Helper()
	cl := c.Client(b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(1<<20))
	ctx := context.Background()
	matched := 0
	const chunk = 5000
	for lo := 0; lo < n; lo += chunk {
		var recs []*kgo.Record
		for i := lo; i < min(lo+chunk, n); i++ {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % partitions), Key: fmt.Appendf(nil, "o-%08d", i), Value: value(i)})
			if matches(i) {
				matched++
			}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			b.Fatalf("filling %s: %v", topic, err)
		}
	}
	return matched
}

// outTopic creates an output topic with the source's partition count.
func outTopic(b *testing.B, c *kafkatest.Cluster, suffix string) string {
	b.Helper()
	name := kafkatest.TopicName(b) + "-" + suffix
	adm := c.Admin(b)
	resp, err := adm.CreateTopic(context.Background(), partitions, 1, nil, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		b.Fatalf("creating %s: %v", name, err)
	}
	if c.Real {
		b.Cleanup(func() { _, _ = adm.DeleteTopics(context.Background(), name) })
	}
	return name
}

// countingTarget wraps the real Kafka target, timing the first delivery and the last acknowledgement.
type countingTarget struct {
	*kafkatarget.Target
	want      int64
	delivered atomic.Int64
	calls     atomic.Int64 // Deliver calls, and their total duration, for the per-batch latency
	busy      atomic.Int64
	firstOnce sync.Once
	first     time.Time
	last      time.Time
	done      chan struct{}
}

// Deliver counts and forwards; the embedded target's KeyPath keeps the runtime's key fast path (plugin.Keyed).
func (t *countingTarget) Deliver(ctx context.Context, b plugin.Batch) error {
	return t.count(b.Payloads, func() error { return t.Target.Deliver(ctx, b) })
}

func (t *countingTarget) count(events []json.RawMessage, deliver func() error) error {
	t.firstOnce.Do(func() { t.first = time.Now() })
	start := time.Now()
	if err := deliver(); err != nil {
		return err
	}
	t.calls.Add(1)
	t.busy.Add(int64(time.Since(start)))
	if t.delivered.Add(int64(len(events))) == t.want {
		t.last = time.Now()
		close(t.done)
	}
	return nil
}

// runPipe runs the pipe named name (filter, template, Kafka target keyed by the order ID; ExactlyOnce
// when eos) over the n records and returns source records per second and its output topic.
func runPipe(b *testing.B, c *kafkatest.Cluster, src, name string, n, matched, batchSize int, eos bool) (float64, string) {
	b.Helper()
	side := "sluice"
	kafka := map[string]any{"Key": "$.value.orderId"}
	if eos {
		side = "sluice-eos"
		kafka["ExactlyOnce"] = true
	}
	out := outTopic(b, c, side)
	ct := &countingTarget{want: int64(matched), done: make(chan struct{})}
	reg := plugin.NewRegistry()
	spec := kafkatarget.Spec
	spec.New = func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
		t, err := kafkatarget.New(ctx, env, c.Endpoint, c.Params)
		if err != nil {
			return nil, err
		}
		ct.Target = t.(*kafkatarget.Target)
		return ct, nil
	}
	reg.AddTarget(spec)
	smk := map[string]any{"TopicName": src, "StartingPosition": "TRIM_HORIZON"}
	if batchSize > 0 {
		smk["BatchSize"] = batchSize
	}
	raw, _ := json.Marshal(map[string]any{
		"Name":   name,
		"Source": "smk://" + c.Bootstrap[0],
		"SourceParameters": map[string]any{
			"FilterCriteria":             map[string]any{"Filters": []map[string]string{{"Pattern": filter}}},
			"SelfManagedKafkaParameters": smk,
		},
		"Target":           "kafka://" + c.Bootstrap[0] + "/" + out,
		"TargetParameters": map[string]any{"InputTemplate": template, "KafkaParameters": kafka},
	})
	runPipeUntil(b, raw, reg, ct.done, ct.delivered.Load, matched)
	// Not for the exactly-once pipe: the testing package keeps only a benchmark's first lines of log, and
	// BenchmarkExactlyOnce's summary comes after both pipes' rounds.
	if calls := ct.calls.Load(); calls > 0 && !eos {
		b.Logf("%s sluice: %d target deliveries of %.0f events on average, %v each on average", c.Name, calls,
			float64(matched)/float64(calls), time.Duration(ct.busy.Load()/calls))
	}
	return float64(n) / ct.last.Sub(ct.first).Seconds(), out
}

// runBare is the bare franz-go loop: group consumer, the filter and the template done by hand
// (orderMatches, appendRendering: the same values as the pipe writes, checked per round), synchronous
// produce of each poll's renderings keyed by the record's key (the order ID, as the pipe's key path),
// offsets marked after delivery and auto-committed. It returns records per second and its output topic.
func runBare(b *testing.B, c *kafkatest.Cluster, src, name string, n, matched int) (float64, string) {
	b.Helper()
	out := outTopic(b, c, "bare")
	cl := c.Client(b,
		kgo.ConsumerGroup(fmt.Sprintf("bench-bare-%d", time.Now().UnixNano())),
		kgo.ConsumeTopics(src),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
		kgo.DefaultProduceTopic(out),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	pipeName := jsonString(name)
	var first time.Time
	consumed, produced := 0, 0
	var batch []*kgo.Record
	var buf []byte // the poll's renderings, one after the other; reused once ProduceSync has returned
	for consumed < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			b.Fatalf("bare loop consumed %d of %d: %v", consumed, n, err)
		}
		fs.EachError(func(t string, p int32, err error) { b.Fatalf("fetching %s[%d]: %v", t, p, err) })
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		if first.IsZero() {
			first = time.Now()
		}
		size := 0
		for _, r := range recs {
			size += len(r.Value) + len(pipeName) + renderingExtra
		}
		if cap(buf) < size {
			buf = make([]byte, 0, 2*size) // room for larger polls, not one allocation per poll
		}
		buf, batch = buf[:0], batch[:0]
		for _, r := range recs {
			if !orderMatches(r.Value) {
				continue
			}
			start := len(buf)
			buf = appendRendering(buf, r.Value, pipeName, r.Partition, r.Offset, false)
			batch = append(batch, &kgo.Record{Key: r.Key, Value: buf[start:len(buf):len(buf)]})
		}
		if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
			b.Fatalf("bare loop producing: %v", err)
		}
		cl.MarkCommitRecords(recs...)
		consumed += len(recs)
		produced += len(batch)
	}
	elapsed := time.Since(first)
	cl.Close() // not only at the end of the benchmark: an idle client of each round would still fetch
	if produced != matched {
		b.Fatalf("bare loop produced %d, want %d", produced, matched)
	}
	return float64(n) / elapsed.Seconds(), out
}

// renderingExtra bounds what appendRendering adds to a value besides the pipe's name: the template's
// text, the partition and the offset at their longest.
const renderingExtra = 96

// orderMatches is a bare loop's filter, done by hand the way a hand-written loop would: a byte search for
// both of the pattern's clauses (the status, and the amount parsed as a number and compared with 50). It
// trusts the value to be one of the benchmark's orders; the pipe checks every value is JSON.
func orderMatches(v []byte) bool {
	return bytes.Contains(v, []byte(`"status":"PAID"`)) && amountOver50(v)
}

// amountOver50 is the bare loop's check of the pattern's {"amount": [{"numeric": [">", 50]}]}: the number
// after the first "amount": member name in v.
func amountOver50(v []byte) bool {
	const member = `"amount":`
	i := bytes.Index(v, []byte(member))
	if i < 0 {
		return false
	}
	num := v[i+len(member):]
	end := bytes.IndexAny(num, ",}")
	if end < 0 {
		return false
	}
	f, err := strconv.ParseFloat(string(num[:end]), 64) // no allocation: the conversion does not escape
	return err == nil && f > 50
}

// appendRendering appends a bare loop's rendering of the template {"order": <$.value>, "pipe":
// <aws.pipes.pipe-name>, "partition": <$.partition>, "offset": <$.offset>} for the order value of the
// record at partition and offset, the pipe's name being pipeName (a JSON string): the bytes the pipe's
// target gets. That is the template as written (the Kafka target), or, compact, without the whitespace
// between the tokens (the file target, a plugin.CompactJSONTarget: the values are compact JSON already).
// The event's partition is a JSON string.
func appendRendering(buf, value, pipeName []byte, partition int32, offset int64, compact bool) []byte {
	sep := func(spaced, tight string) string {
		if compact {
			return tight
		}
		return spaced
	}
	buf = append(buf, sep(`{"order": `, `{"order":`)...)
	buf = append(buf, value...)
	buf = append(buf, sep(`, "pipe": `, `,"pipe":`)...)
	buf = append(buf, pipeName...)
	buf = append(buf, sep(`, "partition": "`, `,"partition":"`)...)
	buf = strconv.AppendInt(buf, int64(partition), 10)
	buf = append(buf, sep(`", "offset": `, `","offset":`)...)
	buf = strconv.AppendInt(buf, offset, 10)
	return append(buf, '}')
}

// jsonString is s as a JSON string.
func jsonString(s string) []byte {
	q, _ := json.Marshal(s)
	return q
}

// TestBareLoopDoesThePipesWork checks the bare loops' hand-made filter and template (orderMatches,
// appendRendering) against the pipe's own: the compiled filter pattern and the rendered template, on the
// benchmark's orders and on orders at the edges of the amount clause. The benchmarks check the outputs of
// each round too; this catches a drift without a broker.
func TestBareLoopDoesThePipesWork(t *testing.T) {
	set, tmpl := compileFilterAndTemplate(t)
	const name = "bench-bare"
	vars := &transform.Vars{PipeName: name, IngestionTime: time.Now()}
	enc := event.NewEncoder([]string{"127.0.0.1:9092"})
	values := [][]byte{}
	for i := range 16 {
		values = append(values, value(i))
	}
	paid := value(0) // a matching order: PAID, amount 75.5
	for _, amount := range []string{"50", "50.0001", "5e1", "51", "-75.5", "1e3"} {
		values = append(values, bytes.Replace(paid, []byte(`"amount":75.5`), []byte(`"amount":`+amount), 1))
	}
	values = append(values, bytes.Replace(paid, []byte(`"status":"PAID"`), []byte(`"status":"PAIDX"`), 1))
	matched := 0
	for i, v := range values {
		r := &kgo.Record{Topic: "orders", Partition: int32(i % partitions), Offset: int64(1000 * i), Key: fmt.Appendf(nil, "o-%08d", i),
			Value: v, Timestamp: time.Unix(1764072000, 0)}
		ev := enc.Append(nil, r)
		want, err := set.MatchKafka(ev, r.Key, r.Value)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if got := orderMatches(v); got != want {
			t.Errorf("value %d: orderMatches = %v, the pattern says %v: %s", i, got, want, v[:120])
		}
		if !want {
			continue
		}
		matched++
		rendered, err := tmpl.Render(nil, ev, vars)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		var s transform.Scope
		s.Reset(ev)
		compact, ok, err := tmpl.RenderScopeCompact(nil, &s, vars, 0)
		if err != nil || !ok {
			t.Fatalf("value %d: compact rendering: %v (compact %v)", i, err, ok)
		}
		for _, c := range []struct {
			compact bool
			want    []byte
		}{{false, rendered}, {true, compact}} {
			got := appendRendering(nil, v, jsonString(name), r.Partition, r.Offset, c.compact)
			if !bytes.Equal(got, c.want) {
				t.Errorf("value %d: appendRendering (compact %v) wrote\n%s\nthe template renders\n%s", i, c.compact, got, c.want)
			}
			if extra := len(got) - len(v) - len(jsonString(name)); extra > renderingExtra {
				t.Errorf("value %d: the rendering adds %d bytes, more than renderingExtra (%d)", i, extra, renderingExtra)
			}
		}
	}
	if matched == 0 || matched == len(values) {
		t.Fatalf("%d of %d values match: the test needs both kinds", matched, len(values))
	}
}

// compileFilterAndTemplate compiles the benchmark's filter and target template, as the pipe does.
func compileFilterAndTemplate(tb testing.TB) (*pattern.Set, *transform.Template) {
	tb.Helper()
	set, err := pattern.CompileSet([][]byte{[]byte(filter)})
	if err != nil {
		tb.Fatal(err)
	}
	tmpl, err := transform.Parse(template)
	if err != nil {
		tb.Fatal(err)
	}
	return set, tmpl
}

// digest sums up a topic's record values whatever their order: their count, total size and the sum of
// their FNV-1a hashes.
type digest struct {
	records int
	bytes   int64
	sum     uint64
}

// readDigest reads the want records of topic (all its partitions, from the start) and returns their
// digest.
func readDigest(b *testing.B, c *kafkatest.Cluster, topic string, want int) digest {
	b.Helper()
	cl := c.Client(b, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	defer cl.Close() // not only at the end of the benchmark: it would fetch during the next rounds
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var d digest
	h := fnv.New64a()
	for d.records < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			b.Fatalf("reading %s: %d of %d records: %v", topic, d.records, want, err)
		}
		fs.EachError(func(t string, p int32, err error) { b.Fatalf("reading %s[%d]: %v", t, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			h.Reset()
			h.Write(r.Value)
			d.records++
			d.bytes += int64(len(r.Value))
			d.sum += h.Sum64()
		})
	}
	return d
}

// runPipeUntil runs the pipe defined by raw in this process, with reg's plugins, until done is closed (the
// counting target saw every event it waits for), then drains and closes it. delivered and want only serve the
// message when the pipe stops early or takes more than 10 minutes.
func runPipeUntil(b *testing.B, raw []byte, reg *plugin.Registry, done <-chan struct{}, delivered func() int64, want int) {
	b.Helper()
	def, err := pipe.Decode(raw)
	if err != nil {
		b.Fatal(err)
	}
	def.SetDefaults(plugin.Default)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := runtime.New(ctx, def, runtime.Deps{
		Registry:  reg,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:   prometheus.NewRegistry(),
		NoOverlap: os.Getenv("SLUICE_BENCH_NO_OVERLAP") == "1", // for the figures without the overlap
	})
	if err != nil {
		b.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	select {
	case <-done:
	case err := <-errc:
		b.Fatalf("pipe stopped: %v", err)
	case <-time.After(10 * time.Minute):
		b.Fatalf("pipe delivered %d of %d in 10 minutes", delivered(), want)
	}
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}
