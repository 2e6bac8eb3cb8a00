package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// testWriter sends log lines to t.Log until the test's cleanups began, after which late lines from
// client goroutines are dropped instead of panicking the test binary.
type testWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// testConfig returns a config reading topic from c with its own consumer group, from the start.
func testConfig(t testing.TB, c *kafkatest.Cluster, topic string) Config {
	return Config{
		Pipe:             "pipe-" + topic,
		Brokers:          c.Bootstrap,
		Topic:            topic,
		StartingPosition: TrimHorizon,
		ConsumerGroupID:  "group-" + topic,
		Logger:           testLogger(t),
		ConnectTimeout:   15 * time.Second,
		CommitInterval:   200 * time.Millisecond,
		ClientOpts:       []kgo.Opt{kgo.FetchMaxWait(500 * time.Millisecond)},
	}
}

func newSource(t testing.TB, cfg Config) *Source {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New(%s) error = %v", cfg.Topic, err)
	}
	return s
}

// start runs s in the background; stop cancels it and returns Run's error.
func start(t testing.TB, s *Source, h Handler) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx, h) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(90 * time.Second):
				err = fmt.Errorf("Run did not return within 90s of cancellation")
				t.Error(err)
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// TestMain fails the package when a partition worker or Run outlives the tests: every goroutine the
// source starts must be waited for by its owner.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(10 * time.Second)
		for {
			buf := make([]byte, 4<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			leaked := strings.Contains(stacks, "kafka.(*worker).run") || strings.Contains(stacks, "kafka.(*Source).Run(")
			if !leaked {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "goroutines of the source leaked past the tests:\n%s\n", stacks)
				code = 1
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	os.Exit(code)
}

// sink collects acknowledged batches.
type sink struct {
	mu      sync.Mutex
	batches []*Batch
	offsets map[int32][]int64
	values  map[int32][]string
	total   int
}

func newSink() *sink { return &sink{offsets: map[int32][]int64{}, values: map[int32][]string{}} }

func (k *sink) add(b *Batch) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.batches = append(k.batches, b)
	for _, r := range b.Records {
		k.offsets[b.Partition] = append(k.offsets[b.Partition], r.Offset)
		k.values[b.Partition] = append(k.values[b.Partition], string(r.Value))
	}
	k.total += len(b.Records)
}

func (k *sink) handler(ctx context.Context, b *Batch) error {
	k.add(b)
	return nil
}

func (k *sink) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.total
}

func (k *sink) waitFor(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	kafkatest.Eventually(t, timeout, func() error {
		if got := k.count(); got < n {
			return fmt.Errorf("%d of %d records acknowledged", got, n)
		}
		return nil
	})
}

// records makes n records for partition p with values "p<p>-<i>" (i from first).
func records(topic string, p int32, first, n int) []*kgo.Record {
	out := make([]*kgo.Record, n)
	for i := range out {
		out[i] = &kgo.Record{Topic: topic, Partition: p,
			Key: []byte(fmt.Sprintf("k%d", first+i)), Value: []byte(fmt.Sprintf("p%d-%d", p, first+i))}
	}
	return out
}

// checkContiguous fails unless offsets are exactly from, from+1, ..., from+n-1.
func checkContiguous(t testing.TB, what string, offsets []int64, from int64, n int) {
	t.Helper()
	if len(offsets) != n {
		t.Errorf("%s: got %d records, want %d (offsets %v)", what, len(offsets), n, abbreviate(offsets))
		return
	}
	for i, o := range offsets {
		if o != from+int64(i) {
			t.Errorf("%s: record %d has offset %d, want %d (order or gap broken)", what, i, o, from+int64(i))
			return
		}
	}
}

func abbreviate(o []int64) string {
	if len(o) > 20 {
		return fmt.Sprint(o[:10]) + "..." + fmt.Sprint(o[len(o)-10:])
	}
	return fmt.Sprint(o)
}
