// Package bench is Sluice's end-to-end throughput harness. It measures records per second through a whole
// pipe — Kafka source → filter (half of the records match) → target input template → Kafka target, with
// 1 KB JSON values — and, in the same run, on the same broker and the same records, a bare franz-go
// consume-and-produce loop doing the equivalent work (group consumer, a byte-level filter, synchronous
// produce of each polled batch's matching records, offsets committed after delivery). The ratio of the two
// says what the pipe machinery costs.
//
// Run it with (the count of records per measurement is set by -benchtime Nx):
//
//	go test ./bench -run '^$' -bench . -benchtime 100000x
//
// Each benchmark reports sluice-rec/s, bare-rec/s and ratio (sluice / bare; the goal is at least 0.6). Each
// side runs three times over the same records, alternating, and the best rate of each is reported: on a
// shared machine the best round is the least disturbed one.
// Sub-benchmarks "kfake" (in-process) and "kafka" (the real broker from SLUICE_KAFKA_PLAINTEXT, skipped when
// absent) run the same workload. Rates count source records (matching and filtered out) from the first
// delivery to the last acknowledged produce, so consumer-group joins and topic creation are excluded for
// both sides alike. Each Sluice round also logs its target deliveries and their mean duration: with
// BatchSize 100 a partition waits for one produce round trip per 100 source records, which is what bounds
// that row (a partition's next batch starts only after the previous one is acknowledged).
//
// BenchmarkStages gives the per-record CPU of each stage (event encoding, filter, target template, the
// Kafka target's key path, and template and key together as the runtime evaluates them).
//
// BenchmarkConnect (real broker only) copies one topic to a file three ways in the same run: Kafka Connect's
// FileStreamSinkConnector on a standalone worker (scripts/connect/ctl.sh fetches its jars once), `sluice run`
// on a pass-through pipe, and a bare franz-go loop; it reports each one's start-up (process start to the first
// line on disk) apart from its steady-state rate. Without java or the jars it skips, or fails when
// SLUICE_KAFKA_REQUIRED=1.
package bench
