package faults_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/retry"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// httpTarget is the endpoint of an http:// target: it records every event it accepts, in arrival
// order, and answers what respond says.
type httpTarget struct {
	t       *testing.T
	respond func(id recID, body []byte) int
	delay   time.Duration

	mu       sync.Mutex
	accepted []recID
	requests atomic.Int64
	rejected atomic.Int64
}

func (h *httpTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if h.delay > 0 {
		time.Sleep(h.delay)
	}
	id, err := parseDelivered(body)
	if err != nil {
		h.t.Errorf("target received %q: %v", body, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	code := http.StatusOK
	if h.respond != nil {
		code = h.respond(id, body)
	}
	if code == http.StatusOK {
		h.mu.Lock()
		h.accepted = append(h.accepted, id)
		h.mu.Unlock()
	} else {
		h.rejected.Add(1)
	}
	w.WriteHeader(code)
}

func (h *httpTarget) snapshot() []recID {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]recID(nil), h.accepted...)
}

// httpPipe is the definition of a pipe from topic in to the HTTP endpoint url, with a dead-letter file
// and retry limits when given (nil: absent).
func httpPipe(c *kafkatest.Cluster, name, in, url, dlq string, maxRetries, maxAge *int) map[string]any {
	smk := map[string]any{"TopicName": in, "StartingPosition": "TRIM_HORIZON", "ConsumerGroupID": "fault-" + in}
	if dlq != "" {
		smk["DeadLetterConfig"] = map[string]any{"Arn": dlq}
	}
	if maxRetries != nil {
		smk["MaximumRetryAttempts"] = *maxRetries
	}
	if maxAge != nil {
		smk["MaximumRecordAgeInSeconds"] = *maxAge
	}
	return map[string]any{
		"Name":             name,
		"Source":           "smk://" + c.Bootstrap[0],
		"SourceParameters": map[string]any{"SelfManagedKafkaParameters": smk},
		"Target":           url,
	}
}

// readDeadLetters reads a file:// dead-letter destination.
func readDeadLetters(t *testing.T, path string) []retry.DeadLetter {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []retry.DeadLetter
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var dl retry.DeadLetter
		if err := json.Unmarshal(sc.Bytes(), &dl); err != nil {
			t.Fatalf("dead-letter line %q: %v", sc.Text(), err)
		}
		out = append(out, dl)
	}
	return out
}

func deadLetterIDs(t *testing.T, dls []retry.DeadLetter) []recID {
	t.Helper()
	var ids []recID
	for _, dl := range dls {
		id, err := parseDelivered(dl.Event)
		if err != nil {
			t.Fatalf("dead letter %+v: %v", dl, err)
		}
		ids = append(ids, id)
	}
	return ids
}

func intp(v int) *int { return &v }

