package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	filetarget "github.com/sluicehq/sluice/internal/target/file"
)

// fileCase is one row of BenchmarkFileTarget.
type fileCase struct {
	name      string
	batchSize int
	filtered  bool // FilterCriteria matching half the records and the target input template
}

var fileCases = []fileCase{
	{name: "passthrough-batch100", batchSize: 100},
	{name: "passthrough-batch1000", batchSize: 1000},
	{name: "filter-template-batch100", batchSize: 100, filtered: true},
}

// BenchmarkFileTarget measures Kafka → file through a Sluice pipe and through a bare franz-go loop that
// writes every value it polls (or, with the filter, every matching value) to a file, one line each, in one
// write per poll, and marks the polled records for commit: pass-through (no filter, no template) at
// BatchSize 100 and 1000, and the filter matching half plus the target template at BatchSize 100. Neither
// side fsyncs (the pipe's target is file://...?fsync=never): the rows compare the machinery, not the disk.
//
// Besides the best rates and their ratio it reports each side's spread, max/min over the rounds
// (SLUICE_BENCH_ROUNDS, default 3; 10 for the two-speed check), and logs every round's rates.
func BenchmarkFileTarget(b *testing.B) {
	for _, fc := range fileCases {
		b.Run("kfake-"+fc.name, func(b *testing.B) { compareFile(b, kafkatest.Kfake(b), fc) })
		b.Run("kafka-"+fc.name, func(b *testing.B) { compareFile(b, kafkatest.Real(b), fc) })
	}
}

