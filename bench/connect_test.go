package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// BenchmarkConnect puts Kafka Connect beside Sluice: on the real broker, in the same run and over the same
// topic, three copiers write every record's value to a local file, one line per record:
//
//   - connect: a standalone Kafka Connect worker with FileStreamSinkConnector (scripts/connect/ctl.sh;
//     StringConverter values, one task);
//   - sluice: `sluice run` on a pass-through pipe (no filter, no template, file target with fsync=never, as
//     Connect never fsyncs), at the default BatchSize and at 1000;
//   - bare: a franz-go group consumer that appends each poll's values to the file and commits after the write.
//
// Each is timed the same way, by watching its output file: start-up is process start (for the bare loop, client
// creation) to the first line on disk; the steady-state rate is the lines written after the first observation
// divided by the time from it to the last line. Start-up includes the JVM or Go binary start, the group join
// and the first fetch. Rates are best of three rounds, start-ups the median.
//
// It needs the real broker (SLUICE_KAFKA_PLAINTEXT), java and the Connect jars; without them it skips, or
// fails when SLUICE_KAFKA_REQUIRED=1.
//
// The sluice row's pass-through pipe is this file's own minimal case; the harness's pass-through benchmark
// (pipe vs bare loop) should become the one definition both use.
func BenchmarkConnect(b *testing.B) {
	c := kafkatest.Real(b)
	ctl := connectCtl(b)
	n := max(b.N, minRecords)
	src := c.CreateTopic(b, partitions)
	fill(b, c, src, n)
	bin := sluicetest.Binary(b)
	r := rounds
	if b.N < minRecords {
		r = 1 // the calibration run (b.N = 1): one round is enough to prove the rows work
	}
	rows := []struct {
		name string
		run  func(out string) copyRun
	}{
		{"connect", func(out string) copyRun { return runConnect(b, ctl, c, src, out, n) }},
		{"sluice", func(out string) copyRun { return runSluiceFile(b, bin, c, src, out, n, 0) }},
		{"sluice-batch1000", func(out string) copyRun { return runSluiceFile(b, bin, c, src, out, n, 1000) }},
		{"bare", func(out string) copyRun { return runBareWatched(b, c, src, out, n) }},
	}
	dir := b.TempDir()
	rates := make([]float64, len(rows))
	startups := make([][]time.Duration, len(rows))
	b.ResetTimer()
	// The testing package keeps only 10 lines of a benchmark's log (calibration run included): one line per
	// round, one per row in the summary, nothing from the calibration run.
	calibrating := b.N < minRecords
	for round := 1; round <= r; round++ {
		var line strings.Builder
		for i, row := range rows {
			out := filepath.Join(dir, fmt.Sprintf("%s-%d.out", row.name, round))
			res := row.run(out)
			// Each file holds n lines of 1 KB or more: drop it at once, not at the end of the run.
			if err := os.Remove(out); err != nil {
				b.Fatalf("removing %s: %v", out, err)
			}
			fmt.Fprintf(&line, " %s %.2fs %.0f/s (first sight %d);", row.name, res.startup.Seconds(), res.rate(), res.firstLines)
			rates[i] = max(rates[i], res.rate())
			startups[i] = append(startups[i], res.startup)
		}
		if !calibrating {
			b.Logf("round %d (start-up, steady rec/s):%s", round, strings.TrimSuffix(line.String(), ";"))
		}
	}
	b.StopTimer()
	for i, row := range rows {
		b.ReportMetric(rates[i], row.name+"-rec/s")
		b.ReportMetric(median(startups[i]).Seconds(), row.name+"-startup-s")
	}
	connect, bare := rates[0], rates[len(rows)-1]
	b.ReportMetric(rates[1]/connect, "sluice/connect")
	b.ReportMetric(rates[2]/connect, "sluice1000/connect")
	b.ReportMetric(bare/connect, "bare/connect")
	if calibrating {
		return
	}
	for i, row := range rows {
		b.Logf("%-16s start-up %5.2fs (median of %d)  steady %7.0f rec/s (best)  %.2f× connect  %.2f× bare  [%d records of %d B, %d partitions]",
			row.name, median(startups[i]).Seconds(), r, rates[i], rates[i]/connect, rates[i]/bare, n, valueSize, partitions)
	}
}

