package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	_ "github.com/sluicehq/sluice/internal/target/http" // the http kind of plugin.Default
)

// httpCases are the rows of BenchmarkHTTPTarget: the HTTP target takes one event per request and a pipe
// with it BatchSize 1 (as Pipes requires of API destinations), so every record is a batch of its own and
// the per-batch costs (execution, log, metrics, limiter) count in full.
var httpCases = []fileCase{
	{name: "passthrough", batchSize: 1},
	{name: "filter-template", batchSize: 1, filtered: true},
}

// BenchmarkHTTPTarget measures Kafka → HTTP (a local server that reads each body and answers 200)
// through a Sluice pipe and through a bare franz-go loop that POSTs every value (or every matching one)
// itself, one request at a time per partition, the partitions of a poll in parallel (as the pipe runs one
// execution per partition), and marks the poll's records after its requests. It reports the best rates
// of the rounds (SLUICE_BENCH_ROUNDS, default 3), their ratio and the spread.
func BenchmarkHTTPTarget(b *testing.B) {
	for _, hc := range httpCases {
		b.Run("kfake-"+hc.name, func(b *testing.B) { compareHTTP(b, kafkatest.Kfake(b), hc) })
		b.Run("kafka-"+hc.name, func(b *testing.B) { compareHTTP(b, kafkatest.Real(b), hc) })
	}
}

// httpSink is the local server: it counts requests and bytes, timing the first and the want-th.
type httpSink struct {
	want     int64
	requests atomic.Int64
	bytes    atomic.Int64
	first    atomic.Int64 // unix nanoseconds
	last     atomic.Int64
	done     chan struct{}
}

func newHTTPSink(want int) *httpSink { return &httpSink{want: int64(want), done: make(chan struct{})} }

func (s *httpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, r.Body)
	s.bytes.Add(n)
	s.first.CompareAndSwap(0, time.Now().UnixNano())
	if s.requests.Add(1) == s.want {
		s.last.Store(time.Now().UnixNano())
		close(s.done)
	}
}

// rate is source records per second between the first and the last request.
func (s *httpSink) rate(n int) float64 {
	return float64(n) / time.Duration(s.last.Load()-s.first.Load()).Seconds()
}

func compareHTTP(b *testing.B, c *kafkatest.Cluster, hc fileCase) {
	n := max(b.N, minRecords)
	src := c.CreateTopic(b, partitions)
	matched := fill(b, c, src, n)
	want := n
	if hc.filtered {
		want = matched
	}
	b.ResetTimer()
	var sl, bl []float64
	for r := 1; r <= benchRounds(); r++ {
		sl = append(sl, runHTTPPipe(b, c, src, n, want, hc))
		bl = append(bl, runBareHTTP(b, c, src, n, want, hc.filtered))
	}
	b.StopTimer()
	sluice, bare := slices.Max(sl), slices.Max(bl)
	b.ReportMetric(sluice, "sluice-rec/s")
	b.ReportMetric(bare, "bare-rec/s")
	b.ReportMetric(sluice/bare, "ratio")
	b.ReportMetric(sluice/slices.Min(sl), "sluice-max/min")
	b.Logf("%s %s, %d records of %d B (%d requests), best of %d: sluice %.0f rec/s, bare loop %.0f rec/s, ratio %.2f; spread max/min sluice %.2f, bare %.2f; rounds sluice %s, bare %s",
		c.Name, hc.name, n, valueSize, want, len(sl), sluice, bare, sluice/bare, sluice/slices.Min(sl), bare/slices.Min(bl), kilo(sl), kilo(bl))
}

// runHTTPPipe runs the pipe with the real HTTP target over the n records and returns records per second.
func runHTTPPipe(b *testing.B, c *kafkatest.Cluster, src string, n, want int, hc fileCase) float64 {
	b.Helper()
	sink := newHTTPSink(want)
	srv := httptest.NewServer(sink)
	defer srv.Close()
	smk := map[string]any{"TopicName": src, "StartingPosition": "TRIM_HORIZON", "BatchSize": hc.batchSize}
	sp := map[string]any{"SelfManagedKafkaParameters": smk}
	def := map[string]any{
		"Name":             fmt.Sprintf("bench-http-%d", time.Now().UnixNano()),
		"Source":           "smk://" + c.Bootstrap[0],
		"SourceParameters": sp,
		"Target":           srv.URL + "/orders",
	}
	// The API destination's rate limit (default 300 requests/s, as Pipes) is lifted: the row measures
	// the machinery.
	tp := map[string]any{"ApiDestinationParameters": map[string]any{"InvocationRateLimitPerSecond": 1_000_000}}
	def["TargetParameters"] = tp
	if hc.filtered {
		sp["FilterCriteria"] = map[string]any{"Filters": []map[string]string{{"Pattern": filter}}}
		tp["InputTemplate"] = template
	}
	raw, _ := json.Marshal(def)
	runPipeUntil(b, raw, plugin.Default, sink.done, sink.requests.Load, want)
	return sink.rate(n)
}

// runBareHTTP is the bare loop: group consumer; each poll's records are POSTed, one request at a time
// per partition and the partitions in parallel, then marked and auto-committed.
func runBareHTTP(b *testing.B, c *kafkatest.Cluster, src string, n, want int, filtered bool) float64 {
	b.Helper()
	sink := newHTTPSink(want)
	srv := httptest.NewServer(sink)
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * partitions}}
	defer hc.CloseIdleConnections()
	cl := c.Client(b,
		kgo.ConsumerGroup(fmt.Sprintf("bench-bare-http-%d", time.Now().UnixNano())),
		kgo.ConsumeTopics(src),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
	)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	paid := []byte(`"status":"PAID"`)
	post := func(v []byte) error {
		resp, err := hc.Post(srv.URL+"/orders", "application/json", bytes.NewReader(v))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	}
	consumed := 0
	for consumed < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			b.Fatalf("bare loop consumed %d of %d: %v", consumed, n, err)
		}
		fs.EachError(func(t string, p int32, err error) { b.Fatalf("fetching %s[%d]: %v", t, p, err) })
		var wg sync.WaitGroup
		var failed atomic.Value
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, r := range p.Records {
					if filtered && !bytes.Contains(r.Value, paid) {
						continue
					}
					if err := post(r.Value); err != nil {
						failed.Store(err)
						return
					}
				}
			}()
		})
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatalf("bare loop posting: %v", err)
		}
		recs := fs.Records()
		cl.MarkCommitRecords(recs...)
		consumed += len(recs)
	}
	if got := sink.requests.Load(); got != int64(want) {
		b.Fatalf("bare loop made %d requests, want %d", got, want)
	}
	return sink.rate(n)
}
