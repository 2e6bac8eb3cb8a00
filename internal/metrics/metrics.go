// Package metrics defines Sluice's Prometheus series: the EventBridge Pipes metrics (CloudWatch namespace
// AWS/EventBridge/Pipes) as series per pipe, plus what Pipes does not publish (consumer lag, records
// filtered out, records dead-lettered, retries, and the franz-go client metrics).
//
// Nothing registers into a global registry: NewMetrics takes the Registerer, and the process decides
// where /metrics is served (see Handler and Serve).
//
// # Mapping from the Pipes metric names
//
// CloudWatch publishes one datum per minute; Prometheus series are cumulative and scraped, so Pipes'
// "count per minute" metrics are counters (use rate()), and its millisecond durations are histograms in
// seconds (use histogram_quantile() or _sum/_count). Every series carries the label pipe.
//
//	Pipes metric (unit)               Prometheus series
//	Invocations                       sluice_pipe_invocations_total
//	EventCount                        sluice_pipe_events_total
//	EventSize (Bytes)                 sluice_pipe_event_size_bytes (histogram; one observation per execution)
//	Duration (ms)                     sluice_pipe_duration_seconds (histogram)
//	Concurrency                       sluice_pipe_concurrent_executions (gauge)
//	ExecutionFailed                   sluice_pipe_executions_failed_total
//	ExecutionPartiallyFailed          sluice_pipe_executions_partially_failed_total
//	ExecutionTimeout                  sluice_pipe_executions_timeout_total
//	ExecutionThrottled                sluice_pipe_executions_throttled_total
//	EnrichmentStageDuration (ms)      sluice_pipe_stage_duration_seconds{stage="enrichment"}
//	EnrichmentStageFailed             sluice_pipe_stage_failed_total{stage="enrichment"}
//	TargetStageDuration (ms)          sluice_pipe_stage_duration_seconds{stage="target"}
//	TargetStageFailed                 sluice_pipe_stage_failed_total{stage="target"}
//	TargetStagePartiallyFailed        sluice_pipe_stage_partially_failed_total{stage="target"}
//	TargetStageSkipped                sluice_pipe_target_stage_skipped_total
//	(not in Pipes) records read       sluice_source_records_total
//	(not in Pipes) consumer lag       sluice_source_consumer_lag_records{partition} (gauge, read at scrape)
//	(not in Pipes) filtered out       sluice_pipe_records_filtered_total
//	(not in Pipes) dead-lettered      sluice_pipe_records_dead_lettered_total
//	(not in Pipes) retries            sluice_pipe_retries_total{stage, outcome}
//	(not in Pipes) franz-go client    sluice_kafka_*{client}: connects_total, connect_errors_total,
//	                                  disconnects_total, read/write_bytes_total, read/write_errors_total,
//	                                  fetch_records_total, fetch_batches_total, fetch_uncompressed_bytes_total
//	                                  {topic}, buffered_fetch_records_total, ... (package kprom)
//
// An execution is one batch (or one sub-batch when a failing batch is bisected) travelling through
// enrichment and target. Invocations counts executions started, including retries of the same batch;
// EventCount counts the events entering an execution (after filtering), so retried events count again, as
// they do in Pipes. EventSize observes the size of the execution's input payload (the JSON array of
// events). The retries outcome label is "error", "throttled" or "timeout"; its stage is
// "execution" (the runtime retries whole executions, as Pipes does) or "dead_letter" (writing to the
// dead-letter destination).
//
// Labels are bounded: pipe (one per configured pipe; Forget removes a deleted pipe's series), stage and
// outcome (fixed sets), partition (the topic's partition count), and on the franz-go series client
// ("source", "target", "dead_letter"), node_id and topic.
package metrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Stage label values.
const (
	StageEnrichment = "enrichment"
	StageTarget     = "target"
	StageExecution  = "execution"
	StageDeadLetter = "dead_letter"
)

// Retry outcome label values.
const (
	OutcomeError     = "error"
	OutcomeThrottled = "throttled"
	OutcomeTimeout   = "timeout"
)

// durationBuckets span a fast HTTP call to the 5-minute execution limit.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// sizeBuckets span one small event to the 6 MB payload limit.
var sizeBuckets = []float64{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 6 << 20}

