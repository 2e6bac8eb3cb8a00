package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestPipeSeriesNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	p := m.Pipe("orders")
	p.Invocations.Add(3)
	p.Events.Add(30)
	p.EventSize.Observe(1024)
	p.Duration.Observe(0.2)
	p.Concurrency.Inc()
	p.Failed.Inc()
	p.PartiallyFailed.Inc()
	p.Timeout.Inc()
	p.Throttled.Inc()
	p.EnrichmentStageDuration.Observe(0.1)
	p.EnrichmentStageFailed.Inc()
	p.TargetStageDuration.Observe(0.1)
	p.TargetStageFailed.Inc()
	p.TargetStagePartial.Inc()
	p.TargetStageSkipped.Inc()
	p.RecordsRead.Add(40)
	p.RecordsFiltered.Add(10)
	p.RecordsDeadLettered.Inc()
	p.Retry(StageTarget, OutcomeThrottled)
	stop := p.WatchLag(func() map[int32]int64 { return map[int32]int64{0: 5, 1: 7} })
	defer stop()

	// Every Pipes metric (namespace AWS/EventBridge/Pipes, the user guide's monitoring page) has its series (the mapping table of the package doc).
	want := []string{
		"sluice_pipe_invocations_total", "sluice_pipe_events_total", "sluice_pipe_event_size_bytes",
		"sluice_pipe_duration_seconds", "sluice_pipe_concurrent_executions", "sluice_pipe_executions_failed_total",
		"sluice_pipe_executions_partially_failed_total", "sluice_pipe_executions_timeout_total",
		"sluice_pipe_executions_throttled_total", "sluice_pipe_stage_duration_seconds", "sluice_pipe_stage_failed_total",
		"sluice_pipe_stage_partially_failed_total", "sluice_pipe_target_stage_skipped_total",
		"sluice_source_records_total", "sluice_source_consumer_lag_records", "sluice_pipe_records_filtered_total",
		"sluice_pipe_records_dead_lettered_total", "sluice_pipe_retries_total",
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() error: %v", err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
		for _, metric := range mf.GetMetric() {
			if !hasLabel(metric.GetLabel(), "pipe", "orders") {
				t.Errorf("series %s has labels %v, want pipe=orders", mf.GetName(), metric.GetLabel())
			}
		}
	}
	for _, name := range want {
		if !got[name] {
			t.Errorf("series %s missing from Gather()", name)
		}
	}
	if n := len(mfs); n != len(want) {
		t.Errorf("Gather() returned %d families, want %d", n, len(want))
	}

	for _, tc := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"invocations", p.Invocations, 3},
		{"events", p.Events, 30},
		{"records read", p.RecordsRead, 40},
		{"filtered", p.RecordsFiltered, 10},
		{"dead-lettered", p.RecordsDeadLettered, 1},
		{"retries target throttled", m.retries.WithLabelValues("orders", StageTarget, OutcomeThrottled), 1},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}

	lag := `
# HELP sluice_source_consumer_lag_records Records between the pipe's committed position and the end of each partition it reads.
# TYPE sluice_source_consumer_lag_records gauge
sluice_source_consumer_lag_records{partition="0",pipe="orders"} 5
sluice_source_consumer_lag_records{partition="1",pipe="orders"} 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(lag), "sluice_source_consumer_lag_records"); err != nil {
		t.Errorf("lag series: %v", err)
	}
}

func hasLabel(labels []*dto.LabelPair, name, value string) bool {
	for _, l := range labels {
		if l.GetName() == name {
			return l.GetValue() == value
		}
	}
	return false
}

func TestForgetAndStopLag(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	a, b := m.Pipe("a"), m.Pipe("b")
	a.Invocations.Inc()
	b.Invocations.Inc()
	a.Retry(StageTarget, OutcomeError)
	stopA := a.WatchLag(func() map[int32]int64 { return map[int32]int64{0: 1} })
	stopB := b.WatchLag(func() map[int32]int64 { return map[int32]int64{0: 2} })

	m.Forget("a")
	stopA() // after Forget: a no-op, must not remove b
	if n := testutil.CollectAndCount(m.invocations); n != 1 {
		t.Errorf("invocations series after Forget(a) = %d, want 1", n)
	}
	if n := testutil.CollectAndCount(m.retries); n != 0 {
		t.Errorf("retries series after Forget(a) = %d, want 0", n)
	}
	if n := testutil.CollectAndCount(m.lag); n != 1 {
		t.Errorf("lag series after Forget(a) = %d, want 1", n)
	}

	// A restarted pipe replaces its lag source; stopping the old watch must keep the new one.
	stopB2 := b.WatchLag(func() map[int32]int64 { return map[int32]int64{0: 3, 1: 4} })
	stopB()
	if n := testutil.CollectAndCount(m.lag); n != 2 {
		t.Errorf("lag series after replacing b's source = %d, want 2", n)
	}
	stopB2()
	if n := testutil.CollectAndCount(m.lag); n != 0 {
		t.Errorf("lag series after stopping b = %d, want 0", n)
	}
}

func TestKafkaHooks(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	defer c.Close()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	newClient := func() *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("t"), m.KafkaHooks("orders", ClientTarget))
		if err != nil {
			t.Fatalf("kgo.NewClient: %v", err)
		}
		return cl
	}
	cl := newClient()
	// A second client of the same pipe and role (a restart racing Close) takes the series over instead of panicking.
	cl2 := newClient()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 10; i++ {
		if err := cl2.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatalf("producing: %v", err)
		}
	}
	cl.Close()
	want := `
# HELP sluice_kafka_produce_records_total Total number of records produced
# TYPE sluice_kafka_produce_records_total counter
sluice_kafka_produce_records_total{client="target",pipe="orders",topic="t"} 10
`
	// franz-go calls the produce hooks when it handles the produce response, which may be just after
	// ProduceSync's promises returned: wait for the count rather than race the hook.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sluice_kafka_produce_records_total")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kprom series: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cl2.Close()
	if n, err := testutil.GatherAndCount(reg, "sluice_kafka_produce_records_total"); err != nil || n != 0 {
		t.Errorf("kprom series after Close = %d (%v), want 0", n, err)
	}
}

func TestServe(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.Pipe("orders").Events.Add(42)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, "127.0.0.1:0", reg, func(a net.Addr) { addrc <- a }) }()
	addr := <-addrc
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `sluice_pipe_events_total{pipe="orders"} 42`) {
		t.Errorf("GET /metrics body lacks the events series:\n%s", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve() after cancel = %v, want nil", err)
	}
}

func TestNewMetricsTwiceSharesSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := NewMetrics(reg).Pipe("a")
	b := NewMetrics(reg).Pipe("b")
	a.Events.Add(2)
	b.Events.Add(3)
	stop := b.WatchLag(func() map[int32]int64 { return map[int32]int64{0: 1} })
	defer stop()
	want := `
# HELP sluice_pipe_events_total Events entering an execution after filtering (Pipes EventCount).
# TYPE sluice_pipe_events_total counter
sluice_pipe_events_total{pipe="a"} 2
sluice_pipe_events_total{pipe="b"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sluice_pipe_events_total"); err != nil {
		t.Errorf("two NewMetrics on one registry: %v", err)
	}
	if n, err := testutil.GatherAndCount(reg, "sluice_source_consumer_lag_records"); err != nil || n != 1 {
		t.Errorf("lag series = %d (%v), want 1", n, err)
	}
}
