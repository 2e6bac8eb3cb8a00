package faults_test

// The harness of the fault tests (fault_test.go): a workload of keyed, numbered records, the `sluice run`
// process under test, the reading of what reached the target and the dead-letter destination, and the
// final check that every produced record was delivered or dead-lettered with per-key order kept.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

var (
	faultRecords = flag.Int("fault.records", 20000, "records produced by the kill -9 fault test (the full size is 200000)")
	faultKills   = flag.Int("fault.kills", 10, "kill -9 rounds of the kill fault test")
	faultSlowFor = flag.Duration("fault.slow", 12*time.Second, "how long the slow-target test lets the backlog grow")
)

// workload is keys × perKey records; record (k, s) has key "k<k>" and value {"k":k,"s":s}, and goes to
// partition hash(key) mod partitions, so each key's records are ordered within one partition.
type workload struct {
	keys, perKey int
	partitions   int32
	// poison, when set, marks records the target must reject; their value carries "poison":true.
	poison func(k, s int) bool
}

func (w workload) total() int { return w.keys * w.perKey }

type recID struct{ k, s int }

func keyOf(k int) string { return "k" + strconv.Itoa(k) }

func (w workload) partition(k int) int32 {
	h := fnv.New32a()
	h.Write([]byte(keyOf(k)))
	return int32(h.Sum32() % uint32(w.partitions))
}

// record is workload record (k, s).
func (w workload) record(topic string, k, s int) *kgo.Record {
	v := fmt.Sprintf(`{"k":%d,"s":%d}`, k, s)
	if w.poison != nil && w.poison(k, s) {
		v = fmt.Sprintf(`{"k":%d,"s":%d,"poison":true}`, k, s)
	}
	return &kgo.Record{Topic: topic, Partition: w.partition(k), Key: []byte(keyOf(k)), Value: []byte(v)}
}

// produce writes the workload to topic in key-interleaved order (s outer, k inner), so that every batch
// mixes keys and a key's records are spread over the whole run.
func (w workload) produce(t *testing.T, c *kafkatest.Cluster, topic string) {
	t.Helper()
	cl := producer(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for s := 0; s < w.perKey; s++ {
		for k := 0; k < w.keys; k++ {
			wg.Add(1)
			cl.Produce(ctx, w.record(topic, k, s),
				func(_ *kgo.Record, err error) {
					defer wg.Done()
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
					}
				})
		}
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("producing the workload to %s: %v", topic, firstErr)
	}
}

// pipesEvent is the part of the Pipes Kafka event the checks read.
type pipesEvent struct {
	Topic     string `json:"topic"`
	Partition string `json:"partition"`
	Offset    int64  `json:"offset"`
	Key       string `json:"key"`
	Value     string `json:"value"`
}

// parseDelivered decodes the workload id from a delivered Pipes event (the target received the event
// untransformed).
func parseDelivered(data []byte) (recID, error) {
	var ev pipesEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return recID{}, fmt.Errorf("decoding delivered event %q: %w", data, err)
	}
	return parseValue(ev.Value)
}

func parseValue(b64 string) (recID, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return recID{}, fmt.Errorf("decoding value %q: %w", b64, err)
	}
	var v struct{ K, S int }
	if err := json.Unmarshal(raw, &v); err != nil {
		return recID{}, fmt.Errorf("decoding value %q: %w", raw, err)
	}
	return recID{v.K, v.S}, nil
}

// verdict is the outcome of checking a run.
type verdict struct {
	delivered, distinct, duplicates, deadLettered int
}

// check verifies that every record of w was delivered or dead-lettered (never both missing), that each
// key's first deliveries come in sequence order, and counts duplicates. delivered is in delivery order
// per key (the order the target saw them).
func (w workload) check(t *testing.T, delivered []recID, deadLettered []recID) verdict {
	t.Helper()
	dl := map[recID]bool{}
	for _, id := range deadLettered {
		dl[id] = true
	}
	seen := make(map[recID]bool, len(delivered))
	next := make([]int, w.keys) // the next sequence number expected per key (skipping dead-lettered ones)
	skipDL := func(k int) {
		for next[k] < w.perKey && dl[recID{k, next[k]}] {
			next[k]++
		}
	}
	for k := range next {
		skipDL(k)
	}
	v := verdict{delivered: len(delivered), deadLettered: len(deadLettered)}
	orderErrors := 0
	for _, id := range delivered {
		if id.k < 0 || id.k >= w.keys || id.s < 0 || id.s >= w.perKey {
			t.Errorf("delivered a record that was never produced: %+v", id)
			continue
		}
		if dl[id] {
			t.Errorf("record %+v was both delivered and dead-lettered", id)
		}
		if seen[id] {
			v.duplicates++
			continue
		}
		seen[id] = true
		if id.s != next[id.k] {
			if orderErrors < 10 {
				t.Errorf("key %s: first delivery of sequence %d came when %d was expected (order broken)", keyOf(id.k), id.s, next[id.k])
			}
			orderErrors++
		}
		if id.s >= next[id.k] {
			next[id.k] = id.s + 1
			skipDL(id.k)
		}
	}
	v.distinct = len(seen)
	missing := 0
	for k := 0; k < w.keys; k++ {
		for s := 0; s < w.perKey; s++ {
			if id := (recID{k, s}); !seen[id] && !dl[id] {
				if missing < 10 {
					t.Errorf("record %+v was neither delivered nor dead-lettered", id)
				}
				missing++
			}
		}
	}
	if missing > 0 || orderErrors > 0 {
		t.Errorf("%d records lost, %d order violations (of %d produced)", missing, orderErrors, w.total())
	}
	return v
}

