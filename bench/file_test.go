package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
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
// writes every value it polls (or, with the filter, the template's rendering of every matching value, the
// same bytes as the pipe writes: checked per round) to a file, one line each, in one write per poll, and
// marks the polled records for commit: pass-through (no filter, no template) at
// BatchSize 100 and 1000, and the filter matching half plus the target template at BatchSize 100. Neither
// side fsyncs (the pipe's target is file://...?fsync=never): the rows compare the machinery, not the disk.
//
// Besides the best rates and their ratio it reports each side's spread, max/min over the rounds
// (SLUICE_BENCH_ROUNDS, default 3; 10 for the two-speed check), and logs every round's rates. On a shared
// machine the rates follow the CPU share each side happens to get, so it also reports the median of the
// per-round ratios and cpu-ratio: the bare loop's CPU time per record over the pipe's, this process's
// CPU during each side's rounds (on the real broker rows; a kfake row counts the in-process broker too).
// SLUICE_BENCH_TIMELINE=1 prints, per pipe round, where its time went (timeline): a stall shows as long
// gaps between deliveries while the machine has idle CPU; contention as this process getting a small
// share of a busy machine.
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
	var scpu, bcpu time.Duration // CPU time of this process during each side's runs
	for r := 1; r <= benchRounds(); r++ {
		// Filtered, both sides render the template with the same pipe name, so that their outputs are the
		// same lines (in another order across partitions), checked by size below. Pass-through, the pipe
		// writes each record's Pipes event (its value in base64) and the bare loop the value, as the issue
		// defines the row.
		name := fmt.Sprintf("bench-file-%d", time.Now().UnixNano())
		c0 := cpuTime(b)
		s, sout := runFilePipe(b, c, src, name, n, want, fc)
		c1 := cpuTime(b)
		l, bout := runBareFile(b, c, src, name, n, want, fc.filtered)
		c2 := cpuTime(b)
		if fc.filtered && sout != bout {
			b.Fatalf("round %d: the pipe wrote %d bytes and the bare loop %d: they must write the same lines", r, sout, bout)
		}
		sl, bl = append(sl, s), append(bl, l)
		scpu, bcpu = scpu+c1-c0, bcpu+c2-c1
	}
	b.StopTimer()
	sluice, bare := slices.Max(sl), slices.Max(bl)
	b.ReportMetric(sluice, "sluice-rec/s")
	b.ReportMetric(bare, "bare-rec/s")
	b.ReportMetric(sluice/bare, "ratio")
	b.ReportMetric(sluice/slices.Min(sl), "sluice-max/min")
	b.ReportMetric(bare/slices.Min(bl), "bare-max/min")
	// The ratio of the rounds run back to back, their median: less at the mercy of one lucky round.
	paired := make([]float64, len(sl))
	for i := range sl {
		paired[i] = sl[i] / bl[i]
	}
	slices.Sort(paired)
	b.ReportMetric(paired[len(paired)/2], "median-round-ratio")
	// CPU per record (this process's: the client, the pipe and the file writes; not the broker's), which
	// other work on the machine does not move much: the cost ratio, bare over sluice.
	cpuRatio := 0.0
	if scpu > 0 {
		cpuRatio = float64(bcpu) / float64(scpu)
		b.ReportMetric(cpuRatio, "cpu-ratio")
	}
	// One line per run: the testing package keeps only the first lines of a benchmark's log.
	b.Logf("%s %s, %d records of %d B (%d delivered), best of %d: sluice %.0f rec/s, bare loop %.0f rec/s, ratio %.2f, median round ratio %.2f, CPU ratio %.2f (sluice %.2f µs/record, bare %.2f); spread max/min sluice %.2f, bare %.2f; rounds sluice %s, bare %s",
		c.Name, fc.name, n, valueSize, want, len(sl), sluice, bare, sluice/bare, paired[len(paired)/2], cpuRatio,
		float64(scpu.Microseconds())/float64(n*len(sl)), float64(bcpu.Microseconds())/float64(n*len(sl)),
		sluice/slices.Min(sl), bare/slices.Min(bl), kilo(sl), kilo(bl))
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
	timeline  *timeline // SLUICE_BENCH_TIMELINE=1: when each delivery of each partition ended
}