func benchRounds() int {
	if n, err := strconv.Atoi(os.Getenv("SLUICE_BENCH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return rounds
}

func compareFile(b *testing.B, c *kafkatest.Cluster, fc fileCase) {
	n := max(b.N, minRecords)
	src := c.CreateTopic(b, partitions)
	matched := fill(b, c, src, n)
	want := n
	if fc.filtered {
		want = matched
	}
	b.ResetTimer()
	var sl, bl []float64
	for r := 1; r <= benchRounds(); r++ {
		s := runFilePipe(b, c, src, n, want, fc)
		l := runBareFile(b, c, src, n, want, fc.filtered)
		sl, bl = append(sl, s), append(bl, l)
	}
	b.StopTimer()
	sluice, bare := slices.Max(sl), slices.Max(bl)
	b.ReportMetric(sluice, "sluice-rec/s")
	b.ReportMetric(bare, "bare-rec/s")
	b.ReportMetric(sluice/bare, "ratio")
	b.ReportMetric(sluice/slices.Min(sl), "sluice-max/min")
	b.ReportMetric(bare/slices.Min(bl), "bare-max/min")
	// One line per run: the testing package keeps only the first lines of a benchmark's log.
	b.Logf("%s %s, %d records of %d B (%d delivered), best of %d: sluice %.0f rec/s, bare loop %.0f rec/s, ratio %.2f; spread max/min sluice %.2f, bare %.2f; rounds sluice %s, bare %s",
		c.Name, fc.name, n, valueSize, want, len(sl), sluice, bare, sluice/bare, sluice/slices.Min(sl), bare/slices.Min(bl), kilo(sl), kilo(bl))
}

// countingFile wraps the real file target, timing the first delivery and the last acknowledgement. It
// forwards the whole batch, so that the runtime's choice (plugin.Batch.OwnJSON) is what is measured.
type countingFile struct {
	*filetarget.Target
	want      int64
	delivered atomic.Int64
	firstOnce sync.Once
	first     time.Time
	last      time.Time
	done      chan struct{}
}

func (t *countingFile) Deliver(ctx context.Context, b plugin.Batch) error {
	return t.count(b.Payloads, func() error { return t.Target.Deliver(ctx, b) })
}

func (t *countingFile) count(events []json.RawMessage, deliver func() error) error {
	t.firstOnce.Do(func() { t.first = time.Now() })
	if err := deliver(); err != nil {
		return err
	}
	if t.delivered.Add(int64(len(events))) == t.want {
		t.last = time.Now()
		close(t.done)
	}
	return nil
}

// runFilePipe runs the pipe over the n records and returns source records per second.
func runFilePipe(b *testing.B, c *kafkatest.Cluster, src string, n, want int, fc fileCase) float64 {
	b.Helper()
	path := filepath.Join(b.TempDir(), "sluice.jsonl")
	ct := &countingFile{want: int64(want), done: make(chan struct{})}
	reg := plugin.NewRegistry()
	reg.AddTarget(plugin.TargetSpec{Kinds: []string{filetarget.Kind}, New: func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
		cfg, err := filetarget.ParseTarget(c.Endpoint)
		if err != nil {
			return nil, err
		}
		t, err := filetarget.Open(cfg)
		if err != nil {
			return nil, err
		}
		ct.Target = t
		return ct, nil
	}})
	smk := map[string]any{"TopicName": src, "StartingPosition": "TRIM_HORIZON", "BatchSize": fc.batchSize}
	sp := map[string]any{"SelfManagedKafkaParameters": smk}
	def := map[string]any{
		"Name":             fmt.Sprintf("bench-file-%d", time.Now().UnixNano()),
		"Source":           "smk://" + c.Bootstrap[0],
		"SourceParameters": sp,
		"Target":           "file://" + path + "?fsync=never",
	}
	if fc.filtered {
		sp["FilterCriteria"] = map[string]any{"Filters": []map[string]string{{"Pattern": filter}}}
		def["TargetParameters"] = map[string]any{"InputTemplate": template}
	}
	raw, _ := json.Marshal(def)
	runPipeUntil(b, raw, reg, ct.done, ct.delivered.Load, want)
	if lines := countLines(b, path); lines != want {
		b.Fatalf("the pipe wrote %d lines, want %d", lines, want)
	}
	removeOutput(b, path)
	return float64(n) / ct.last.Sub(ct.first).Seconds()
}

// runBareFile is the bare franz-go loop: group consumer, every value (or every matching one) appended to a
// buffer as a line, one write per poll, offsets marked after the write and auto-committed.
func runBareFile(b *testing.B, c *kafkatest.Cluster, src string, n, want int, filtered bool) float64 {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bare.jsonl")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	cl := c.Client(b,
		kgo.ConsumerGroup(fmt.Sprintf("bench-bare-file-%d", time.Now().UnixNano())),
		kgo.ConsumeTopics(src),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	paid := []byte(`"status":"PAID"`)
	var first time.Time
	consumed, written := 0, 0
	var buf []byte
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
			size += len(r.Value) + 1
		}
		if cap(buf) < size {
			buf = make([]byte, 0, 2*size) // room for larger polls, not one allocation per poll
		}
		buf = buf[:0]
		for _, r := range recs {
			if filtered && !bytes.Contains(r.Value, paid) {
				continue
			}
			buf = append(append(buf, r.Value...), '\n')
			written++
		}
		if _, err := f.Write(buf); err != nil {
			b.Fatalf("bare loop writing: %v", err)
		}
		cl.MarkCommitRecords(recs...)
		consumed += len(recs)
	}
	elapsed := time.Since(first)
	cl.Close() // not only at the end of the benchmark: an idle client of each round would still fetch
	if written != want {
		b.Fatalf("bare loop wrote %d, want %d", written, want)
	}
	removeOutput(b, path)
	return float64(n) / elapsed.Seconds()
}

// removeOutput deletes a round's output file, so that the dirty pages of earlier rounds are dropped
// rather than written back (and throttle the writes of later rounds).
func removeOutput(b *testing.B, path string) {
	if err := os.Remove(path); err != nil {
		b.Fatal(err)
	}
}

// kilo lists rates in thousands of records per second.
func kilo(rates []float64) string {
	var b strings.Builder
	for i, r := range rates {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.0fk", r/1000)
	}
	return b.String()
}

func countLines(b *testing.B, path string) int {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}