// TestTargetUnavailableThenRecovers: the target answers 503 for its first three seconds, then 200.
// Everything is delivered, in per-key order, and nothing is dead-lettered although a dead-letter
// destination and a retry limit are configured.
func TestTargetUnavailableThenRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	c := cluster(t)
	w := workload{keys: 10, perKey: 50, partitions: 4}
	in := c.CreateTopic(t, w.partitions)
	w.produce(t, c, in)

	var recoverAt atomic.Int64 // unix nanos; 0 until the first request
	h := &httpTarget{t: t, respond: func(recID, []byte) int {
		now := time.Now().UnixNano()
		recoverAt.CompareAndSwap(0, now+int64(3*time.Second))
		if now < recoverAt.Load() {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	dlq := filepath.Join(t.TempDir(), "dlq.jsonl")
	def := writeDefinition(t, httpPipe(c, "unavailable", in, srv.URL+"/events", "file://"+dlq, intp(1000), nil))

	sluicetest.Binary(t)
	began := time.Now()
	p := startSluice(t, def)
	kafkatest.Eventually(t, 2*time.Minute, func() error {
		if err := p.exited(); err != nil {
			return err
		}
		if n := distinctCount(h.snapshot()); n < w.total() {
			return fmt.Errorf("%d of %d delivered", n, w.total())
		}
		return nil
	})
	p.stop(t)
	dls := readDeadLetters(t, dlq)
	if len(dls) != 0 {
		t.Errorf("%d records dead-lettered, want none: %+v", len(dls), dls[0])
	}
	if h.rejected.Load() == 0 {
		t.Errorf("the target never answered 503: the test did not exercise retries")
	}
	v := w.check(t, h.snapshot(), nil)
	t.Logf("503 for 3s: %d rejected requests, %d delivered, %d duplicates; first request after %v, all delivered after %v",
		h.rejected.Load(), v.delivered, v.duplicates, time.Unix(0, recoverAt.Load()).Add(-3*time.Second).Sub(began).Round(time.Millisecond),
		time.Since(began).Round(time.Millisecond))
}

// TestPoisonRecord: the target rejects a few records always (400 for one, 500 for another); only those
// are dead-lettered, with their reason, attempts and origin, and the partitions go on.
func TestPoisonRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	c := cluster(t)
	poison := map[recID]int{{3, 7}: http.StatusBadRequest, {5, 20}: http.StatusInternalServerError}
	w := workload{keys: 10, perKey: 40, partitions: 4, poison: func(k, s int) bool { _, ok := poison[recID{k, s}]; return ok }}
	in := c.CreateTopic(t, w.partitions)
	w.produce(t, c, in)
	h := &httpTarget{t: t, respond: func(id recID, _ []byte) int {
		if code, ok := poison[id]; ok {
			return code
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	dlq := filepath.Join(t.TempDir(), "dlq.jsonl")
	def := writeDefinition(t, httpPipe(c, "poison", in, srv.URL, "file://"+dlq, intp(2), nil))

	p := startSluice(t, def, "--metrics-listen", "127.0.0.1:0")
	kafkatest.Eventually(t, 2*time.Minute, func() error {
		if err := p.exited(); err != nil {
			return err
		}
		if n, d := distinctCount(h.snapshot()), len(readDeadLetters(t, dlq)); n+d < w.total() {
			return fmt.Errorf("%d delivered + %d dead-lettered of %d", n, d, w.total())
		}
		return nil
	})
	// The process's /metrics agrees.
	metricsText := scrape(t, p)
	for _, want := range []string{
		`sluice_pipe_records_dead_lettered_total{pipe="poison"} 2`,
		fmt.Sprintf(`sluice_source_records_total{pipe="poison"} %d`, w.total()),
		`sluice_pipe_records_filtered_total{pipe="poison"} 0`,
	} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	p.stop(t)
	dls := readDeadLetters(t, dlq)
	ids := deadLetterIDs(t, dls)
	v := w.check(t, h.snapshot(), ids)
	if len(dls) != len(poison) {
		t.Fatalf("%d dead letters, want %d (one per poison record): %v", len(dls), len(poison), ids)
	}
	for i, dl := range dls {
		code := poison[ids[i]]
		wantReason, wantMin := retry.ReasonPermanent, 1
		if code >= 500 {
			wantReason, wantMin = retry.ReasonRetriesExhausted, 3 // MaximumRetryAttempts 2: three attempts at least
		}
		if dl.Reason != wantReason || dl.Attempts < wantMin || dl.Pipe != "poison" || dl.Topic != in ||
			dl.Partition != w.partition(ids[i].k) || dl.Error == "" || dl.Version != retry.DeadLetterVersion {
			t.Errorf("dead letter of %+v: reason %s, %d attempts, pipe %s, topic %s, partition %d, error %q;"+
				" want reason %s, >= %d attempts, pipe poison, topic %s, partition %d",
				ids[i], dl.Reason, dl.Attempts, dl.Pipe, dl.Topic, dl.Partition, dl.Error, wantReason, wantMin, in, w.partition(ids[i].k))
		}
	}
	t.Logf("poison: %d delivered, %d dead-lettered %v, %d duplicates", v.delivered, len(dls), ids, v.duplicates)
}

// TestSlowTargetBoundedMemory: a target that takes 20 ms per event while 1 KB records keep arriving; the
// backlog grows in Kafka, not in the process, whose peak RSS must stay bounded.
func TestSlowTargetBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	c := cluster(t)
	in := c.CreateTopic(t, 4)
	h := &httpTarget{t: t, delay: 20 * time.Millisecond}
	srv := httptest.NewServer(h)
	defer srv.Close()
	def := writeDefinition(t, httpPipe(c, "slow", in, srv.URL, "", nil, nil))

	cl := producer(t, c)
	pad := bytes.Repeat([]byte("x"), 1000)
	produced := 0
	produceBurst := func(n int) {
		var recs []*kgo.Record
		for i := 0; i < n; i++ {
			k := produced % 100
			v, _ := json.Marshal(map[string]any{"k": k, "s": produced / 100, "pad": string(pad)})
			recs = append(recs, &kgo.Record{Topic: in, Partition: int32(k % 4), Key: []byte(keyOf(k)), Value: v})
			produced++
		}
		produceAll(t, cl, recs)
	}
	produceBurst(20000)
	p := startSluice(t, def)
	var peak int64
	began, lastSample := time.Now(), time.Time{}
	deadline := time.Now().Add(*faultSlowFor)
	for time.Now().Before(deadline) {
		produceBurst(2000) // the backlog keeps growing: 2000 records per 0.5 s against ~200 delivered per second
		if err := p.exited(); err != nil {
			t.Fatal(err)
		}
		if rss, err := p.peakRSS(); err == nil {
			peak = max(peak, rss)
		}
		if rss, err := p.rss(); err == nil && time.Since(lastSample) >= 5*time.Second {
			lastSample = time.Now()
			t.Logf("after %v: backlog %d records, RSS %.1f MB", time.Since(began).Round(time.Second), produced-len(h.snapshot()), float64(rss)/(1<<20))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if rss, err := p.peakRSS(); err == nil {
		peak = max(peak, rss)
	}
	p.stop(t)
	delivered := len(h.snapshot())
	t.Logf("slow target: %d produced, %d delivered, backlog %d records (%d MB), peak RSS %.1f MB",
		produced, delivered, produced-delivered, (produced-delivered)/1000, float64(peak)/(1<<20))
	if delivered == 0 {
		t.Errorf("nothing delivered to the slow target")
	}
	const limit = 256 << 20
	if peak > limit {
		t.Errorf("peak RSS %d MB, want under %d MB while the backlog grows", peak>>20, limit>>20)
	}
}

var metricsAddress = regexp.MustCompile(`"address":"(http://[^"]+/metrics)"`)

// scrape fetches the /metrics page of a process started with --metrics-listen.
func scrape(t *testing.T, p *proc) string {
	t.Helper()
	m := metricsAddress.FindStringSubmatch(p.stderr.String())
	if m == nil {
		t.Fatalf("sluice run did not log its metrics address; output:\n%s", p.stderr.tail(2000))
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatalf("GET %s: %v", m[1], err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