// timeline records when each delivery ended and for which partition, to find where a slow round lost its
// time (SLUICE_BENCH_TIMELINE=1; off by default, as it takes a lock per delivery).
type timeline struct {
	mu         sync.Mutex
	ends       []delivery
	start, end machine // at the first delivery and at the last acknowledgement
}

// machine is what the round's time went to: this process's CPU, the machine's CPU ticks by kind
// (/proc/stat, Linux only; zero elsewhere) and the GC cycles so far.
type machine struct {
	at                       time.Time
	cpu                      time.Duration
	busy, idle, steal, total uint64
	gcs                      uint32
	gcPause                  uint64
}

func sampleMachine() machine {
	var m machine
	m.at, m.cpu = time.Now(), processCPU()
	if stat, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(stat), "\n")
		// cpu user nice system idle iowait irq softirq steal ...
		for i, f := range strings.Fields(line)[1:] {
			v, _ := strconv.ParseUint(f, 10, 64)
			switch {
			case i == 3 || i == 4:
				m.idle += v
			case i == 7:
				m.steal += v
			case i < 7:
				m.busy += v
			default:
				continue // guest time is counted in user already
			}
			m.total += v
		}
	}
	var gs debug.GCStats
	debug.ReadGCStats(&gs)
	m.gcs, m.gcPause = uint32(gs.NumGC), uint64(gs.PauseTotal)
	return m
}

type delivery struct {
	at        time.Time
	partition int
	n         int
}

// partitionOf reads the partition of a Pipes Kafka event ("partition":"3") or of the template's rendering
// ("partition": "3"), -1 when it has none.
func partitionOf(ev []byte) int {
	i := bytes.Index(ev, []byte(`"partition":`))
	if i < 0 {
		return -1
	}
	rest := bytes.TrimLeft(ev[i+len(`"partition":`):], ` "`)
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return -1
	}
	n, err := strconv.Atoi(string(rest[:end]))
	if err != nil {
		return -1
	}
	return n
}

// summary is one line: the round's duration, each partition's first and last delivery and count, and the
// three longest gaps between deliveries (any partition), in ms from the first delivery.
func (tl *timeline) summary(first time.Time) string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	ms := func(t time.Time) float64 { return float64(t.Sub(first).Microseconds()) / 1000 }
	type span struct {
		first, last time.Time
		n, calls    int
	}
	parts := map[int]*span{}
	var sb strings.Builder
	for _, d := range tl.ends {
		sp := parts[d.partition]
		if sp == nil {
			sp = &span{first: d.at}
			parts[d.partition] = sp
		}
		sp.last, sp.n, sp.calls = d.at, sp.n+d.n, sp.calls+1
	}
	keys := make([]int, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		sp := parts[k]
		fmt.Fprintf(&sb, " p%d[%.0f..%.0f ms, %d recs, %d calls]", k, ms(sp.first), ms(sp.last), sp.n, sp.calls)
	}
	type gap struct {
		at, d float64
	}
	var gaps []gap
	for i := 1; i < len(tl.ends); i++ {
		gaps = append(gaps, gap{ms(tl.ends[i-1].at), ms(tl.ends[i].at) - ms(tl.ends[i-1].at)})
	}
	slices.SortFunc(gaps, func(a, b gap) int {
		if a.d > b.d {
			return -1
		}
		if a.d < b.d {
			return 1
		}
		return 0
	})
	st, en := tl.start, tl.end
	if ticks := float64(en.total - st.total); ticks > 0 {
		fmt.Fprintf(&sb, "; machine busy %.0f%% idle %.0f%% steal %.0f%%", 100*float64(en.busy-st.busy)/ticks,
			100*float64(en.idle-st.idle)/ticks, 100*float64(en.steal-st.steal)/ticks)
	}
	fmt.Fprintf(&sb, "; this process %.2f CPUs; %d GCs, pauses %.1f ms", (en.cpu-st.cpu).Seconds()/en.at.Sub(st.at).Seconds(),
		en.gcs-st.gcs, float64(en.gcPause-st.gcPause)/1e6)
	sb.WriteString("; longest gaps")
	for _, g := range gaps[:min(3, len(gaps))] {
		fmt.Fprintf(&sb, " %.0f ms at %.0f", g.d, g.at)
	}
	return sb.String()
}