// copyRun is one copier's timing, read off its output file.
type copyRun struct {
	startup    time.Duration // process start to the first line seen
	firstLines int           // lines already there at the first sight
	lines      int           // lines at the end (n)
	steady     time.Duration // first sight to the last line
}

func (r copyRun) rate() float64 {
	if r.steady <= 0 {
		return 0
	}
	return float64(r.lines-r.firstLines) / r.steady.Seconds()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// watchLines polls path until it holds n lines and times them from start. alive reports an error when the
// writer has stopped (so a dead copier fails the run instead of timing out).
func watchLines(ctx context.Context, path string, n int, start time.Time, alive func() error) (copyRun, error) {
	var res copyRun
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	buf := make([]byte, 1<<20)
	lines := 0
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if f == nil {
			var err error
			if f, err = os.Open(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return res, fmt.Errorf("opening %s: %w", path, err)
			}
		}
		if f != nil {
			for {
				k, err := f.Read(buf)
				lines += bytes.Count(buf[:k], []byte{'\n'})
				if err == io.EOF || k == 0 {
					break
				}
				if err != nil {
					return res, fmt.Errorf("reading %s: %w", path, err)
				}
			}
		}
		now := time.Now()
		if lines > 0 && res.startup == 0 {
			res.startup, res.firstLines = now.Sub(start), lines
		}
		if lines >= n {
			res.lines = lines
			res.steady = now.Sub(start) - res.startup
			return res, nil
		}
		if err := alive(); err != nil {
			return res, fmt.Errorf("%d of %d lines in %s: %w", lines, n, path, err)
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("%d of %d lines in %s: %w", lines, n, path, ctx.Err())
		case <-tick.C:
		}
	}
}

// connectCtl returns scripts/connect/ctl.sh after making sure java and the Connect jars are there (the
// script fetches them once into the cache). It skips the benchmark when they cannot be had, or fails it
// when SLUICE_KAFKA_REQUIRED=1.
func connectCtl(b *testing.B) string {
	b.Helper()
	_, here, _, _ := goruntime.Caller(0)
	ctl := filepath.Join(filepath.Dir(here), "..", "scripts", "connect", "ctl.sh")
	unavailable := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("SLUICE_KAFKA_REQUIRED") == "1" {
			b.Fatalf("%s, and SLUICE_KAFKA_REQUIRED=1", msg)
		}
		b.Skip(msg)
	}
	if _, err := exec.LookPath("java"); err != nil {
		unavailable("Kafka Connect row: java is not on PATH (%v)", err)
	}
	cmd := exec.Command("bash", ctl, "install")
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable("Kafka Connect row: the Connect jars are unavailable (%s install: %v: %s)", ctl, err, sluicetest.Tail(strings.TrimSpace(string(out)), 2000))
	}
	return ctl
}

// runConnect runs a standalone Connect worker with FileStreamSinkConnector from src to out until out has n
// lines, then stops it with SIGTERM.
func runConnect(b *testing.B, ctl string, c *kafkatest.Cluster, src, out string, n int) copyRun {
	b.Helper()
	dir := b.TempDir()
	env := append(os.Environ(),
		"SLUICE_KAFKA_PLAINTEXT="+c.Bootstrap[0],
		fmt.Sprintf("SLUICE_CONNECT_GROUP=bench-connect-%d", time.Now().UnixNano()))
	cfg := exec.Command("bash", ctl, "config", dir, src, out)
	cfg.Env = env
	if o, err := cfg.CombinedOutput(); err != nil {
		b.Fatalf("%s config: %v\n%s", ctl, err, o)
	}
	cmd := exec.Command("bash", ctl, "run", dir) // the script execs java: the pid is the worker's
	cmd.Env = env
	return watchProcess(b, cmd, out, n, "Kafka Connect", func() string {
		return fmt.Sprintf("log %s/connect.log:\n%s", dir, tailFile(filepath.Join(dir, "connect.log")))
	})
}