// Metrics holds the metric vectors of every pipe in one process. It is safe for concurrent use.
type Metrics struct {
	reg prometheus.Registerer

	invocations         *prometheus.CounterVec
	events              *prometheus.CounterVec
	eventSize           *prometheus.HistogramVec
	duration            *prometheus.HistogramVec
	concurrency         *prometheus.GaugeVec
	failed              *prometheus.CounterVec
	partiallyFailed     *prometheus.CounterVec
	timeout             *prometheus.CounterVec
	throttled           *prometheus.CounterVec
	stageDuration       *prometheus.HistogramVec
	stageFailed         *prometheus.CounterVec
	stagePartial        *prometheus.CounterVec
	targetSkipped       *prometheus.CounterVec
	recordsRead         *prometheus.CounterVec
	recordsFiltered     *prometheus.CounterVec
	recordsDeadLettered *prometheus.CounterVec
	retries             *prometheus.CounterVec
	lag                 *lagCollector
	kafkaReg            *kafkaRegisterer
}

// NewMetrics creates the series and registers them with reg. Calling it again with the same registry
// (each pipe of a server building its own) returns a Metrics sharing the series already registered, so
// pipes need not pass one Metrics around. It panics when reg holds different series under these names.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(subsystem, name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Subsystem: subsystem, Name: name, Help: help,
		}, append([]string{"pipe"}, labels...))
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sluice", Subsystem: "pipe", Name: name, Help: help, Buckets: buckets,
		}, append([]string{"pipe"}, labels...))
	}
	m := &Metrics{
		reg:         reg,
		invocations: counter("pipe", "invocations_total", "Executions started (Pipes Invocations), retries included."),
		events:      counter("pipe", "events_total", "Events entering an execution after filtering (Pipes EventCount)."),
		eventSize:   histogram("event_size_bytes", "Size of an execution's input payload (Pipes EventSize).", sizeBuckets),
		duration:    histogram("duration_seconds", "Execution duration, enrichment plus target (Pipes Duration).", durationBuckets),
		concurrency: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "sluice", Subsystem: "pipe", Name: "concurrent_executions",
			Help: "Executions in flight (Pipes Concurrency).",
		}, []string{"pipe"}),
		failed:          counter("pipe", "executions_failed_total", "Failed executions (Pipes ExecutionFailed)."),
		partiallyFailed: counter("pipe", "executions_partially_failed_total", "Partially failed executions (Pipes ExecutionPartiallyFailed)."),
		timeout:         counter("pipe", "executions_timeout_total", "Executions that hit the execution limit (Pipes ExecutionTimeout)."),
		throttled:       counter("pipe", "executions_throttled_total", "Executions throttled by the enrichment or target (Pipes ExecutionThrottled)."),
		stageDuration: histogram("stage_duration_seconds",
			"Enrichment or target stage duration (Pipes EnrichmentStageDuration, TargetStageDuration).", durationBuckets, "stage"),
		stageFailed: counter("pipe", "stage_failed_total",
			"Failed enrichment or target stages (Pipes EnrichmentStageFailed, TargetStageFailed).", "stage"),
		stagePartial: counter("pipe", "stage_partially_failed_total",
			"Partially failed target stages (Pipes TargetStagePartiallyFailed).", "stage"),
		targetSkipped:       counter("pipe", "target_stage_skipped_total", "Executions whose target was not invoked because the enrichment returned no events (Pipes TargetStageSkipped)."),
		recordsRead:         counter("source", "records_total", "Records read from Kafka, before filtering."),
		recordsFiltered:     counter("pipe", "records_filtered_total", "Records dropped by the pipe's FilterCriteria (committed, not delivered)."),
		recordsDeadLettered: counter("pipe", "records_dead_lettered_total", "Records sent to the dead-letter destination after their retries were exhausted."),
		retries:             counter("pipe", "retries_total", "Retried calls, by stage and outcome of the failed attempt.", "stage", "outcome"),
		lag:                 newLagCollector(),
		kafkaReg:            newKafkaRegisterer(reg),
	}
	adopt(reg, &m.invocations)
	adopt(reg, &m.events)
	adopt(reg, &m.eventSize)
	adopt(reg, &m.duration)
	adopt(reg, &m.concurrency)
	adopt(reg, &m.failed)
	adopt(reg, &m.partiallyFailed)
	adopt(reg, &m.timeout)
	adopt(reg, &m.throttled)
	adopt(reg, &m.stageDuration)
	adopt(reg, &m.stageFailed)
	adopt(reg, &m.stagePartial)
	adopt(reg, &m.targetSkipped)
	adopt(reg, &m.recordsRead)
	adopt(reg, &m.recordsFiltered)
	adopt(reg, &m.recordsDeadLettered)
	adopt(reg, &m.retries)
	adopt(reg, &m.lag)
	return m
}