func (t *countingFile) Deliver(ctx context.Context, b plugin.Batch) error {
	return t.count(b.Payloads, func() error { return t.Target.Deliver(ctx, b) })
}

func (t *countingFile) count(events []json.RawMessage, deliver func() error) error {
	t.firstOnce.Do(func() {
		if t.timeline != nil {
			t.timeline.start = sampleMachine()
		}
		t.first = time.Now()
	})
	if err := deliver(); err != nil {
		return err
	}
	if t.timeline != nil && len(events) > 0 {
		t.timeline.mu.Lock()
		t.timeline.ends = append(t.timeline.ends, delivery{time.Now(), partitionOf(events[0]), len(events)})
		t.timeline.mu.Unlock()
	}
	if t.delivered.Add(int64(len(events))) == t.want {
		t.last = time.Now()
		if t.timeline != nil {
			t.timeline.end = sampleMachine()
		}
		close(t.done)
	}
	return nil
}

// runFilePipe runs the pipe over the n records and returns source records per second and the size of
// its output.
func runFilePipe(b *testing.B, c *kafkatest.Cluster, src, name string, n, want int, fc fileCase) (float64, int64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "sluice.jsonl")
	ct := &countingFile{want: int64(want), done: make(chan struct{})}
	if os.Getenv("SLUICE_BENCH_TIMELINE") == "1" {
		ct.timeline = new(timeline)
	}
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
		"Name":             name,
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
	size := removeOutput(b, path)
	if ct.timeline != nil {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "timeline %s: %.0f ms, GCs so far %d;%s\n", fc.name, float64(ct.last.Sub(ct.first).Microseconds())/1000, ms.NumGC, ct.timeline.summary(ct.first))
	}
	return float64(n) / ct.last.Sub(ct.first).Seconds(), size
}

// runBareFile is the bare franz-go loop: group consumer, every value (or, filtered, the template's rendering
// of every matching one) appended to a buffer as a line, one write per poll, offsets marked after the write
// and auto-committed. It returns records per second and the size of its output.
//
// Filtered, it does by hand what the pipe's filter and template do, the way a hand-written loop would, as
// BenchmarkPipeVsBareLoop's bare loop does: both of the pattern's clauses (orderMatches) and the template's
// output appended around the value, compact as the pipe's file target writes it (appendRendering), so that
// both sides write the same bytes.
func runBareFile(b *testing.B, c *kafkatest.Cluster, src, name string, n, want int, filtered bool) (float64, int64) {
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
	pipeName := jsonString(name)
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
			if filtered {
				size += len(pipeName) + renderingExtra
			}
		}
		if cap(buf) < size {
			buf = make([]byte, 0, 2*size) // room for larger polls, not one allocation per poll
		}
		buf = buf[:0]
		for _, r := range recs {
			if !filtered {
				buf = append(append(buf, r.Value...), '\n')
				written++
				continue
			}
			if !orderMatches(r.Value) {
				continue
			}
			buf = append(appendRendering(buf, r.Value, pipeName, r.Partition, r.Offset, true), '\n')
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
	size := removeOutput(b, path)
	return float64(n) / elapsed.Seconds(), size
}

// removeOutput deletes a round's output file, so that the dirty pages of earlier rounds are dropped
// rather than written back (and throttle the writes of later rounds), and returns its size.
func removeOutput(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		b.Fatal(err)
	}
	return fi.Size()
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