// runSluiceFile runs `sluice run` on a pass-through pipe (no filter, no template) from src to a file target
// until out has n lines, then stops it with SIGTERM. batchSize 0 keeps the default.
func runSluiceFile(b *testing.B, bin string, c *kafkatest.Cluster, src, out string, n, batchSize int) copyRun {
	b.Helper()
	smk := fmt.Sprintf(`"TopicName": %q, "StartingPosition": "TRIM_HORIZON"`, src)
	if batchSize > 0 {
		smk += fmt.Sprintf(`, "BatchSize": %d`, batchSize)
	}
	def := filepath.Join(b.TempDir(), "pipe.json")
	body := fmt.Sprintf(`{"Source": "smk://%s", "SourceParameters": {"SelfManagedKafkaParameters": {%s}}, "Target": "file://%s?fsync=never"}`,
		c.Bootstrap[0], smk, out)
	if err := os.WriteFile(def, []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--file", def, "--name", fmt.Sprintf("bench-file-%d", time.Now().UnixNano()), "--log-level", "warn")
	return watchProcess(b, cmd, out, n, "sluice run", nil)
}

// watchProcess starts cmd, times out until it has n lines (watchLines), then stops the process with SIGTERM.
// what names it in errors; detail, when set, adds what to read when it exits early (its own log).
func watchProcess(b *testing.B, cmd *exec.Cmd, out string, n int, what string, detail func() string) copyRun {
	b.Helper()
	var stderr sluicetest.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", what, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := func() error {
		select {
		case err := <-done:
			done <- err
			if detail != nil {
				return fmt.Errorf("%s exited (%v); %s", what, err, detail())
			}
			return fmt.Errorf("%s exited (%v)", what, err)
		default:
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := watchLines(ctx, out, n, start, exited)
	stop(b, cmd, done, what)
	if err != nil {
		b.Fatalf("%s: %v\nstderr: %s", what, err, sluicetest.Tail(stderr.String(), 2000))
	}
	return res
}

// runBareWatched is the bare loop for a file target: a group consumer appending each poll's values to out (one
// write per poll), offsets marked after the write and auto-committed. It runs in a goroutine while the same
// watcher as the other rows times the file.
func runBareWatched(b *testing.B, c *kafkatest.Cluster, src, out string, n int) copyRun {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(c.Bootstrap...),
		kgo.ConsumerGroup(fmt.Sprintf("bench-bare-file-%d", time.Now().UnixNano())),
		kgo.ConsumeTopics(src),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
	)
	if err != nil {
		b.Fatalf("bare loop client: %v", err)
	}
	defer cl.Close()
	done := make(chan error, 1)
	go func() { done <- bareCopy(ctx, cl, out, n) }()
	exited := func() error {
		select {
		case err := <-done:
			done <- err
			if err == nil {
				return nil // finished: the watcher sees the last lines on its next read
			}
			return fmt.Errorf("bare loop stopped: %w", err)
		default:
			return nil
		}
	}
	res, err := watchLines(ctx, out, n, start, exited)
	if err != nil {
		b.Fatalf("bare loop: %v", err)
	}
	cancel()
	<-done
	return res
}

func bareCopy(ctx context.Context, cl *kgo.Client, out string, n int) error {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("opening %s: %w", out, err)
	}
	defer f.Close()
	var buf []byte
	for consumed := 0; consumed < n; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("consumed %d of %d: %w", consumed, n, err)
		}
		if err := fs.Err0(); err != nil {
			return fmt.Errorf("fetching: %w", err)
		}
		recs := fs.Records()
		buf = buf[:0]
		for _, r := range recs {
			buf = append(append(buf, r.Value...), '\n')
		}
		if _, err := f.Write(buf); err != nil {
			return fmt.Errorf("writing %s: %w", out, err)
		}
		cl.MarkCommitRecords(recs...)
		consumed += len(recs)
	}
	return nil
}

// stop sends SIGTERM and waits up to 30 s for the process to exit, then kills it.
func stop(b *testing.B, cmd *exec.Cmd, done chan error, what string) {
	b.Helper()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.Logf("%s ignored SIGTERM for 30s; killing it", what)
		_ = cmd.Process.Kill()
		<-done
	}
}

func tailFile(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return sluicetest.Tail(strings.TrimSpace(string(data)), 3000)
}