// proc is one `sluice run` process.
type proc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan error
}

func startSluice(t *testing.T, defPath string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"run", "--file", defPath, "--drain-timeout", "5s"}, extra...)
	cmd := exec.Command(sluicetest.Binary(t), args...)
	buf := &lockedBuffer{}
	cmd.Stderr = buf
	cmd.Stdout = buf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sluice run: %v", err)
	}
	p := &proc{cmd: cmd, stderr: buf, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 sluice: %v", err)
	}
	<-p.done
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	// A process signalled before it installed its handlers would die of the default action.
	kafkatest.Eventually(t, 30*time.Second, func() error {
		if err := p.exited(); err != nil {
			return err
		}
		if !strings.Contains(p.stderr.String(), "pipe running") {
			return errors.New("sluice run has not logged \"pipe running\" yet")
		}
		return nil
	})
	signalled := time.Now()
	defer func() {
		if d := time.Since(signalled); d > 3*time.Second {
			t.Logf("sluice run took %v to exit after SIGTERM", d.Round(time.Millisecond))
		}
	}()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM sluice: %v", err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("sluice run exited with %v after SIGTERM; output:\n%s", err, p.stderr.tail(4000))
		}
	case <-time.After(30 * time.Second):
		t.Errorf("sluice run did not exit within 30s of SIGTERM; output:\n%s", p.stderr.tail(4000))
	}
}

// exited reports a premature exit.
func (p *proc) exited() error {
	select {
	case err := <-p.done:
		p.done <- err
		return fmt.Errorf("sluice run exited early (%v); output:\n%s", err, p.stderr.tail(4000))
	default:
		return nil
	}
}

// peakRSS returns the process's peak resident set size (VmHWM) in bytes.
func (p *proc) peakRSS() (int64, error) { return p.status("VmHWM:") }

// rss returns the process's current resident set size (VmRSS) in bytes.
func (p *proc) rss() (int64, error) { return p.status("VmRSS:") }

// status reads one size field of /proc/<pid>/status.
func (p *proc) status(field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == field {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func (b *lockedBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// writeDefinition writes a CreatePipe definition for `sluice run`.
func writeDefinition(t *testing.T, def map[string]any) string {
	t.Helper()
	data, err := json.MarshalIndent(def, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pipe.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// topicReader reads a topic from the start, accumulating records in partition-offset order.
type topicReader struct {
	cl  *kgo.Client
	ids []recID
	raw [][]byte
	// offsets[i] is the partition offset of ids[i] (the tests' output topics have one partition).
	offsets []int64
}

// newTopicReader reads topic as read_uncommitted; opts come after the defaults, so that one of them can
// change the isolation level (kgo.FetchIsolationLevel).
func newTopicReader(t *testing.T, c *kafkatest.Cluster, topic string, opts ...kgo.Opt) *topicReader {
	all := append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted())}, opts...)
	return &topicReader{cl: c.Client(t, all...)}
}

// poll reads what is available now (waiting at most d) and returns the records added.
func (r *topicReader) poll(t *testing.T, d time.Duration, parse func([]byte) (recID, error)) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	fs := r.cl.PollFetches(ctx)
	n := 0
	fs.EachError(func(topic string, p int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			t.Logf("reading %s/%d: %v", topic, p, err)
		}
	})
	fs.EachRecord(func(rec *kgo.Record) {
		id, err := parse(rec.Value)
		if err != nil {
			t.Errorf("output record at offset %d: %v", rec.Offset, err)
			return
		}
		r.ids = append(r.ids, id)
		r.raw = append(r.raw, rec.Value)
		r.offsets = append(r.offsets, rec.Offset)
		n++
	})
	return n
}

// readUntil polls until cond holds or the timeout passes.
func (r *topicReader) readUntil(t *testing.T, timeout time.Duration, parse func([]byte) (recID, error), cond func() bool, alive func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v with %d records read", timeout, len(r.ids))
		}
		if alive != nil {
			if err := alive(); err != nil {
				t.Fatal(err)
			}
		}
		r.poll(t, time.Second, parse)
	}
}

func distinctCount(ids []recID) int {
	seen := make(map[recID]struct{}, len(ids))
	for _, id := range ids {
		seen[id] = struct{}{}
	}
	return len(seen)
}

// produceAll produces recs synchronously.
func produceAll(t *testing.T, cl *kgo.Client, recs []*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing %d records: %v", len(recs), err)
	}
}

// producer returns a client that honours each record's Partition field.
func producer(t *testing.T, c *kafkatest.Cluster) *kgo.Client {
	return c.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond))
}