// Pipe returns the series of one pipe, with the label values resolved once so that the hot path does no
// map look-ups. Calling it again for the same name returns handles to the same series.
func (m *Metrics) Pipe(name string) *Pipe {
	return &Pipe{
		m:                       m,
		name:                    name,
		Invocations:             m.invocations.WithLabelValues(name),
		Events:                  m.events.WithLabelValues(name),
		EventSize:               m.eventSize.WithLabelValues(name),
		Duration:                m.duration.WithLabelValues(name),
		Concurrency:             m.concurrency.WithLabelValues(name),
		Failed:                  m.failed.WithLabelValues(name),
		PartiallyFailed:         m.partiallyFailed.WithLabelValues(name),
		Timeout:                 m.timeout.WithLabelValues(name),
		Throttled:               m.throttled.WithLabelValues(name),
		EnrichmentStageDuration: m.stageDuration.WithLabelValues(name, StageEnrichment),
		EnrichmentStageFailed:   m.stageFailed.WithLabelValues(name, StageEnrichment),
		TargetStageDuration:     m.stageDuration.WithLabelValues(name, StageTarget),
		TargetStageFailed:       m.stageFailed.WithLabelValues(name, StageTarget),
		TargetStagePartial:      m.stagePartial.WithLabelValues(name, StageTarget),
		TargetStageSkipped:      m.targetSkipped.WithLabelValues(name),
		RecordsRead:             m.recordsRead.WithLabelValues(name),
		RecordsFiltered:         m.recordsFiltered.WithLabelValues(name),
		RecordsDeadLettered:     m.recordsDeadLettered.WithLabelValues(name),
	}
}

// Forget deletes every series of a pipe (after DeletePipe), so that a long-running server does not keep
// series of pipes that no longer exist.
func (m *Metrics) Forget(pipe string) {
	l := prometheus.Labels{"pipe": pipe}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.invocations, m.events, m.eventSize, m.duration, m.concurrency, m.failed, m.partiallyFailed, m.timeout,
		m.throttled, m.stageDuration, m.stageFailed, m.stagePartial, m.targetSkipped, m.recordsRead,
		m.recordsFiltered, m.recordsDeadLettered, m.retries,
	} {
		v.DeletePartialMatch(l)
	}
	m.lag.remove(pipe)
}

// Pipe is one pipe's series. The exported fields are the Prometheus handles, for the runtime to update.
type Pipe struct {
	m    *Metrics
	name string

	Invocations             prometheus.Counter
	Events                  prometheus.Counter
	EventSize               prometheus.Observer
	Duration                prometheus.Observer
	Concurrency             prometheus.Gauge
	Failed                  prometheus.Counter
	PartiallyFailed         prometheus.Counter
	Timeout                 prometheus.Counter
	Throttled               prometheus.Counter
	EnrichmentStageDuration prometheus.Observer
	EnrichmentStageFailed   prometheus.Counter
	TargetStageDuration     prometheus.Observer
	TargetStageFailed       prometheus.Counter
	TargetStagePartial      prometheus.Counter
	TargetStageSkipped      prometheus.Counter
	RecordsRead             prometheus.Counter
	RecordsFiltered         prometheus.Counter
	RecordsDeadLettered     prometheus.Counter
}

// Name returns the pipe's name, the value of its pipe label.
func (p *Pipe) Name() string { return p.name }

// Retry counts one retried call of a stage (StageEnrichment, StageTarget, StageExecution,
// StageDeadLetter) whose failed attempt had the given outcome (OutcomeError, OutcomeThrottled,
// OutcomeTimeout).
func (p *Pipe) Retry(stage, outcome string) {
	p.m.retries.WithLabelValues(p.name, stage, outcome).Inc()
}

// WatchLag makes the pipe's consumer lag (records behind the partition's end, per partition) part of
// every scrape: lag is called at scrape time, typically (*kafka.Source).Lag. The returned function stops
// the watch; call it when the source closes.
func (p *Pipe) WatchLag(lag func() map[int32]int64) (stop func()) {
	return p.m.lag.add(p.name, lag)
}

// adopt registers *c with reg, or, when reg already has an identical collector (an earlier NewMetrics
// on the same registry), points *c at that one.
func adopt[C prometheus.Collector](reg prometheus.Registerer, c *C) {
	err := reg.Register(*c)
	if err == nil {
		return
	}
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		if existing, ok := dup.ExistingCollector.(C); ok {
			*c = existing
			return
		}
	}
	panic(fmt.Sprintf("metrics: registering Sluice's series: %v", err))
}
